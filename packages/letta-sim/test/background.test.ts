/**
 * Background mode (`background: true`, Letta with Redis): the run writes into its log whatever
 * happens to its readers, and any reader resumes it after a seq_id. What the recordings show is
 * held in conformance.test.ts; these are the behaviours a bridge builds on.
 */
import { describe, expect, it } from 'bun:test'
import type Letta from '@letta-ai/letta-client'
import type { LettaSim, Step } from '../src/index.ts'
import { dropAfter, startLettaSim, tokenStream } from '../src/index.ts'
import { drain, jsonLines, postRaw, SDK_HEADERS, STREAM_BODY, useSim } from './helpers.ts'

let sim: LettaSim
let client: Letta
useSim((running) => {
  ;({ sim, client } = running)
})

const BACKGROUND = { ...STREAM_BODY, background: true }

const resume = (on: LettaSim, runId: string, startingAfter: number) =>
  fetch(`${on.url}/v1/runs/${runId}/stream`, {
    method: 'POST',
    headers: SDK_HEADERS,
    body: JSON.stringify({ starting_after: startingAfter }),
  })

const answerText = (frames: Array<Record<string, unknown>>) =>
  frames
    .filter((frame) => frame.message_type === 'assistant_message')
    .map((frame) => frame.content)
    .join('')

describe('background mode', () => {
  it('loses nothing to a dropped connection: the run plays on, a resume after the last seq_id gets the rest', async () => {
    const agentId = sim.createAgent().id
    const steps: Step[] = tokenStream({ tokens: 6, text: (index) => `t${index} ` })
    steps.splice(3, 0, { drop: true })
    sim.enqueue(steps)
    const first = await drain(await client.agents.messages.create(agentId, BACKGROUND))
    expect(first.error).toBeDefined()
    const runId = String(first.frames[0]?.run_id)
    const seen = Math.max(...first.frames.map((frame) => Number(frame.seq_id ?? 0)))
    const rest = jsonLines(await (await resume(sim, runId, seen)).text())
    expect(answerText(first.frames) + answerText(rest)).toBe('t0 t1 t2 t3 t4 t5 ')
    expect(rest.at(-1)).toMatchObject({ message_type: 'usage_statistics' })
    expect((await client.runs.retrieve(runId)).status).toBe('completed')
  })

  it("hands chunks over in the order they landed in Letta's copy, and stops at [DONE] (landsLate)", async () => {
    const agentId = sim.createAgent().id
    const steps: Step[] = tokenStream({ tokens: 6, text: (index) => `t${index} ` })
    // t1 lands behind t2; t4 behind t5, the stop reason, the usage and [DONE].
    steps.splice(1, 0, { landsLate: 1 })
    steps.splice(5, 0, { landsLate: 1, behind: 4 })
    sim.enqueue(steps)
    const live = await drain(await client.agents.messages.create(agentId, BACKGROUND))
    expect(answerText(live.frames)).toBe('t0 t2 t1 t3 t5 ')
    const numbers = live.frames
      .filter((frame) => frame.message_type === 'assistant_message')
      .map((frame) => frame.seq_id)
    expect(numbers).toEqual([2, 4, 3, 5, 7])
    // A resume filters by number, in the same order, and never gets past [DONE].
    const runId = String(live.frames[0]?.run_id)
    expect(answerText(jsonLines(await (await resume(sim, runId, 3)).text()))).toBe('t2 t3 t5 ')
  })

  it('ends a scenario that stops short as Letta does: stop_reason error, stream_incomplete, [DONE]', async () => {
    const agentId = sim.createAgent().id
    sim.enqueue(dropAfter(2))
    const first = await drain(await client.agents.messages.create(agentId, BACKGROUND))
    const runId = String(first.frames[0]?.run_id)
    const replay = await (await resume(sim, runId, 0)).text()
    expect(replay).toContain('data: {"message_type":"stop_reason","stop_reason":"error"}\n\n')
    expect(replay).toContain(
      `event: error\ndata: {"message_type":"error_message","run_id":"${runId}","error_type":"stream_incomplete","message":"Stream ended unexpectedly without stop_reason.","detail":null,"seq_id":5}\n\n`,
    )
    expect(replay.endsWith('data: [DONE]\n\n')).toBe(true)
    expect((await client.runs.retrieve(runId)).status).toBe('failed')
  })

  it('sends the headers with the first chunk: without pings, only once the model speaks', async () => {
    const agentId = sim.createAgent().id
    sim.enqueue([{ sleep: 150 }, ...tokenStream({ tokens: 1 })])
    const started = performance.now()
    const response = await postRaw(sim, agentId, { ...BACKGROUND, include_pings: false })
    expect(performance.now() - started).toBeGreaterThanOrEqual(140)
    expect(jsonLines(await response.text())[0]).toMatchObject({ seq_id: 1 })
  })

  it('with redisFlushMs, passes chunks on in batches like Letta’s writer: the first at once, then bursts', async () => {
    const batched = await startLettaSim({ redisFlushMs: 100 })
    try {
      const agentId = batched.createAgent().id
      batched.enqueue(tokenStream({ tokens: 20, tokensPerSecond: 100 }))
      const response = await postRaw(batched, agentId, BACKGROUND)
      const reader = (response.body as ReadableStream<Uint8Array>).getReader()
      const started = performance.now()
      const arrivals: number[] = []
      for (let read = await reader.read(); !read.done; read = await reader.read()) {
        const frames = new TextDecoder().decode(read.value).match(/assistant_message/g) ?? []
        for (const _ of frames) arrivals.push(performance.now() - started)
      }
      expect(arrivals).toHaveLength(20)
      // The ping went at once; the first token waited for a flush.
      expect(arrivals[0]).toBeGreaterThanOrEqual(50)
      const bursts = arrivals.filter(
        (at, index) => index === 0 || at - (arrivals[index - 1] ?? 0) > 30,
      )
      expect(bursts.length).toBeGreaterThanOrEqual(2)
      expect(bursts.length).toBeLessThanOrEqual(5)
    } finally {
      await batched.stop()
    }
  })

  it('without Redis, a refused background send takes no scenario: the same send in the foreground plays it', async () => {
    const plain = await startLettaSim({ redis: false })
    try {
      const agentId = plain.createAgent().id
      plain.enqueue(tokenStream({ tokens: 2, text: (index) => `f${index} ` }))
      const refused = await postRaw(plain, agentId, BACKGROUND)
      expect(refused.status).toBe(503)
      await refused.body?.cancel()
      const fallback = jsonLines(await (await postRaw(plain, agentId, STREAM_BODY)).text())
      expect(answerText(fallback)).toBe('f0 f1 ')
      const runs = await (await fetch(`${plain.url}/v1/runs?agent_id=${agentId}`)).json()
      expect(runs).toMatchObject([
        { status: 'completed', background: false },
        { status: 'failed', background: true, stop_reason: null },
      ])
    } finally {
      await plain.stop()
    }
  })
})
