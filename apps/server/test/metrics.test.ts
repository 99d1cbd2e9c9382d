import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { ROUTES } from '@letta-openwebui/events'
import { errorBeforeOutput, stallAfter, tokenStream } from '@letta-openwebui/letta-sim'
import { loadConfig } from '../src/config.ts'
import type { Stack } from './utils.ts'
import { BRIDGE_KEY, chatBody, eventually, post, startStack, streamChat } from './utils.ts'

/** One scrape, as Prometheus does it: `name{labels} value` per line, comments skipped. */
async function scrape(url: string, key: string | null = BRIDGE_KEY): Promise<Map<string, number>> {
  const response = await fetch(`${url}/metrics`, {
    headers: key ? { authorization: `Bearer ${key}` } : {},
  })
  expect(response.status).toBe(200)
  expect(response.headers.get('content-type')).toStartWith('text/plain; version=0.0.4')
  const values = new Map<string, number>()
  for (const line of (await response.text()).split('\n')) {
    if (!line || line.startsWith('#')) continue
    const at = line.lastIndexOf(' ')
    values.set(line.slice(0, at), Number(line.slice(at + 1)))
  }
  return values
}

describe('GET /metrics', () => {
  let stack: Stack
  beforeAll(async () => {
    stack = await startStack({ idleTimeoutMs: 400 })
  })
  afterAll(() => stack.stop())

  it('counts turns by outcome, Letta errors by code, agents created, cancels and times', async () => {
    stack.sim.enqueue(tokenStream({ tokens: 3 }))
    await streamChat(stack.server, chatBody({ user: { id: 'm-ok' } }))
    stack.sim.enqueue(errorBeforeOutput({}))
    await streamChat(stack.server, chatBody({ user: { id: 'm-ok' } }))
    stack.sim.enqueue(stallAfter(1))
    await streamChat(stack.server, chatBody({ user: { id: 'm-stall' } }))
    // The stalled run's cancel is counted once it is done (the agent is busy until then).
    expect(await eventually(() => stack.server.service.activeTurns === 0, 3_000)).toBe(true)

    const values = await scrape(stack.server.url)
    expect(values.get('letta_bridge_turns_total{outcome="ok",error="none"}')).toBe(1)
    expect(values.get('letta_bridge_turns_total{outcome="error",error="rate_limited"}')).toBe(1)
    expect(values.get('letta_bridge_turns_total{outcome="error",error="stream_stalled"}')).toBe(1)
    expect(values.get('letta_bridge_letta_errors_total{code="rate_limited"}')).toBe(1)
    expect(values.get('letta_bridge_letta_errors_total{code="stream_stalled"}')).toBe(1)
    expect(values.get('letta_bridge_agents_created_total')).toBe(2)
    expect(values.get('letta_bridge_cancels_total{outcome="cancelled"}')).toBe(1)
    expect(values.get('letta_bridge_time_to_first_token_seconds_count')).toBe(2)
    expect(values.get('letta_bridge_turn_duration_seconds_count{outcome="error"}')).toBe(2)
    expect(values.get('letta_bridge_active_turns')).toBe(0)
    expect(values.get('process_resident_memory_bytes')).toBeGreaterThan(0)
  })

  it('shows a turn in progress as active', async () => {
    stack.sim.enqueue(stallAfter(2))
    const client = new AbortController()
    const response = await post(
      stack.server,
      ROUTES.chatStream,
      chatBody({ user: { id: 'm-live' } }),
      {
        signal: client.signal,
      },
    )
    await (response.body as ReadableStream<Uint8Array>).getReader().read()
    expect((await scrape(stack.server.url)).get('letta_bridge_active_turns')).toBe(1)
    client.abort()
    expect(await eventually(() => stack.server.service.activeTurns === 0, 3_000)).toBe(true)
  })

  it('needs the bridge key, unless METRICS_PUBLIC is set', async () => {
    expect((await fetch(`${stack.server.url}/metrics`)).status).toBe(401)
    const open = await startStack({ metricsPublic: true })
    try {
      await scrape(open.server.url, null)
    } finally {
      await open.stop()
    }
    expect(loadConfig({ BRIDGE_API_KEY: BRIDGE_KEY, METRICS_PUBLIC: 'true' }).metricsPublic).toBe(
      true,
    )
    expect(loadConfig({ BRIDGE_API_KEY: BRIDGE_KEY }).metricsPublic).toBe(false)
  })
})
