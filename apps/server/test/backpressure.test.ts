import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import type { BridgeEvent } from '@letta-openwebui/events'
import { ROUTES, readEvents } from '@letta-openwebui/events'
import { tokenStream } from '@letta-openwebui/letta-sim'
import { CLIENT_STALL_TIMEOUT_DEFAULT_MS, ConfigError, loadConfig } from '../src/config.ts'
import { IdleWatchdog } from '../src/turn/idle-watchdog.ts'
import type { Stack } from './utils.ts'
import {
  chatBody,
  eventually,
  eventuallyAsync,
  post,
  startStack,
  streamChat,
  summarize,
} from './utils.ts'

/** A token of ~1 KB, so that a stream is large in bytes but cheap in events. */
const bigToken = (index: number) => `${String(index).padStart(8, '0')}${'x'.repeat(1015)} `
/**
 * Far more than the loopback socket buffers on both sides of the bridge hold (a few MB each):
 * a bridge that honours back-pressure cannot take all of it from Letta while its client sleeps.
 */
const LARGE_TOKENS = 40_000

function expectedAnswer(tokens: number): string {
  return Array.from({ length: tokens }, (_, index) => bigToken(index)).join('')
}

/** Opens a stream and reads none of it; the response head has arrived when this resolves. */
async function openWithoutReading(stack: Stack, userId: string) {
  const client = new AbortController()
  const response = await post(stack.server, ROUTES.chatStream, chatBody({ user: { id: userId } }), {
    signal: client.signal,
  })
  expect(response.status).toBe(200)
  return { response, client }
}

type Run = { id: string; status: string }

/** The agent's runs, as Letta lists them. */
async function runsOf(stack: Stack, agentId: string): Promise<Run[]> {
  return (await (await fetch(`${stack.sim.url}/v1/runs?agent_id=${agentId}`)).json()) as Run[]
}

function agentOf(stack: Stack, userId: string): string | undefined {
  for (const agent of stack.sim.agents.values())
    if (agent.tags.includes(`owui-user:${userId}`)) return agent.id
  return undefined
}

async function expectNoLeaks(stack: Stack) {
  expect(await eventually(() => stack.server.service.activeTurns === 0, 5_000)).toBe(true)
  expect(await eventually(() => stack.server.service.openUpstreams === 0, 5_000)).toBe(true)
  expect(await eventually(() => stack.sim.streams.active === 0, 5_000)).toBe(true)
  expect(await eventually(() => IdleWatchdog.live === 0, 5_000)).toBe(true)
}

describe('a client that reads nothing', () => {
  let stack: Stack
  beforeAll(async () => {
    // Neither limit may end the stream during the test: only back-pressure holds it.
    stack = await startStack({ idleTimeoutMs: 120_000, clientStallTimeoutMs: 120_000 })
  })
  afterAll(() => stack.stop())

  it('holds Letta back instead of buffering its stream in the bridge', async () => {
    const completedBefore = stack.sim.streams.completed
    stack.sim.enqueue(tokenStream({ tokens: LARGE_TOKENS, text: bigToken }))
    const stuck = await openWithoutReading(stack, 'bp-sleeper')

    // The witness: the same stream, started later, read to its end by another client.
    stack.sim.enqueue(tokenStream({ tokens: LARGE_TOKENS, text: bigToken }))
    const reader = summarize(
      await streamChat(stack.server, chatBody({ user: { id: 'bp-reader' } })),
    )
    expect(reader.answer.length).toBe(expectedAnswer(LARGE_TOKENS).length)
    expect(reader.doneCount).toBe(1)

    // Letta could send the whole reader's stream, but not the sleeper's: the bridge stopped
    // taking it. An unbounded bridge would have taken it all first, into its own memory.
    expect(stack.sim.streams.completed - completedBefore).toBe(1)
    expect(stack.sim.streams.active).toBe(1)

    stuck.client.abort()
    expect(await eventually(() => stack.sim.cancels.length === 1, 5_000)).toBe(true)
    expect(stack.sim.cancels[0]?.agentId).toBe(agentOf(stack, 'bp-sleeper'))
    await expectNoLeaks(stack)
  }, 60_000)
})

describe('a client stuck past CLIENT_STALL_TIMEOUT_MS', () => {
  let stack: Stack
  beforeAll(async () => {
    stack = await startStack({ idleTimeoutMs: 120_000, clientStallTimeoutMs: 1_000 })
  })
  afterAll(() => stack.stop())

  it('is dropped, and its Letta run is cancelled', async () => {
    stack.sim.cancels.length = 0
    stack.sim.enqueue(tokenStream({ tokens: LARGE_TOKENS, text: bigToken }))
    const stuck = await openWithoutReading(stack, 'bp-stuck')
    const agentId = agentOf(stack, 'bp-stuck') ?? ''
    // A new user's agent: its only run is the one this client is stuck on.
    const [run, ...others] = await runsOf(stack, agentId)
    expect(run?.id).toMatch(/^run-/)
    expect(others).toEqual([])

    expect(await eventually(() => stack.sim.cancels.length > 0, 15_000)).toBe(true)
    expect(stack.sim.cancels).toHaveLength(1)
    expect(stack.sim.cancels[0]?.requested).toEqual([run?.id ?? ''])
    // Cancelled while it was still streaming, not after it had finished.
    expect(
      await eventuallyAsync(
        async () => (await runsOf(stack, agentId))[0]?.status === 'cancelled',
        5_000,
      ),
    ).toBe(true)

    // The connection was cut: what the client finds is what was buffered, then the end, no `done`.
    const seen: BridgeEvent[] = []
    try {
      for await (const event of readEvents(stuck.response.body as ReadableStream<Uint8Array>))
        seen.push(event)
    } catch {
      // A cut connection may surface as an error: either way the stream is over.
    }
    expect(seen.some((event) => event.event === 'done')).toBe(false)
    await expectNoLeaks(stack)
    // The log tells a stuck client from one that hung up.
    const chat = stack.logs
      .map((line) => JSON.parse(line))
      .find((entry) => entry.message === 'chat')
    expect(chat).toMatchObject({ userId: 'bp-stuck', outcome: 'client_stalled' })
  }, 60_000)

  it('a slow reader that keeps reading gets the whole answer, byte for byte, and one done', async () => {
    const tokens = 12_000
    stack.sim.enqueue(tokenStream({ tokens, text: bigToken }))
    const response = await post(
      stack.server,
      ROUTES.chatStream,
      chatBody({ user: { id: 'bp-slow' } }),
    )
    // About 6 MB/s, slower than Letta streams here, in reads that pause well under the limit.
    const slow = new TransformStream<Uint8Array, Uint8Array>({
      async transform(chunk, controller) {
        await Bun.sleep(chunk.byteLength / 6_000)
        controller.enqueue(chunk)
      },
    })
    const events: BridgeEvent[] = []
    for await (const event of readEvents(
      (response.body as ReadableStream<Uint8Array>).pipeThrough(slow, { preventCancel: false }),
    ))
      events.push(event)
    const seen = summarize(events)
    expect(seen.errors).toEqual([])
    expect(seen.answer).toBe(expectedAnswer(tokens))
    expect(seen.doneCount).toBe(1)
    expect(events.at(-1)?.event).toBe('done')
    await expectNoLeaks(stack)
  }, 60_000)
})

describe('a client that pauses longer than the Letta idle timeout', () => {
  let stack: Stack
  beforeAll(async () => {
    stack = await startStack({ idleTimeoutMs: 500, clientStallTimeoutMs: 120_000 })
  })
  afterAll(() => stack.stop())

  it('is not taken for a stalled Letta: Letta was waiting for the client, not silent', async () => {
    const tokens = 8_000
    stack.sim.enqueue(tokenStream({ tokens, text: bigToken }))
    const response = await post(
      stack.server,
      ROUTES.chatStream,
      chatBody({ user: { id: 'bp-pause' } }),
    )
    const reader = (response.body as ReadableStream<Uint8Array>).getReader()
    const first = await reader.read()
    // Three idle timeouts without reading: the bridge's buffer fills and it stops reading Letta.
    await Bun.sleep(1_500)
    const rest = new ReadableStream<Uint8Array>({
      start(controller) {
        if (first.value) controller.enqueue(first.value)
      },
      async pull(controller) {
        const { value, done } = await reader.read()
        if (done) controller.close()
        else controller.enqueue(value)
      },
    })
    const events: BridgeEvent[] = []
    for await (const event of readEvents(rest)) events.push(event)
    const seen = summarize(events)
    expect(seen.errors).toEqual([])
    expect(seen.answer).toBe(expectedAnswer(tokens))
    expect(seen.doneCount).toBe(1)
    await expectNoLeaks(stack)
  }, 60_000)
})

describe('CLIENT_STALL_TIMEOUT_MS', () => {
  const KEY = 'a-bridge-key-long-enough-0000'

  it('defaults to a minute and is read from the environment', () => {
    expect(loadConfig({ BRIDGE_API_KEY: KEY }).clientStallTimeoutMs).toBe(
      CLIENT_STALL_TIMEOUT_DEFAULT_MS,
    )
    expect(
      loadConfig({ BRIDGE_API_KEY: KEY, CLIENT_STALL_TIMEOUT_MS: '5000' }).clientStallTimeoutMs,
    ).toBe(5_000)
  })

  it('refuses a value that is not a duration, saying what it expects', () => {
    expect(() => loadConfig({ BRIDGE_API_KEY: KEY, CLIENT_STALL_TIMEOUT_MS: 'soon' })).toThrow(
      ConfigError,
    )
    expect(() => loadConfig({ BRIDGE_API_KEY: KEY, CLIENT_STALL_TIMEOUT_MS: '0' })).toThrow(
      /CLIENT_STALL_TIMEOUT_MS: expected milliseconds between 100 and 3600000/,
    )
  })
})
