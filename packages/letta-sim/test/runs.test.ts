import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import type Letta from '@letta-ai/letta-client'
import { ConflictError, RateLimitError } from '@letta-ai/letta-client'
import type { LettaSim } from '../src/index.ts'
import {
  errorBeforeOutput,
  reasoningToolAnswer,
  stallAfter,
  startLettaSim,
  tokenStream,
} from '../src/index.ts'
import { RunBook } from '../src/runs.ts'
import type { Frame } from './helpers.ts'
import { drain, eventually, jsonLines, postRaw, STREAM_BODY, sdk } from './helpers.ts'

/** Short enough to see several keepalives within a test. */
const PING_MS = 40

let sim: LettaSim
let client: Letta
let agentId: string

beforeAll(async () => {
  sim = await startLettaSim({ pingIntervalMs: PING_MS })
  client = sdk(sim)
  agentId = sim.createAgent({ name: 'runs' }).id
})
afterAll(() => sim.stop())

describe('cancelling a run', () => {
  it('records the cancel and ends the stalled stream with stop_reason cancelled', async () => {
    sim.cancels.length = 0
    sim.enqueue(stallAfter(2))
    const stream = await client.agents.messages.create(agentId, STREAM_BODY, { maxRetries: 0 })
    const frames: Frame[] = []
    let answer: unknown
    for await (const frame of stream) {
      frames.push(frame as Frame)
      if (frames.filter((seen) => seen.message_type === 'assistant_message').length === 2) {
        answer ??= await client.agents.messages.cancel(
          agentId,
          { run_ids: [String(frames[0]?.run_id)] },
          { maxRetries: 0 },
        )
      }
    }
    const runId = String(frames[0]?.run_id)
    expect(answer).toEqual({ [runId]: 'cancelled' })
    expect(frames.at(-1)).toEqual({ message_type: 'stop_reason', stop_reason: 'cancelled' })
    expect(sim.cancels).toEqual([
      { agentId, requested: [runId], runIds: [runId], at: expect.any(Number) },
    ])
    expect(await eventually(() => sim.streams.active === 0)).toBe(true)
  })

  it('writes the cancelled stop_reason with Python’s spacing, then ends the body', async () => {
    sim.enqueue(stallAfter(1))
    const response = await postRaw(sim, agentId)
    const reader = (response.body as ReadableStream<Uint8Array>).getReader()
    await reader.read()
    await client.agents.messages.cancel(agentId, {}, { maxRetries: 0 })
    const rest = await new Response(
      new ReadableStream({
        async pull(controller) {
          const { value, done } = await reader.read()
          if (done) controller.close()
          else controller.enqueue(value)
        },
      }),
    ).text()
    expect(
      rest.endsWith('data: {"message_type": "stop_reason", "stop_reason": "cancelled"}\n\n'),
    ).toBe(true)
  })

  it('finds the running run when no run ids are given', async () => {
    sim.enqueue(stallAfter(1))
    const stream = await client.agents.messages.create(agentId, STREAM_BODY, { maxRetries: 0 })
    const iterator = stream[Symbol.asyncIterator]()
    const ping = (await iterator.next()).value as Frame
    const answer = await client.agents.messages.cancel(agentId, undefined, { maxRetries: 0 })
    expect(answer).toEqual({ [String(ping.run_id)]: 'cancelled' })
    await drain({ [Symbol.asyncIterator]: () => iterator })
  })

  it('records that the caller named no run, apart from the runs it then cancelled', async () => {
    sim.cancels.length = 0
    sim.enqueue(stallAfter(1))
    const stream = await client.agents.messages.create(agentId, STREAM_BODY, { maxRetries: 0 })
    const iterator = stream[Symbol.asyncIterator]()
    const ping = (await iterator.next()).value as Frame
    await client.agents.messages.cancel(agentId, {}, { maxRetries: 0 })
    expect(sim.cancels).toEqual([
      { agentId, requested: null, runIds: [String(ping.run_id)], at: expect.any(Number) },
    ])
    await drain({ [Symbol.asyncIterator]: () => iterator })
  })

  it('answers 409 when nothing is running, and reports unknown run ids as failed', async () => {
    const idle = sim.createAgent({ name: 'idle' }).id
    const refused = await client.agents.messages.cancel(idle, {}, { maxRetries: 0 }).catch((e) => e)
    expect(refused).toBeInstanceOf(ConflictError)
    expect((refused as ConflictError).error).toEqual({
      detail: `CONFLICT: No active runs to cancel for agent ${idle}`,
    })
    const unknown = 'run-00000000-0000-4000-8000-000000000000'
    expect(await client.agents.messages.cancel(idle, { run_ids: [unknown] })).toEqual({
      [unknown]: 'failed',
    })
  })
})

describe('runs', () => {
  it('lists an agent’s active runs newest first and tells each run’s status', async () => {
    const agent = sim.createAgent({ name: 'run-listing' }).id
    sim.enqueue(tokenStream({ tokens: 2 }))
    await drain(await client.agents.messages.create(agent, STREAM_BODY, { maxRetries: 0 }))
    sim.enqueue(stallAfter(1))
    const stream = await client.agents.messages.create(agent, STREAM_BODY, { maxRetries: 0 })
    const iterator = stream[Symbol.asyncIterator]()
    const ping = (await iterator.next()).value as Frame
    const active = await client.runs.list({ agent_id: agent, active: true })
    expect(active.getPaginatedItems().map((run) => run.id)).toEqual([String(ping.run_id)])
    const all = (await client.runs.list({ agent_id: agent })).getPaginatedItems()
    expect(all.map((run) => run.status)).toEqual(['running', 'completed'])
    expect(all[1]?.stop_reason).toBe('end_turn')

    await client.agents.messages.cancel(agent, { run_ids: [String(ping.run_id)] })
    const cancelled = await client.runs.retrieve(String(ping.run_id))
    expect(cancelled).toMatchObject({
      status: 'cancelled',
      stop_reason: 'cancelled',
      agent_id: agent,
    })
    expect(cancelled.completed_at).toEqual(expect.any(String))
    await drain({ [Symbol.asyncIterator]: () => iterator })
  })

  it('registers a run only after its start latency, even when the client left meanwhile', async () => {
    const slow = await startLettaSim({ runStartLatencyMs: 200 })
    try {
      const slowClient = sdk(slow)
      const agent = slow.createAgent({ name: 'slow-start' }).id
      slow.enqueue(stallAfter(1))
      const leaving = new AbortController()
      const send = slowClient.agents.messages
        .create(agent, STREAM_BODY, { maxRetries: 0, signal: leaving.signal })
        .catch((error: unknown) => error)
      await eventually(() => slow.requests.some((request) => request.path.endsWith('/messages')))
      expect(
        (await slowClient.runs.list({ agent_id: agent, active: true })).getPaginatedItems(),
      ).toEqual([])
      leaving.abort()
      await send
      expect(await eventually(() => slow.streams.opened === 1, 2_000)).toBe(true)
      const [run] = (
        await slowClient.runs.list({ agent_id: agent, active: true })
      ).getPaginatedItems()
      expect(run?.status).toBe('running')
    } finally {
      await slow.stop()
    }
  })
})

describe('a client that goes away', () => {
  it('counts an SDK stream aborted mid-way as aborted, with nothing left active', async () => {
    const before = { ...sim.streams }
    sim.enqueue(tokenStream({ tokens: 1_000, tokensPerSecond: 200 }))
    const stream = await client.agents.messages.create(agentId, STREAM_BODY, { maxRetries: 0 })
    let answers = 0
    for await (const frame of stream) {
      if (frame.message_type === 'assistant_message' && ++answers === 3) stream.controller.abort()
    }
    const settled = await eventually(
      () => sim.streams.aborted === before.aborted + 1 && sim.streams.active === 0,
      1_000,
    )
    expect(settled).toBe(true)
  })

  it('keeps the run running, as Letta shields runs from disconnects, until it is cancelled', async () => {
    sim.enqueue(tokenStream({ tokens: 1_000, tokensPerSecond: 200 }))
    const abort = new AbortController()
    const response = await fetch(`${sim.url}/v1/agents/${agentId}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-stainless-package-version': '1.12.1' },
      body: JSON.stringify(STREAM_BODY),
      signal: abort.signal,
    })
    const reader = (response.body as ReadableStream<Uint8Array>).getReader()
    const first = new TextDecoder().decode((await reader.read()).value)
    const runId = /"run_id":"(run-[^"]+)"/.exec(first)?.[1]
    abort.abort()
    expect(await eventually(() => sim.streams.active === 0, 1_000)).toBe(true)
    // Earlier aborted runs of this agent are still running too: all of them get cancelled.
    expect(await client.agents.messages.cancel(agentId, {})).toMatchObject({
      [String(runId)]: 'cancelled',
    })
  })
})

describe('keepalive pings', () => {
  it('opens with a ping carrying the run id, then pings after every interval of silence', async () => {
    sim.enqueue(stallAfter(1))
    const stream = await client.agents.messages.create(agentId, STREAM_BODY, { maxRetries: 0 })
    const frames: Array<Frame & { at: number }> = []
    for await (const frame of stream) {
      frames.push({ ...(frame as Frame), at: performance.now() })
      if (frames.filter((seen) => seen.message_type === 'ping').length === 4) break
    }
    const [first, answer, ...pings] = frames
    expect(first?.message_type).toBe('ping')
    expect(first?.run_id).toMatch(/^run-/)
    expect(answer?.message_type).toBe('assistant_message')
    expect(pings.map((ping) => ping.message_type)).toEqual(['ping', 'ping', 'ping'])
    expect(new Set(frames.map((frame) => frame.run_id))).toEqual(new Set([first?.run_id]))
    expect(new Set(pings.map((ping) => ping.id)).size).toBe(3)
    const gaps = pings.slice(1).map((ping, index) => ping.at - (pings[index]?.at ?? 0))
    for (const gap of gaps) expect(gap).toBeGreaterThan(PING_MS * 0.7)
  })

  it('stays quiet while frames flow faster than the interval, and pings during a sleep', async () => {
    const fast = tokenStream({ tokens: 12, tokensPerSecond: 200 })
    sim.enqueue([...fast.slice(0, 3), { sleep: PING_MS * 3.5 }, ...fast.slice(3)])
    const { frames } = await drain(
      await client.agents.messages.create(agentId, STREAM_BODY, { maxRetries: 0 }),
    )
    const types = frames.map((frame) => frame.message_type)
    expect(types.filter((type) => type === 'ping').length).toBeGreaterThanOrEqual(3)
    expect(types.filter((type) => type === 'ping').length).toBeLessThanOrEqual(5)
    expect(types.slice(-2)).toEqual(['stop_reason', 'usage_statistics'])
  })

  it('sends none when include_pings is false', async () => {
    sim.enqueue(tokenStream({ tokens: 2 }))
    const { frames } = await drain(
      await client.agents.messages.create(
        agentId,
        { ...STREAM_BODY, include_pings: false },
        { maxRetries: 0 },
      ),
    )
    expect(frames.map((frame) => frame.message_type)).toEqual([
      'assistant_message',
      'assistant_message',
      'stop_reason',
      'usage_statistics',
    ])
  })
})

describe('without token streaming', () => {
  const turn = () =>
    reasoningToolAnswer({
      reasoning: 'I should look it up.',
      tool: { name: 'web_search', arguments: { query: 'derivative' }, result: 'found' },
      answer: 'It is a rate of change.',
    })

  it('streams whole messages when stream_tokens is off (step mode)', async () => {
    sim.enqueue(turn())
    const { frames } = await drain(
      await client.agents.messages.create(
        agentId,
        { ...STREAM_BODY, stream_tokens: false },
        { maxRetries: 0 },
      ),
    )
    expect(frames.map((frame) => frame.message_type)).toEqual([
      'ping',
      'reasoning_message',
      'tool_call_message',
      'tool_return_message',
      'assistant_message',
      'stop_reason',
      'usage_statistics',
    ])
    expect(frames[1]?.reasoning).toBe('I should look it up.')
    expect(frames[2]?.tool_calls).toEqual([
      expect.objectContaining({ name: 'web_search', arguments: '{"query":"derivative"}' }),
    ])
    expect(frames[4]?.content).toBe('It is a rate of change.')
  })

  it('answers streaming: false with a LettaResponse of whole messages', async () => {
    sim.enqueue(turn())
    const response = await client.agents.messages.create(agentId, {
      messages: [{ role: 'user', content: 'What is a derivative?' }],
    })
    expect(response.messages.map((message) => message.message_type)).toEqual([
      'reasoning_message',
      'tool_call_message',
      'tool_return_message',
      'assistant_message',
    ])
    expect(response.stop_reason).toEqual({ message_type: 'stop_reason', stop_reason: 'end_turn' })
    expect(response.usage.step_count).toBe(2)
  })

  it('turns a stream error into the HTTP status of Letta’s exception handler', async () => {
    sim.enqueue(errorBeforeOutput({ errorType: 'llm_rate_limit' }))
    const error = await client.agents.messages
      .create(agentId, { messages: [{ role: 'user', content: 'hi' }] }, { maxRetries: 0 })
      .catch((caught) => caught)
    expect(error).toBeInstanceOf(RateLimitError)
  })
})

describe('stopping the sim', () => {
  it('ends running streams and closes the port', async () => {
    const local = await startLettaSim()
    const agent = local.createAgent({ name: 'stopping' })
    local.enqueue(stallAfter(1))
    const stream = await sdk(local).agents.messages.create(agent.id, STREAM_BODY, {
      maxRetries: 0,
    })
    const ended = drain(stream)
    await Bun.sleep(20)
    await local.stop()
    const { frames, error } = await ended
    expect(frames.map((frame) => frame.message_type)).toEqual(['ping', 'assistant_message'])
    expect(error).toBeDefined()
    expect(local.streams.active).toBe(0)
    expect(await fetch(`${local.url}/v1/health/`).catch(() => 'refused')).toBe('refused')
  })
})

describe('a long-running sim', () => {
  it('forgets the oldest finished runs beyond 10,000, but never one that is still running', () => {
    const book = new RunBook()
    const agentId = 'agent-00000000-0000-4000-8000-000000000000'
    const stillRunning = book.start({ agentId, lockKey: agentId })
    stillRunning.open = false // its client left; Letta keeps the run going
    const finished = Array.from({ length: 12_000 }, () => {
      const run = book.start({ agentId })
      run.open = false
      run.status = 'completed'
      return run
    })
    expect(book.get(stillRunning.id)).toBe(stillRunning)
    expect(book.running({ agentId }).map((run) => run.id)).toEqual([stillRunning.id])
    expect(book.get(finished[0]?.id ?? '')).toBeUndefined()
    expect(book.get(finished.at(-1)?.id ?? '')).toBeDefined()
    expect(book.holder({ agentId, lockKey: agentId })).toBeUndefined()
  })
})

describe('with and without Redis', () => {
  const send = (extra: Record<string, unknown> = {}) => ({
    messages: [{ role: 'user' as const, content: 'hi' }],
    stream_tokens: true,
    include_pings: true,
    ...extra,
  })

  it('without Redis: no conversation lock (two runs in one thread) and no background mode', async () => {
    const plain = await startLettaSim({ redis: false })
    try {
      const client = sdk(plain)
      const agent = plain.createAgent({ name: 'no-redis' }).id
      const conversation = await client.conversations.create({ agent_id: agent })
      plain.enqueue(stallAfter(1))
      plain.enqueue(tokenStream({ tokens: 2 }))
      const first = await client.conversations.messages.create(conversation.id, send())
      const iterator = first[Symbol.asyncIterator]()
      await iterator.next()
      // Letta without Redis takes a second message into the same conversation.
      const second = await drain(
        await client.conversations.messages.create(conversation.id, send()),
      )
      expect(
        second.frames.filter((frame) => frame.message_type === 'assistant_message'),
      ).toHaveLength(2)
      const background = await client.conversations.messages
        .create(conversation.id, send({ background: true }), { maxRetries: 0 })
        .catch((caught) => caught)
      expect((background as { status?: number }).status).toBe(503)
      expect(JSON.stringify((background as { error?: unknown }).error)).toContain(
        'Background streaming requires Redis',
      )
      await client.conversations.cancel(conversation.id)
      await drain({ [Symbol.asyncIterator]: () => iterator })
    } finally {
      await plain.stop()
    }
  })

  it('with Redis: a background run numbers its messages, outlives its reader and resumes after a seq_id', async () => {
    const agent = sim.createAgent({ name: 'background' }).id
    sim.enqueue(tokenStream({ tokens: 30, tokensPerSecond: 200, text: (i) => `b${i} ` }))
    const response = await postRaw(sim, agent, { ...STREAM_BODY, background: true })
    const reader = (response.body as ReadableStream<Uint8Array>).getReader()
    // Read a little, then leave: the run goes on without its first reader.
    const first = new TextDecoder().decode((await reader.read()).value)
    await reader.cancel()
    const runId = /"run_id":"(run-[^"]+)"/.exec(first)?.[1] ?? ''
    expect(await eventuallyAsyncStatus(sim, runId, 'completed')).toBe(true)

    const resumed = await fetch(`${sim.url}/v1/runs/${runId}/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ starting_after: 10 }),
    })
    const text = await resumed.text()
    const frames = jsonLines(text)
    const answers = frames.filter((frame) => frame.message_type === 'assistant_message')
    // Chunk 1 was the ping, so seq_id 11 is the answer's 10th token.
    expect(answers[0]).toMatchObject({ seq_id: 11, content: 'b9 ' })
    expect(answers.map((frame) => frame.content).join('')).toBe(
      Array.from({ length: 21 }, (_, i) => `b${i + 9} `).join(''),
    )
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true)
  })

  it('refuses to resume a run that was not sent in background mode', async () => {
    sim.enqueue(tokenStream({ tokens: 1 }))
    const { frames } = await drain(
      await client.agents.messages.create(agentId, STREAM_BODY, { maxRetries: 0 }),
    )
    const resumed = await fetch(`${sim.url}/v1/runs/${frames[0]?.run_id}/stream`, {
      method: 'POST',
      body: '{}',
    })
    expect(resumed.status).toBe(400)
  })
})

async function eventuallyAsyncStatus(sim: LettaSim, runId: string, status: string) {
  const deadline = performance.now() + 3_000
  while (performance.now() < deadline) {
    const run = (await (await fetch(`${sim.url}/v1/runs/${runId}`)).json()) as { status: string }
    if (run.status === status) return true
    await Bun.sleep(20)
  }
  return false
}
