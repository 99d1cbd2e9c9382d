import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fingerprint, ROUTES } from '@letta-openwebui/events'
import type { LettaSim } from '@letta-openwebui/letta-sim'
import { startLettaSim, threadSends, tokenStream } from '@letta-openwebui/letta-sim'
import type { LocalRedis } from '@letta-openwebui/local-redis'
import { startRedis } from '@letta-openwebui/local-redis'
import type { BridgeProcess } from './utils.ts'
import {
  BRIDGE_KEY,
  chatBody,
  eventually,
  startBridgeProcess,
  streamChat,
  summarize,
} from './utils.ts'

const dataDir = mkdtempSync(join(tmpdir(), 'bridge-replicas-'))
let redis: LocalRedis
let sim: LettaSim
let replicas: BridgeProcess[] = []

beforeAll(async () => {
  redis = await startRedis()
  // A Letta without its own conversation lock (no Redis of its own), as `pip install letta` runs;
  // creating an agent takes a moment, as on a real server, so two replicas would both create one.
  sim = await startLettaSim({ redis: false, pingIntervalMs: 20_000, agentLatencyMs: 50 })
  replicas = await Promise.all(
    [1, 2].map(() =>
      startBridgeProcess({ LETTA_BASE_URL: sim.url, REDIS_URL: redis.url }, dataDir),
    ),
  )
}, 60_000)

afterAll(async () => {
  for (const replica of replicas) replica.process.kill()
  await Promise.all(replicas.map((replica) => replica.process.exited))
  await sim.stop()
  await redis.stop()
  rmSync(dataDir, { recursive: true, force: true })
})

const replica = (index: number) => replicas[index % replicas.length] as BridgeProcess
const agentsOf = (userId: string) =>
  [...sim.agents.values()].filter((agent) => agent.tags.includes(`owui-user:${userId}`))
const says = (text: string, tokensPerSecond?: number) =>
  tokenStream({ tokens: 1, text: () => text, tokensPerSecond })

describe('replicas on one Redis', () => {
  it('create one agent for a new person whose first 20 messages arrive at once, split across replicas', async () => {
    const user = { id: 'replicas-new' }
    const turns = await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        streamChat(replica(index), chatBody({ user, chatId: `race-${index}` })),
      ),
    )
    expect(turns.map((events) => summarize(events).doneCount)).toEqual(Array(20).fill(1))
    expect(turns.flatMap((events) => summarize(events).errors)).toEqual([])
    expect(agentsOf(user.id)).toHaveLength(1)
  })

  it('never run one chat twice at once, whichever replica its messages reach', async () => {
    const user = { id: 'replicas-busy' }
    const body = chatBody({ user, chatId: 'busy-1' })
    // The first message makes the chat's thread; the second starts a slow answer on replica 1.
    await streamChat(replica(0), body)
    sim.enqueue(tokenStream({ tokens: 40, tokensPerSecond: 40 }))
    const slow = streamChat(replica(0), { ...body, message: 'Tell me slowly' })
    expect(await eventually(() => sim.runs().some((run) => run.status === 'running'), 5_000)).toBe(
      true,
    )
    const second = await streamChat(replica(1), { ...body, message: 'And now?' })
    expect(summarize(second).errors).toEqual(['chat_busy'])
    expect(summarize(await slow).errors).toEqual([])
  })

  it("continue a chat's conversation on whichever replica its next message reaches", async () => {
    const user = { id: 'replicas-move' }
    const body = chatBody({ user, chatId: 'move-1', message: 'First, on one replica' })
    sim.enqueue(says('One.'))
    await streamChat(replica(0), body)
    sim.enqueue(says('Two.'))
    const since = sim.requests.length
    await streamChat(replica(1), {
      ...body,
      message: 'Then on the other',
      history: [
        { role: 'user', fp: fingerprint('First, on one replica') },
        { role: 'assistant', fp: fingerprint('One.') },
      ],
    })
    const sends = threadSends(sim.requests.slice(since))
    expect(sends).toHaveLength(1)
    expect(sends[0]?.messages).toEqual(['user: Then on the other'])
    expect(
      threadSends(sim.requests).filter((send) => send.thread === sends[0]?.thread),
    ).toHaveLength(2)
  })

  it('say so in /health and in a sentence when Redis is down, and every stream still ends', async () => {
    await redis.kill()
    const events = await streamChat(replica(0), chatBody({ user: { id: 'replicas-down' } }))
    expect(summarize(events).errors).toEqual(['shared_state_unavailable'])
    expect(summarize(events).doneCount).toBe(1)
    const health = await (
      await fetch(`${replica(1).url}${ROUTES.health}`, {
        headers: { authorization: `Bearer ${BRIDGE_KEY}` },
      })
    ).json()
    expect(health).toMatchObject({ status: 'degraded', redis: { reachable: false } })
  })
})
