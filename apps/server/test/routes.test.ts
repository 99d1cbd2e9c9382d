import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { ErrorBody, Health, PROTOCOL_VERSION, ROUTES, TemplateList } from '@letta-openwebui/events'
import type { Static } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import type { Stack } from './utils.ts'
import { BRIDGE_KEY, chatBody, json, post, startStack } from './utils.ts'

type ErrorJson = Static<typeof ErrorBody>

const V1_ROUTES = [
  { method: 'POST', path: ROUTES.chatStream },
  { method: 'POST', path: ROUTES.chat },
  { method: 'GET', path: ROUTES.templates },
  { method: 'GET', path: ROUTES.pipeFile },
]

describe('bridge routes', () => {
  let stack: Stack
  beforeAll(async () => {
    stack = await startStack()
  })
  afterAll(() => stack.stop())

  for (const route of V1_ROUTES) {
    for (const [label, header] of [
      ['no', undefined],
      ['a wrong', 'Bearer not-the-key-at-all-000000'],
      ['a malformed', `Basic ${BRIDGE_KEY}`],
    ] as const) {
      it(`${route.method} ${route.path} with ${label} token → 401 with a clear message`, async () => {
        const response = await fetch(`${stack.server.url}${route.path}`, {
          method: route.method,
          headers: {
            'content-type': 'application/json',
            ...(header ? { authorization: header } : {}),
          },
          body: route.method === 'POST' ? JSON.stringify(chatBody()) : undefined,
        })
        expect(response.status).toBe(401)
        const body = await json<ErrorJson>(response)
        expect(Value.Check(ErrorBody, body)).toBe(true)
        expect(body.code).toBe('unauthorized')
        expect(body.message).toContain('API_KEY')
      })
    }
  }

  it('rejects an invalid body with 422 naming the field', async () => {
    const response = await post(stack.server, ROUTES.chatStream, { ...chatBody(), user: { id: 7 } })
    expect(response.status).toBe(422)
    const body = await json<ErrorJson>(response)
    expect(body.code).toBe('invalid_request')
    expect(body.message).toContain('user.id')
    expect(JSON.stringify(body)).not.toMatch(/at .*\.ts|stack/i)
  })

  it('rejects a body that is not JSON with 400', async () => {
    const response = await post(stack.server, ROUTES.chat, '{"protocolVersion": ')
    expect([400, 422]).toContain(response.status)
    expect((await json<ErrorJson>(response)).code).toBe('invalid_request')
  })

  it('rejects an old pipe with a message telling the admin to re-upload it', async () => {
    const response = await post(
      stack.server,
      ROUTES.chatStream,
      chatBody({ protocolVersion: 'old' }),
    )
    expect(response.status).toBe(409)
    const body = await json<ErrorJson>(response)
    expect(body.code).toBe('protocol_mismatch')
    expect(body.message).toContain('re-upload apps/pipe/dist/letta_pipe.py')
  })

  it('rejects an unknown template', async () => {
    const response = await post(stack.server, ROUTES.chatStream, chatBody({ template: 'wizard' }))
    expect(response.status).toBe(404)
    expect((await json<ErrorJson>(response)).code).toBe('unknown_template')
  })

  it('lists the templates with tutor as the default', async () => {
    const response = await fetch(`${stack.server.url}${ROUTES.templates}`, {
      headers: { authorization: `Bearer ${BRIDGE_KEY}` },
    })
    const list = await json<Static<typeof TemplateList>>(response)
    expect(Value.Check(TemplateList, list)).toBe(true)
    expect(list.defaultTemplate).toBe('tutor')
    expect(list.templates.map((template) => template.title)).toContain('Tutor')
  })

  it('reports health with the Letta URL and the protocol version', async () => {
    const health = await json<Static<typeof Health>>(
      await fetch(`${stack.server.url}${ROUTES.health}`),
    )
    expect(Value.Check(Health, health)).toBe(true)
    expect(health).toMatchObject({
      status: 'ok',
      protocolVersion: PROTOCOL_VERSION,
      letta: { url: stack.sim.url, reachable: true, mode: 'letta' },
    })
  })

  it('serves OpenAPI docs generated from the schemas', async () => {
    const spec = await json<{ paths: Record<string, unknown> }>(
      await fetch(`${stack.server.url}/docs/json`),
    )
    expect(Object.keys(spec.paths)).toEqual(
      expect.arrayContaining([ROUTES.chatStream, ROUTES.chat, ROUTES.templates, ROUTES.health]),
    )
    expect(JSON.stringify(spec)).toContain('protocolVersion')
  })

  it('serves the generated pipe file for download', async () => {
    const response = await fetch(`${stack.server.url}${ROUTES.pipeFile}`, {
      headers: { authorization: `Bearer ${BRIDGE_KEY}` },
    })
    expect(response.status).toBe(200)
    const text = await response.text()
    expect(text.split('\n')[0]).toBe('"""')
    expect(text).toContain(PROTOCOL_VERSION)
  })

  it('answers an unknown route with 404 JSON', async () => {
    const response = await fetch(`${stack.server.url}/v2/nothing`)
    expect(response.status).toBe(404)
    expect((await json<ErrorJson>(response)).code).toBe('invalid_request')
  })

  it('refuses a body over the size limit with 413', async () => {
    const response = await post(stack.server, ROUTES.chat, {
      ...chatBody(),
      message: 'x'.repeat(300_000),
    })
    expect(response.status).toBe(413)
    expect((await json<ErrorJson>(response)).code).toBe('payload_too_large')
  })

  it('folds a turn into one JSON answer on /v1/chat', async () => {
    const response = await post(stack.server, ROUTES.chat, chatBody())
    expect(response.status).toBe(200)
    const result = await json<{ answer: string; stopReason: string }>(response)
    expect(result.answer.length).toBeGreaterThan(0)
    expect(result.stopReason).toBe('end_turn')
  })
})
