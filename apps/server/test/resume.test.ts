import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import type { BridgeEvent } from '@letta-openwebui/events'
import { fingerprint, ROUTES, runPointOf } from '@letta-openwebui/events'
import { tokenStream } from '@letta-openwebui/letta-sim'
import { eventsWithIds, openAnswer } from './resuming-reader.ts'
import type { Stack } from './utils.ts'
import { chatBody, eventually, post, startStack, summarize } from './utils.ts'

// Letta with Redis keeps each run's stream (background mode); the bridge asks for it by default.
let stack: Stack
beforeAll(async () => {
  stack = await startStack({ resumableStreams: true, resumeWindowMs: 20_000 })
})
afterAll(() => stack.stop())

const words = (count: number) => Array.from({ length: count }, (_, index) => `token${index} `)

/** Reads until `count` answer pieces have come, then hangs up; the events read so far. */
async function readThenHangUp(body: ReturnType<typeof chatBody>, count: number) {
  const client = new AbortController()
  const events: BridgeEvent[] = []
  let answers = 0
  const response = await openAnswer(stack.server.url, body, { signal: client.signal })
  for await (const event of eventsWithIds(response)) {
    events.push(event)
    if (event.event === 'answer.delta' && ++answers === count) break
  }
  client.abort()
  return events
}

async function readAll(response: Response): Promise<BridgeEvent[]> {
  const events: BridgeEvent[] = []
  for await (const event of eventsWithIds(response)) events.push(event)
  return events
}

const lastId = (events: BridgeEvent[]) => events.findLast((event) => event.id)?.id

describe('an answer Letta keeps', () => {
  it('names its run in every event id; reconnecting with the last one gives the rest, nothing lost or twice', async () => {
    stack.sim.enqueue(tokenStream({ tokens: 40, tokensPerSecond: 100 }))
    const body = chatBody({ user: { id: 'resume-rest' }, chatId: 'chat-rest' })
    const before = await readThenHangUp(body, 10)
    const ids = before.map((event) => event.id)
    expect(ids.every((id) => runPointOf(id) !== undefined)).toBe(true)
    const runId = runPointOf(ids[0])?.runId
    expect(ids.every((id) => runPointOf(id)?.runId === runId)).toBe(true)

    const after = await readAll(
      await openAnswer(stack.server.url, body, { lastEventId: lastId(before) }),
    )
    const seen = summarize([...before, ...after])
    expect(seen.answer).toBe(words(40).join(''))
    expect(seen.doneCount).toBe(1)
    expect(seen.stopReason).toBe('end_turn')
    expect(new Set([...before, ...after].map((event) => event.id)).size).toBe(
      before.length + after.length,
    )
    // The client came back within RESUME_WINDOW_MS: the run was never cancelled.
    expect(stack.sim.cancels.filter((cancel) => cancel.runIds.includes(runId ?? ''))).toEqual([])
  })

  it('is recorded as the chat shows it: the next message continues the same conversation', async () => {
    const body = chatBody({
      user: { id: 'resume-thread' },
      chatId: 'chat-thread',
      message: 'First?',
    })
    stack.sim.enqueue(tokenStream({ tokens: 30, tokensPerSecond: 100 }))
    const before = await readThenHangUp(body, 5)
    await readAll(await openAnswer(stack.server.url, body, { lastEventId: lastId(before) }))
    const first = stack.sim.runs().at(-1)
    stack.sim.enqueue(tokenStream({ tokens: 2 }))
    const answer = words(30).join('')
    const next = await readAll(
      await openAnswer(
        stack.server.url,
        chatBody({
          user: { id: 'resume-thread' },
          chatId: 'chat-thread',
          message: 'Second?',
          history: [
            { role: 'user', text: 'First?', fp: fingerprint('First?') },
            { role: 'assistant', text: answer, fp: fingerprint(answer) },
          ],
        }),
      ),
    )
    expect(summarize(next).errors).toEqual([])
    const second = stack.sim.runs().at(-1)
    expect(second?.conversationId).toBe(first?.conversationId as string)
    // Continued: nothing carried again.
    expect(
      second?.messages.filter((message) => message.role === 'user').map((m) => m.text),
    ).toEqual(['First?', 'Second?'])
  })

  it('goes on while the stream from Letta breaks: the bridge reads the run again where it broke', async () => {
    const steps = tokenStream({ tokens: 30, tokensPerSecond: 200 })
    steps.splice(14, 0, { drop: true })
    stack.sim.enqueue(steps)
    const events = await readAll(
      await openAnswer(stack.server.url, chatBody({ user: { id: 'resume-upstream' } })),
    )
    const seen = summarize(events)
    expect(seen.errors).toEqual([])
    expect(seen.answer).toBe(words(30).join(''))
    expect(seen.doneCount).toBe(1)
  })

  it("comes out in order though Letta's copy holds later tokens before earlier ones", async () => {
    // Letta writes a kept run's chunks to Redis in batches; a batch can land after the next one.
    const steps = tokenStream({ tokens: 30, tokensPerSecond: 200 })
    steps.splice(20, 0, { landsLate: 4 })
    stack.sim.enqueue(steps)
    const body = chatBody({ user: { id: 'resume-order' }, chatId: 'chat-order' })
    const seen = summarize(await readAll(await openAnswer(stack.server.url, body)))
    expect(seen.errors).toEqual([])
    expect(seen.answer).toBe(words(30).join(''))
    expect(seen.doneCount).toBe(1)
  })

  it("keeps what came when a token it waits for landed after the end of Letta's copy", async () => {
    // Letta's reader stops at [DONE] and never brings what landed after it.
    const steps = tokenStream({ tokens: 30 })
    const lastToken = steps.findLastIndex(
      (step) => 'frame' in step && step.frame.message_type === 'assistant_message',
    )
    // Token 27 lands behind tokens 28 and 29, the stop reason, the usage and [DONE].
    steps.splice(lastToken - 2, 0, { landsLate: 1, behind: 5 })
    stack.sim.enqueue(steps)
    const body = chatBody({ user: { id: 'resume-late-end' }, chatId: 'chat-late-end' })
    const seen = summarize(await readAll(await openAnswer(stack.server.url, body)))
    expect(seen.errors).toEqual([])
    expect(seen.answer).toBe([...words(27), ...words(30).slice(28)].join(''))
    expect(seen.stopReason).toBe('end_turn')
    expect(seen.doneCount).toBe(1)
  })

  it('the stop button stops its run at once, though its stream is closed', async () => {
    stack.sim.enqueue(tokenStream({ tokens: 400, tokensPerSecond: 50 }))
    const body = chatBody({ user: { id: 'resume-stop' }, chatId: 'chat-stop' })
    const cancels = stack.sim.cancels.length
    const before = await readThenHangUp(body, 3)
    const response = await post(stack.server, ROUTES.chatStop, {
      protocolVersion: body.protocolVersion,
      user: body.user,
      chatId: body.chatId,
      eventId: lastId(before),
    })
    expect(response.status).toBe(204)
    // Well inside the 20 s RESUME_WINDOW_MS of this stack.
    expect(await eventually(() => stack.sim.cancels.length > cancels, 2_000)).toBe(true)
    expect(await eventually(() => stack.server.service.activeTurns === 0, 2_000)).toBe(true)
  })

  it('cannot be picked up by someone else, nor after Letta lost it: a sentence', async () => {
    stack.sim.enqueue(tokenStream({ tokens: 20, tokensPerSecond: 100 }))
    const before = await readThenHangUp(chatBody({ user: { id: 'resume-owner' } }), 2)
    const stranger = await readAll(
      await openAnswer(stack.server.url, chatBody({ user: { id: 'resume-stranger' } }), {
        lastEventId: lastId(before),
      }),
    )
    expect(summarize(stranger).errors).toEqual(['resume_failed'])
    const unknown = await readAll(
      await openAnswer(stack.server.url, chatBody({ user: { id: 'resume-owner' } }), {
        lastEventId: 'run-00000000-0000-4000-8000-000000000000:3:0',
      }),
    )
    expect(summarize(unknown).errors).toEqual(['resume_failed'])
    expect(summarize(unknown).doneCount).toBe(1)
  })
})

describe('an answer nobody comes back for', () => {
  let short: Stack
  beforeAll(async () => {
    short = await startStack({ resumableStreams: true, resumeWindowMs: 300 })
  })
  afterAll(() => short.stop())

  it('has its run cancelled once RESUME_WINDOW_MS has passed', async () => {
    short.sim.enqueue(tokenStream({ tokens: 400, tokensPerSecond: 50 }))
    const client = new AbortController()
    const response = await openAnswer(short.server.url, chatBody({ user: { id: 'left' } }), {
      signal: client.signal,
    })
    for await (const event of eventsWithIds(response)) if (event.event === 'answer.delta') break
    client.abort()
    const leftAt = performance.now()
    expect(await eventually(() => short.sim.cancels.length > 0, 3_000)).toBe(true)
    expect(performance.now() - leftAt).toBeGreaterThanOrEqual(300)
    expect(await eventually(() => short.server.service.activeTurns === 0)).toBe(true)
  })
})

describe('a Letta that cannot keep answers (no Redis)', () => {
  let plain: Stack
  beforeAll(async () => {
    plain = await startStack({ resumableStreams: true }, { redis: false })
  })
  afterAll(() => plain.stop())

  it('is asked once; answers stream as before, numbered plainly', async () => {
    for (const user of ['plain-1', 'plain-2']) {
      plain.sim.enqueue(tokenStream({ tokens: 5 }))
      const events = await readAll(
        await openAnswer(plain.server.url, chatBody({ user: { id: user } })),
      )
      expect(summarize(events).answer).toBe(words(5).join(''))
      expect(events.every((event) => event.id === undefined || /^\d+$/.test(event.id))).toBe(true)
    }
    const sends = plain.sim.requests.filter(
      (request) => request.method === 'POST' && /\/messages$/.test(request.path),
    )
    const asked = sends.filter((request) => (request.body as { background?: boolean })?.background)
    expect(asked).toHaveLength(1)
    expect(sends).toHaveLength(3)
  })
})
