import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import type { BridgeEvent } from '@letta-openwebui/events'
import { ROUTES, readEvents } from '@letta-openwebui/events'
import {
  dropAfter,
  errorAfterOutput,
  errorBeforeOutput,
  httpError,
  malformedFrame,
  oversizedFrame,
  reasoningToolAnswer,
  stallAfter,
  startLettaSim,
  tokenStream,
  unknownMessageType,
} from '@letta-openwebui/letta-sim'
import { IdleWatchdog } from '../src/turn/idle-watchdog.ts'
import type { Stack } from './utils.ts'
import { chatBody, eventually, post, startStack, streamChat, summarize } from './utils.ts'

/** After every fault: nothing left running in the bridge or upstream. */
async function expectNoLeaks(stack: Stack) {
  expect(await eventually(() => stack.server.service.activeTurns === 0)).toBe(true)
  expect(await eventually(() => stack.server.service.openUpstreams === 0)).toBe(true)
  expect(await eventually(() => stack.sim.streams.active === 0)).toBe(true)
}

describe('upstream faults', () => {
  let stack: Stack
  beforeAll(async () => {
    stack = await startStack({ idleTimeoutMs: 400 })
  })
  afterAll(() => stack.stop())

  const faults = [
    {
      name: 'HTTP 404 on an agent that stays missing',
      scenario: () => httpError(404),
      code: 'agent_not_found',
      twice: true,
    },
    { name: 'HTTP 409 busy', scenario: () => httpError(409), code: 'letta_busy' },
    { name: 'HTTP 429', scenario: () => httpError(429), code: 'rate_limited' },
    { name: 'HTTP 500', scenario: () => httpError(500), code: 'letta_error' },
    { name: 'a stalled stream', scenario: () => stallAfter(3), code: 'stream_stalled' },
    {
      name: 'a connection cut mid-answer',
      scenario: () => dropAfter(5),
      code: 'stream_interrupted',
    },
    {
      name: 'event: error before output',
      scenario: () => errorBeforeOutput({}),
      code: 'rate_limited',
    },
    {
      name: 'event: error after output',
      scenario: () => errorAfterOutput({}),
      code: 'agent_error',
    },
  ] as const

  for (const fault of faults) {
    it(`${fault.name}: readable text, exactly one done, server healthy, nothing leaked`, async () => {
      stack.sim.enqueue(fault.scenario())
      if ('twice' in fault) stack.sim.enqueue(fault.scenario())
      const events = await streamChat(
        stack.server,
        chatBody({ user: { id: `fault-${fault.code}` } }),
      )
      const seen = summarize(events)
      expect(seen.errors).toEqual([fault.code])
      expect(seen.doneCount).toBe(1)
      expect(events.at(-1)?.event).toBe('done')
      await expectNoLeaks(stack)
      expect((await fetch(`${stack.server.url}${ROUTES.health}`)).status).toBe(200)
    })
  }

  it('skips a malformed frame and an unknown message type, and still delivers the answer', async () => {
    stack.sim.enqueue(unknownMessageType({ answer: 'Still here.' }))
    const unknown = summarize(
      await streamChat(stack.server, chatBody({ user: { id: 'fault-unknown' } })),
    )
    expect(unknown.answer).toBe('Still here.')
    expect(unknown.errors).toEqual([])
    expect(stack.logs.some((line) => line.includes('ignoredFrames'))).toBe(true)
  })

  it('ends a stream whose frame is not JSON with a readable error', async () => {
    stack.sim.enqueue(malformedFrame())
    const seen = summarize(
      await streamChat(stack.server, chatBody({ user: { id: 'fault-malformed' } })),
    )
    expect(seen.doneCount).toBe(1)
    expect(seen.errors.length).toBe(1)
    await expectNoLeaks(stack)
  })

  it('survives an oversized frame', async () => {
    stack.sim.enqueue(oversizedFrame(2 * 1024 * 1024))
    const seen = summarize(await streamChat(stack.server, chatBody({ user: { id: 'fault-big' } })))
    expect(seen.doneCount).toBe(1)
    await expectNoLeaks(stack)
  })

  it('recovers when Letta goes down mid-conversation and comes back', async () => {
    const port = stack.sim.port
    const local = await startStack({ idleTimeoutMs: 400 })
    try {
      await streamChat(local.server, chatBody({ user: { id: 'fault-down' } }))
      await local.sim.stop()
      const down = summarize(
        await streamChat(local.server, chatBody({ user: { id: 'fault-down' } })),
      )
      expect(down.errors).toEqual(['letta_unreachable'])
      expect(down.doneCount).toBe(1)
      const health = (await (await fetch(`${local.server.url}${ROUTES.health}`)).json()) as {
        status: string
      }
      expect(health.status).toBe('degraded')
    } finally {
      await local.server.stop()
    }
    expect(port).toBeGreaterThan(0)
  })
})

describe('client faults: disconnect at every stage', () => {
  let stack: Stack
  beforeAll(async () => {
    stack = await startStack({ idleTimeoutMs: 5_000 })
  })
  afterAll(() => stack.stop())

  /** Opens a stream, waits until `reached` says the stage is on, then hangs up. */
  async function hangUpWhen(userId: string, reached: (event: BridgeEvent) => boolean) {
    const client = new AbortController()
    const response = await post(
      stack.server,
      ROUTES.chatStream,
      chatBody({ user: { id: userId } }),
      {
        signal: client.signal,
      },
    )
    for await (const event of readEvents(response.body as ReadableStream<Uint8Array>)) {
      if (reached(event)) break
    }
    client.abort()
  }

  const slowTurn = () =>
    reasoningToolAnswer({
      reasoning: 'Thinking slowly about this question, word by word.',
      tool: { name: 'archival_memory_search', arguments: { query: 'slow' }, result: 'nothing' },
      answer: 'An answer that takes a while to arrive, token after token after token.',
      tokenDelayMs: 60,
    })

  const stages = [
    {
      stage: 'during thinking',
      reached: (event: BridgeEvent) => event.event === 'reasoning.delta',
    },
    {
      stage: 'during a tool call',
      reached: (event: BridgeEvent) => event.event === 'tool.started',
    },
    { stage: 'during the answer', reached: (event: BridgeEvent) => event.event === 'answer.delta' },
  ]

  for (const { stage, reached } of stages) {
    it(`${stage}: the Letta run is cancelled and nothing leaks`, async () => {
      stack.sim.cancels.length = 0
      stack.sim.enqueue(slowTurn())
      await hangUpWhen(`client-${stage}`, reached)
      expect(await eventually(() => stack.sim.cancels.length === 1, 1_000)).toBe(true)
      expect(stack.sim.cancels[0]?.runIds[0]).toMatch(/^run-/)
      await expectNoLeaks(stack)
    })
  }

  it('before the agent is resolved: no run exists, so nothing is cancelled and nothing leaks', async () => {
    stack.sim.cancels.length = 0
    const slowLetta = await startLettaSim({ agentLatencyMs: 500 })
    const local = await startStack({ lettaBaseUrl: slowLetta.url })
    try {
      const client = new AbortController()
      // Bun sends the response head with the first event, so hang up while the fetch is pending.
      setTimeout(() => client.abort(), 100)
      await post(local.server, ROUTES.chatStream, chatBody({ user: { id: 'client-early' } }), {
        signal: client.signal,
      }).catch(() => undefined)
      await Bun.sleep(1_500)
      expect(local.logs.some((line) => line.includes('"outcome":"client_closed"'))).toBe(true)
      expect(slowLetta.cancels).toHaveLength(0)
      // The message never reached the agent after the user left.
      expect(slowLetta.requests.some((request) => request.path.endsWith('/messages'))).toBe(false)
      expect(local.server.service.activeTurns).toBe(0)
      expect(local.server.service.openUpstreams).toBe(0)
    } finally {
      await local.stop()
      await slowLetta.stop()
    }
  })

  it('leaves no live timers once every stream has ended', async () => {
    expect(await eventually(() => IdleWatchdog.live === 0)).toBe(true)
  })

  it('keeps serving after all of it', async () => {
    stack.sim.enqueue(tokenStream({ tokens: 5 }))
    const seen = summarize(
      await streamChat(stack.server, chatBody({ user: { id: 'client-after' } })),
    )
    expect(seen.errors).toEqual([])
    expect(seen.doneCount).toBe(1)
  })
})
