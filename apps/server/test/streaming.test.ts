import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'bun:test'
import { ROUTES, readEvents } from '@letta-openwebui/events'
import {
  approvalRequest,
  hiddenReasoning,
  reasoningToolAnswer,
  stallAfter,
  tokenStream,
} from '@letta-openwebui/letta-sim'
import type { Stack } from './utils.ts'
import { chatBody, eventually, post, startStack, streamChat, summarize } from './utils.ts'

describe('streaming a turn', () => {
  let stack: Stack
  beforeAll(async () => {
    stack = await startStack({ idleTimeoutMs: 500 })
  })
  afterAll(() => stack.stop())
  beforeEach(() => {
    stack.sim.requests.length = 0
  })

  it('streams every token as its own answer event', async () => {
    stack.sim.enqueue(tokenStream({ tokens: 50, text: (i) => `t${i} ` }))
    const events = await streamChat(stack.server)
    const deltas = events.filter((event) => event.event === 'answer.delta')
    expect(deltas).toHaveLength(50)
    expect(summarize(events).answer).toBe(Array.from({ length: 50 }, (_, i) => `t${i} `).join(''))
    expect(summarize(events).stopReason).toBe('end_turn')
  })

  it('delivers the first event before Letta has finished (no buffering)', async () => {
    stack.sim.enqueue(tokenStream({ tokens: 10, tokensPerSecond: 10, text: (i) => `w${i}` }))
    const started = performance.now()
    const response = await post(stack.server, ROUTES.chatStream, chatBody())
    let firstAnswerAt = 0
    for await (const event of readEvents(response.body as ReadableStream<Uint8Array>)) {
      if (event.event === 'answer.delta' && !firstAnswerAt)
        firstAnswerAt = performance.now() - started
    }
    const total = performance.now() - started
    // 10 tokens at 10/s take ~1 s; the first one must arrive long before the end.
    expect(total).toBeGreaterThan(800)
    expect(firstAnswerAt).toBeLessThan(total / 2)
  })

  it('asks Letta for a token stream with pings, once, with an otid', async () => {
    stack.sim.enqueue(tokenStream({ tokens: 3 }))
    await streamChat(stack.server)
    const sends = stack.sim.requests.filter(
      (request) =>
        request.method === 'POST' && /\/v1\/conversations\/[^/]+\/messages$/.test(request.path),
    )
    expect(sends).toHaveLength(1)
    expect(sends[0]?.body).toMatchObject({
      streaming: true,
      stream_tokens: true,
      include_pings: true,
      messages: [{ role: 'user', content: 'What is a derivative?' }],
    })
    const sent = sends[0]?.body as { messages: Array<{ otid?: string }> } | undefined
    const message = sent?.messages[0]
    expect(message?.otid).toMatch(/^[0-9a-f-]{36}$/)
  })

  it('shows thinking, the tool and the answer of a tool-using turn in order', async () => {
    stack.sim.enqueue(
      reasoningToolAnswer({
        reasoning: 'The student asks about derivatives. Let me check my notes.',
        tool: {
          name: 'archival_memory_search',
          arguments: { query: 'derivatives' },
          result: 'none',
        },
        answer: 'A derivative measures how fast something changes.',
      }),
    )
    const events = await streamChat(stack.server)
    const seen = summarize(events)
    expect(seen.reasoning).toEqual(['The student asks about derivatives. Let me check my notes.'])
    expect(seen.tools).toEqual([
      'start archival_memory_search',
      'finish archival_memory_search success',
    ])
    expect(seen.answer).toBe('A derivative measures how fast something changes.')
    const finished = events.find((event) => event.event === 'tool.finished')
    expect(finished?.data).toMatchObject({ arguments: '{"query":"derivatives"}', output: 'none' })
  })

  it('reports a tool that failed as failed', async () => {
    stack.sim.enqueue(
      reasoningToolAnswer({
        reasoning: 'Let me search my notes.',
        tool: {
          name: 'archival_memory_search',
          arguments: { query: 'limits' },
          result: 'Error: archival memory is not available',
          status: 'error',
        },
        answer: 'I could not search my notes, but here is what I know.',
      }),
    )
    const events = await streamChat(stack.server)
    expect(summarize(events).tools).toEqual([
      'start archival_memory_search',
      'finish archival_memory_search error',
    ])
    expect(summarize(events).errors).toEqual([])
  })

  it('starts a new paragraph for the answer that follows a tool call', async () => {
    stack.sim.enqueue(
      reasoningToolAnswer({
        reasoning: 'I should check.',
        preamble: 'Let me look that up.',
        tool: { name: 'archival_memory_search', arguments: { query: 'x' }, result: '[]' },
        answer: 'Nothing in my notes, so from scratch:',
      }),
    )
    const seen = summarize(await streamChat(stack.server))
    expect(seen.answer).toBe('Let me look that up.\n\nNothing in my notes, so from scratch:')
  })

  it('turns hidden reasoning into a thinking indication', async () => {
    stack.sim.enqueue(hiddenReasoning({ answer: 'Done.' }))
    const events = await streamChat(stack.server)
    expect(events.some((event) => event.event === 'reasoning.hidden')).toBe(true)
    expect(summarize(events).answer).toBe('Done.')
  })

  it('ends a turn that asks for approval with the request: the tool, its whole arguments, no error', async () => {
    const args = { to: 'teacher@example.org', subject: 'Extension request' }
    stack.sim.enqueue(approvalRequest({ tool: { name: 'send_email', arguments: args } }))
    const events = await streamChat(stack.server)
    const seen = summarize(events)
    const asked = events.flatMap((event) =>
      event.event === 'approval.requested' ? [event.data] : [],
    )
    expect(asked).toHaveLength(1)
    expect(asked[0]?.name).toBe('send_email')
    expect(JSON.parse(asked[0]?.arguments ?? '')).toEqual(args)
    expect(seen.errors).toEqual([])
    expect(seen.stopReason).toBe('requires_approval')
    expect(seen.doneCount).toBe(1)
  })
})

describe('upstream endings', () => {
  let stack: Stack
  beforeAll(async () => {
    stack = await startStack({ idleTimeoutMs: 400 })
  })
  afterAll(() => stack.stop())

  // Each upstream fault's ending (error + one done, no leaks) is in faults.test.ts.
  it('cancels the Letta run of a stalled stream', async () => {
    stack.sim.cancels.length = 0
    stack.sim.enqueue(stallAfter(3))
    await streamChat(stack.server, chatBody({ user: { id: 'u-stall-cancel' } }))
    expect(await eventually(() => stack.sim.cancels.length === 1)).toBe(true)
  })

  it('answers "Letta unreachable" when nothing listens at LETTA_BASE_URL', async () => {
    const down = await startStack({ lettaBaseUrl: 'http://127.0.0.1:9' })
    try {
      const seen = summarize(await streamChat(down.server))
      expect(seen.errors).toEqual(['letta_unreachable'])
      expect(seen.doneCount).toBe(1)
    } finally {
      await down.stop()
    }
  })
})
