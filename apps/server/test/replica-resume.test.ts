import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fingerprint } from '@letta-openwebui/events'
import type { LettaSim } from '@letta-openwebui/letta-sim'
import { startLettaSim, tokenStream } from '@letta-openwebui/letta-sim'
import type { LocalRedis } from '@letta-openwebui/local-redis'
import { startRedis } from '@letta-openwebui/local-redis'
import { readResuming } from './resuming-reader.ts'
import { startRoundRobinProxy } from './round-robin-proxy.ts'
import type { BridgeProcess } from './utils.ts'
import { chatBody, eventually, startBridgeProcess, summarize } from './utils.ts'

// Replicas on one Redis in front of a Letta with Redis (it keeps runs: background mode), behind
// a round-robin load balancer.
const dataDir = mkdtempSync(join(tmpdir(), 'bridge-replica-resume-'))
let redis: LocalRedis
let sim: LettaSim
let proxy: ReturnType<typeof startRoundRobinProxy>
const replicas: BridgeProcess[] = []
const backends: string[] = []

const startReplica = () =>
  startBridgeProcess({ LETTA_BASE_URL: sim.url, REDIS_URL: redis.url }, dataDir)

beforeAll(async () => {
  redis = await startRedis()
  sim = await startLettaSim({ pingIntervalMs: 20_000 })
  replicas.push(...(await Promise.all([startReplica(), startReplica()])))
  backends.push(...replicas.map((replica) => replica.url))
  proxy = startRoundRobinProxy(backends)
}, 60_000)

afterAll(async () => {
  proxy.stop()
  for (const replica of replicas) replica.process.kill()
  await Promise.all(replicas.map((replica) => replica.process.exited))
  await sim.stop()
  await redis.stop()
  rmSync(dataDir, { recursive: true, force: true })
})

const words = (count: number) => Array.from({ length: count }, (_, index) => `token${index} `)
const running = () => sim.runs().filter((run) => run.status === 'running').length

/** SIGTERM for replica `index`, then a fresh process in its place behind the proxy. */
async function restart(index: number) {
  const old = replicas[index] as BridgeProcess
  old.process.kill('SIGTERM')
  expect(await old.process.exited).toBe(0)
  const fresh = await startReplica()
  replicas[index] = fresh
  backends[index] = fresh.url
}

describe('a rolling restart of two replicas under load', () => {
  it('loses no answer: each is whole, and each chat goes on in its own conversation', async () => {
    const chats = Array.from({ length: 6 }, (_, index) =>
      chatBody({
        user: { id: `rolling-${index}` },
        chatId: `rolling-chat-${index}`,
        message: 'Go',
      }),
    )
    for (const _ of chats) sim.enqueue(tokenStream({ tokens: 80, tokensPerSecond: 40 }))
    const readers = chats.map((body) => readResuming(() => proxy.url, body))
    expect(await eventually(() => running() === chats.length, 10_000)).toBe(true)
    await restart(0)
    await restart(1)
    const answers = await Promise.all(readers)
    for (const { events } of answers) {
      const seen = summarize(events)
      expect(seen.errors).toEqual([])
      expect(seen.answer).toBe(words(80).join(''))
      expect(seen.doneCount).toBe(1)
    }
    // Both replicas were restarted while all six answers were streaming: each moved at least once.
    expect(answers.every(({ connections }) => connections > 1)).toBe(true)
    expect(sim.cancels).toEqual([])

    // Recorded by whichever replica finished each answer: the next message just continues.
    const conversations = new Set(sim.runs().map((run) => run.conversationId))
    sim.enqueue(tokenStream({ tokens: 1 }))
    const answer = words(80).join('')
    const next = await readResuming(() => proxy.url, {
      ...(chats[0] as (typeof chats)[number]),
      message: 'And then?',
      history: [
        { role: 'user', text: 'Go', fp: fingerprint('Go') },
        { role: 'assistant', text: answer, fp: fingerprint(answer) },
      ],
    })
    expect(summarize(next.events).errors).toEqual([])
    const last = sim.runs().at(-1)
    expect(conversations.has(last?.conversationId ?? null)).toBe(true)
    expect(last?.messages.filter((message) => message.role === 'user').map((m) => m.text)).toEqual([
      'Go',
      'And then?',
    ])
  }, 60_000)
})
