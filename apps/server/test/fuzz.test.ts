import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import type { ErrorBody } from '@letta-openwebui/events'
import {
  ChatRequest,
  compileValidator,
  PROTOCOL_VERSION,
  ROUTES,
  readEvents,
} from '@letta-openwebui/events'
import { Value } from '@sinclair/typebox/value'
import fc from 'fast-check'
import type { RunningServer } from '../src/server.ts'
import { startServer } from '../src/server.ts'
import { BRIDGE_KEY, chatBody } from './utils.ts'

/** Requests per property; the whole file stays within a few seconds on 2 cores. */
const RUNS = 1_500

const validChat = compileValidator(ChatRequest).check
/** Elysia drops properties the schema does not name (they never reach the handler) before validating. */
const isChatRequest = (value: unknown) =>
  validChat(Value.Clean(ChatRequest, structuredClone(value)))
const quiet = { debug() {}, info() {}, warn() {}, error() {} }

/** A valid body with one field replaced by anything, so most requests land near the boundary. */
const mutatedBody = fc
  .tuple(
    fc.constantFrom('protocolVersion', 'user', 'chatId', 'template', 'message', 'extra'),
    fc.oneof(
      fc.anything(),
      fc.string({ maxLength: 50 }),
      fc.constant('x'.repeat(40_000)),
      fc.record({ id: fc.oneof(fc.string(), fc.integer(), fc.constant('')) }),
    ),
  )
  .map(([key, value]) => ({ ...chatBody(), [key]: value }))

/** Arrays and objects nested far past the bridge's depth limit, balanced or not. */
const deepBody = fc
  .tuple(fc.integer({ min: 30, max: 80_000 }), fc.constantFrom('[', '{"a":'), fc.boolean())
  .map(([depth, open, balanced]) => {
    const close = open === '[' ? ']' : '}'
    return `${open.repeat(depth)}${open === '[' ? '' : '1'}${balanced ? close.repeat(depth) : ''}`
  })

const anyBody = fc.oneof(
  deepBody,
  mutatedBody.map((body) => JSON.stringify(body)),
  fc.jsonValue().map((value) => JSON.stringify(value)),
  fc.string({ maxLength: 200 }),
  fc.uint8Array({ maxLength: 300 }).map((bytes) => new TextDecoder().decode(bytes)),
)

const anyAuth = fc.oneof(
  fc.constant(`Bearer ${BRIDGE_KEY}`),
  fc.constant(undefined),
  fc.string({ maxLength: 80 }).map((text) => `Bearer ${text}`),
  fc.string({ maxLength: 80 }),
)

const anyRoute = fc.constantFrom(
  { method: 'POST', path: ROUTES.chatStream },
  { method: 'POST', path: ROUTES.chat },
  { method: 'GET', path: ROUTES.templates },
  { method: 'GET', path: ROUTES.pipeFile },
  { method: 'PUT', path: ROUTES.chat },
  { method: 'POST', path: '/v1/../v1/chat' },
)

const contentType = fc.constantFrom(
  'application/json',
  'text/plain',
  'application/x-www-form-urlencoded',
  undefined,
)

describe('bad input on every route', () => {
  let server: RunningServer
  beforeAll(async () => {
    // Nothing listens at this Letta: a body that is valid by chance still ends in a readable error.
    server = await startServer({
      port: 0,
      host: '127.0.0.1',
      lettaBaseUrl: 'http://127.0.0.1:9',
      bridgeApiKey: BRIDGE_KEY,
      logger: quiet,
    })
  })
  afterAll(() => server.stop())

  it(`answers ${RUNS} random requests with 4xx JSON (or a stream that ends) and keeps memory flat`, async () => {
    Bun.gc(true)
    const rssBefore = process.memoryUsage().rss
    const statuses = new Map<number, number>()
    await fc.assert(
      fc.asyncProperty(anyRoute, anyBody, anyAuth, contentType, async (route, body, auth, type) => {
        const headers: Record<string, string> = {}
        if (auth !== undefined) headers.authorization = auth
        if (type) headers['content-type'] = type
        const response = await fetch(`${server.url}${route.path}`, {
          method: route.method,
          headers,
          body: route.method === 'GET' ? undefined : body,
        })
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1)
        if (response.status === 200) {
          let parsed: unknown
          try {
            parsed = JSON.parse(body)
          } catch {}
          if (route.path === ROUTES.chatStream) {
            expect(isChatRequest(parsed)).toBe(true)
            const events = []
            for await (const event of readEvents(response.body as ReadableStream<Uint8Array>))
              events.push(event)
            expect(events.at(-1)?.event).toBe('done')
          } else {
            await response.arrayBuffer()
            expect(route.method === 'GET' || isChatRequest(parsed)).toBe(true)
          }
          return
        }
        expect(response.status).toBeGreaterThanOrEqual(400)
        expect(response.status).toBeLessThan(500)
        const error = (await response.json()) as ErrorBody
        expect(typeof error.code).toBe('string')
        expect(error.message).toMatch(/^[A-Z].*[.)]$/)
        expect(error.message).not.toMatch(/\n\s+at |TypeError|undefined/)
      }),
      { numRuns: RUNS },
    )
    Bun.gc(true)
    const growthMb = (process.memoryUsage().rss - rssBefore) / 1024 / 1024
    // Server and client share this process: the bound covers both, and stays far below a leak.
    expect(growthMb).toBeLessThan(64)
    expect([...statuses.keys()].some((status) => status === 401)).toBe(true)
    expect([...statuses.keys()].some((status) => status === 422)).toBe(true)
    expect(server.service.activeTurns).toBe(0)
  }, 60_000)

  it('still serves a valid request after the barrage', async () => {
    const response = await fetch(`${server.url}${ROUTES.chatStream}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${BRIDGE_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ...chatBody(), protocolVersion: PROTOCOL_VERSION }),
    })
    expect(response.status).toBe(200)
    const events = []
    for await (const event of readEvents(response.body as ReadableStream<Uint8Array>))
      events.push(event)
    expect(events.map((event) => event.event)).toEqual(['error', 'done'])
  })
})
