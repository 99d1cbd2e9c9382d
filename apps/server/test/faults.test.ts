import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import type { BridgeEvent } from '@letta-openwebui/events'
import { ROUTES, readEvents } from '@letta-openwebui/events'
import type { Step } from '@letta-openwebui/letta-sim'
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
import {
  chatBody,
  eventually,
  eventuallyAsync,
  post,
  startProxy,
  startStack,
  streamChat,
  summarize,
} from './utils.ts'

/** The start of an answer frame, cut before its end. */
const CUT_FRAME =
  'data: {"id":"message-00000000-0000-4000-8000-000000000000","message_type":"assistant_mess'

/** The same steps without Letta's ending (stop_reason, usage, [DONE]): the body just ends. */
function withoutEnding(steps: Step[]): Step[] {
  return steps.filter(
    (step) =>
      !('done' in step) &&
      !(
        'frame' in step &&
        (step.frame.message_type === 'stop_reason' ||
          step.frame.message_type === 'usage_statistics')
      ),
  )
}

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
    {
      name: 'HTTP 401 (the bridge’s Letta key is refused)',
      scenario: () => httpError(401),
      code: 'letta_auth_failed',
    },
    { name: 'HTTP 403', scenario: () => httpError(403), code: 'letta_auth_failed' },
    {
      name: 'HTTP 409 busy',
      scenario: () => httpError(409, 'CONFLICT: Cannot send a new message: the agent is busy.'),
      code: 'letta_busy',
    },
    { name: 'HTTP 429', scenario: () => httpError(429), code: 'rate_limited' },
    { name: 'HTTP 500', scenario: () => httpError(500), code: 'letta_error' },
    { name: 'a stalled stream', scenario: () => stallAfter(3), code: 'stream_stalled' },
    {
      name: 'a connection cut mid-answer',
      scenario: () => dropAfter(5),
      code: 'stream_interrupted',
    },
    {
      name: 'a stream that ends cleanly without a stop_reason',
      scenario: () => withoutEnding(tokenStream({ tokens: 3 })),
      code: 'stream_interrupted',
    },
    {
      name: 'a last frame cut off mid-way, then the body ends',
      scenario: () => [...withoutEnding(tokenStream({ tokens: 3 })), { raw: CUT_FRAME }],
      code: 'stream_interrupted',
    },
    {
      name: 'a connection reset in the middle of a frame',
      scenario: () => [
        ...withoutEnding(tokenStream({ tokens: 3 })),
        { raw: CUT_FRAME },
        { drop: true } as const,
      ],
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
    const local = await startStack({ idleTimeoutMs: 400 })
    const user = chatBody({ user: { id: 'fault-down' } })
    let revived: Awaited<ReturnType<typeof startLettaSim>> | undefined
    try {
      expect(summarize(await streamChat(local.server, user)).errors).toEqual([])
      const port = local.sim.port
      await local.sim.stop()
      const down = summarize(await streamChat(local.server, user))
      expect(down.errors).toEqual(['letta_unreachable'])
      expect(down.doneCount).toBe(1)
      const health = async () =>
        ((await (await fetch(`${local.server.url}${ROUTES.health}`)).json()) as { status: string })
          .status
      expect(await health()).toBe('degraded')

      // Letta comes back on the same address (empty: the agent is provisioned again).
      revived = await startLettaSim({ port })
      revived.enqueue(tokenStream({ tokens: 3, text: (i) => `back${i} ` }))
      const back = summarize(await streamChat(local.server, user))
      expect(back.errors).toEqual([])
      expect(back.answer).toBe('back0 back1 back2 ')
      // /health reuses Letta's status for 5 s.
      expect(await eventuallyAsync(async () => (await health()) === 'ok', 10_000)).toBe(true)
    } finally {
      await local.server.stop()
      await revived?.stop()
    }
  }, 20_000)

  it('counts a large frame arriving in parts as Letta alive, not stalled', async () => {
    const answer = 'A long answer. '.repeat(2_000)
    const frame = `data: ${JSON.stringify({
      id: 'message-00000000-0000-4000-8000-000000000001',
      date: '2026-11-23T00:00:00+00:00',
      message_type: 'assistant_message',
      otid: '00000000-0000-4000-8000-000000000002',
      content: answer,
    })}\n\n`
    const third = Math.ceil(frame.length / 3)
    // Each part comes within the idle timeout (400 ms); the whole frame takes longer than it.
    stack.sim.enqueue([
      { raw: frame.slice(0, third) },
      { sleep: 250 },
      { raw: frame.slice(third, 2 * third) },
      { sleep: 250 },
      { raw: frame.slice(2 * third) },
      ...tokenStream({ tokens: 0 }),
    ])
    const seen = summarize(
      await streamChat(stack.server, chatBody({ user: { id: 'fault-parts' } })),
    )
    expect(seen.errors).toEqual([])
    expect(seen.answer).toBe(answer)
  })

  it('passes on at most a few lines of a huge Letta error message', async () => {
    stack.sim.enqueue(errorBeforeOutput({ message: 'The model said no. '.repeat(260_000) }))
    const events = await streamChat(stack.server, chatBody({ user: { id: 'fault-huge-error' } }))
    const error = events.find((event) => event.event === 'error')
    expect(error?.event === 'error' && error.data.message.length).toBeLessThanOrEqual(300)
    expect(error?.event === 'error' && error.data.message).toStartWith('The model said no.')
    expect(summarize(events).doneCount).toBe(1)
  })

  it('names a web page from Letta’s address as a configuration problem, with the cause in the log', async () => {
    const proxy = startProxy(stack.sim.url, (request, url) =>
      request.method === 'POST' && url.pathname.endsWith('/messages')
        ? new Response('<html><body>Welcome to nginx!</body></html>', {
            headers: { 'content-type': 'text/html' },
          })
        : undefined,
    )
    const local = await startStack({ lettaBaseUrl: proxy.url })
    try {
      const events = await streamChat(local.server, chatBody({ user: { id: 'fault-html' } }))
      const error = events.find((event) => event.event === 'error')
      expect(error?.data).toMatchObject({ code: 'letta_misconfigured', retryable: false })
      expect(error?.event === 'error' && error.data.message).toContain('LETTA_BASE_URL')
      expect(summarize(events).doneCount).toBe(1)
      expect(local.logs.some((line) => line.includes('text/html'))).toBe(true)
    } finally {
      await local.stop()
      proxy.stop()
    }
  })

  it('never follows a redirect: the message is not re-sent elsewhere', async () => {
    const target = await startLettaSim()
    const proxy = startProxy(stack.sim.url, (request, url) =>
      request.method === 'POST' && url.pathname.endsWith('/messages')
        ? new Response(null, { status: 307, headers: { location: `${target.url}${url.pathname}` } })
        : undefined,
    )
    const local = await startStack({ lettaBaseUrl: proxy.url })
    try {
      const events = await streamChat(local.server, chatBody({ user: { id: 'fault-redirect' } }))
      expect(summarize(events).errors).toEqual(['letta_misconfigured'])
      expect(summarize(events).doneCount).toBe(1)
      expect(target.requests).toHaveLength(0)
      expect(local.logs.some((line) => line.includes(`redirect to ${target.url}`))).toBe(true)
    } finally {
      await local.stop()
      proxy.stop()
      await target.stop()
    }
  })

  it('stops a turn that runs past its limit although Letta keeps pinging, and cancels that run', async () => {
    const local = await startStack({ idleTimeoutMs: 400, maxTurnMs: 1_000 }, { pingIntervalMs: 50 })
    try {
      local.sim.enqueue(stallAfter(2))
      const events = await streamChat(local.server, chatBody({ user: { id: 'fault-overdue' } }))
      const seen = summarize(events)
      expect(seen.errors).toEqual(['turn_timeout'])
      expect(events.find((event) => event.event === 'error')?.data).toMatchObject({
        message: expect.stringContaining('longer than 1 second'),
      })
      expect(seen.doneCount).toBe(1)
      expect(await eventually(() => local.sim.cancels.length === 1)).toBe(true)
      const [cancel] = local.sim.cancels
      expect(cancel?.requested).toEqual([expect.stringMatching(/^run-/)])
      await expectNoLeaks(local)
    } finally {
      await local.stop()
    }
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
      // The cancel names the streaming run: a cancel naming none stops every run of the agent.
      const [cancel] = stack.sim.cancels
      expect(cancel?.requested).toEqual([expect.stringMatching(/^run-/)])
      expect(cancel?.runIds).toEqual(cancel?.requested ?? [])
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
      // The turn has ended (its log line is written last) and the agent lookup it left behind
      // has finished creating the agent: after both, nothing can send the message any more.
      expect(
        await eventually(
          () => local.logs.some((line) => line.includes('"outcome":"client_closed"')),
          3_000,
        ),
      ).toBe(true)
      expect(await eventually(() => slowLetta.agents.size === 1, 3_000)).toBe(true)
      expect(await eventually(() => local.server.agents.size === 1, 3_000)).toBe(true)
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

  it('stop before Letta’s first frame: the run is found once Letta registers it, and cancelled by id', async () => {
    const slowStart = await startLettaSim({ runStartLatencyMs: 400 })
    const local = await startStack({ lettaBaseUrl: slowStart.url })
    try {
      slowStart.enqueue(stallAfter(1))
      const client = new AbortController()
      const sending = post(
        local.server,
        ROUTES.chatStream,
        chatBody({ user: { id: 'client-pre' } }),
        {
          signal: client.signal,
        },
      ).catch(() => undefined)
      // The message has reached Letta, which has not registered its run yet.
      expect(
        await eventually(() => slowStart.requests.some((r) => r.path.endsWith('/messages')), 3_000),
      ).toBe(true)
      client.abort()
      await sending
      expect(await eventually(() => slowStart.cancels.length === 1, 5_000)).toBe(true)
      const [cancel] = slowStart.cancels
      expect(cancel?.requested).toEqual([expect.stringMatching(/^run-/)])
      const run = (await (
        await fetch(`${slowStart.url}/v1/runs/${cancel?.requested?.[0]}`)
      ).json()) as {
        status: string
      }
      expect(run.status).toBe('cancelled')
      expect(
        await eventually(() =>
          local.logs.some((line) => line.includes('"message":"run cancelled"')),
        ),
      ).toBe(true)
      expect(await eventually(() => local.server.service.activeTurns === 0)).toBe(true)
    } finally {
      await local.stop()
      await slowStart.stop()
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
