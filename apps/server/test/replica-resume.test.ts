import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fingerprint } from '@letta-openwebui/events'
import type { LettaSim } from '@letta-openwebui/letta-sim'
import { tokenStream } from '@letta-openwebui/letta-sim'
import { startReplicaSet } from './replica-set.ts'
import { readResuming } from './resuming-reader.ts'
import { chatBody, eventually, summarize } from './utils.ts'

// Replicas on one Redis in front of a Letta with Redis (it keeps runs: background mode), behind
// a round-robin load balancer.
const dataDir = mkdtempSync(join(tmpdir(), 'bridge-replica-resume-'))
let set: Awaited<ReturnType<typeof startReplicaSet>>
let sim: LettaSim

beforeAll(async () => {
  set = await startReplicaSet(dataDir)
  sim = set.sim
}, 60_000)

afterAll(async () => {
  await set.stop()
  rmSync(dataDir, { recursive: true, force: true })
})

const words = (count: number) => Array.from({ length: count }, (_, index) => `token${index} `)
const running = () => sim.runs().filter((run) => run.status === 'running').length

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
    const readers = chats.map((body) => readResuming(() => set.proxy.url, body))
    expect(await eventually(() => running() === chats.length, 10_000)).toBe(true)
    expect(await set.restart(0)).toBe(0)
    expect(await set.restart(1)).toBe(0)
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
    const next = await readResuming(() => set.proxy.url, {
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
