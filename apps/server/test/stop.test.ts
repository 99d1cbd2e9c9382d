import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { ROUTES, readEvents } from '@letta-openwebui/events'
import { stallAfter, tokenStream } from '@letta-openwebui/letta-sim'
import { IdleWatchdog } from '../src/turn/idle-watchdog.ts'
import type { Stack } from './utils.ts'
import { chatBody, eventually, post, startStack } from './utils.ts'

describe('the stop button', () => {
  let stack: Stack
  beforeAll(async () => {
    stack = await startStack({ keepaliveMs: 200, idleTimeoutMs: 5_000 })
  })
  afterAll(() => stack.stop())

  it('aborts the Letta stream and cancels the run within a second of the client leaving', async () => {
    stack.sim.enqueue(tokenStream({ tokens: 400, tokensPerSecond: 20 }))
    const client = new AbortController()
    const response = await post(
      stack.server,
      ROUTES.chatStream,
      chatBody({ user: { id: 'u-stop' } }),
      {
        signal: client.signal,
      },
    )
    const events = readEvents(response.body as ReadableStream<Uint8Array>)
    let answers = 0
    for await (const event of events) {
      if (event.event === 'answer.delta' && ++answers === 3) break
    }
    const stoppedAt = performance.now()
    client.abort()
    expect(await eventually(() => stack.sim.cancels.length > 0, 1_000)).toBe(true)
    const cancel = stack.sim.cancels[0]
    expect((cancel?.at ?? Infinity) - stoppedAt).toBeLessThan(1_000)
    // The cancel names the run that was streaming (a cancel naming none stops every run).
    const chat = stack.logs
      .map((line) => JSON.parse(line))
      .find((entry) => entry.message === 'chat')
    expect(chat?.runId).toMatch(/^run-/)
    expect(cancel?.requested).toEqual([chat?.runId])
    expect(
      await eventually(() => stack.sim.streams.active === 0 && stack.sim.streams.aborted >= 1),
    ).toBe(true)
    expect(await eventually(() => stack.server.service.activeTurns === 0)).toBe(true)
  })

  it('sends keepalive events while the agent is silent', async () => {
    stack.sim.enqueue(stallAfter(2))
    const client = new AbortController()
    const response = await post(
      stack.server,
      ROUTES.chatStream,
      chatBody({ user: { id: 'u-quiet' } }),
      {
        signal: client.signal,
      },
    )
    let keepalives = 0
    for await (const event of readEvents(response.body as ReadableStream<Uint8Array>)) {
      if (event.event === 'keepalive' && ++keepalives === 3) break
    }
    client.abort()
    expect(keepalives).toBe(3)
    expect(await eventually(() => stack.server.service.activeTurns === 0)).toBe(true)
  })

  it('leaves no timers or upstream streams behind', async () => {
    expect(await eventually(() => stack.server.service.openUpstreams === 0)).toBe(true)
    expect(await eventually(() => IdleWatchdog.live === 0)).toBe(true)
  })
})
