import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { ErrorBody, Health, PROTOCOL_VERSION, ROUTES, TemplateList } from '@letta-openwebui/events'
import type { Static } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { MAX_CHAT_BODY_BYTES } from '../src/modules/errors.ts'
import { PIPE_FILE } from '../src/modules/pipe-file.ts'
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
    expect(response.status).toBe(400)
    expect((await json<ErrorJson>(response)).code).toBe('invalid_request')
  })

  it('never echoes the body in a validation error', async () => {
    const secret = 'the-students-private-words-0451'
    const response = await post(stack.server, ROUTES.chatStream, {
      ...chatBody({ message: secret }),
      user: { id: 7, name: secret },
    })
    expect(response.status).toBe(422)
    expect(await response.text()).not.toContain(secret)
  })

  it('without the key, tells nothing about the body, the protocol or the templates', async () => {
    const answers = await Promise.all(
      [
        {},
        chatBody({ protocolVersion: 'old' }),
        chatBody({ template: 'wizard' }),
        chatBody({ template: 'tutor' }),
      ].map(async (body) => {
        const response = await post(stack.server, ROUTES.chatStream, body, { key: null })
        return { status: response.status, body: await response.text() }
      }),
    )
    for (const answer of answers) {
      expect(answer.status).toBe(401)
      expect(answer.body).not.toContain(PROTOCOL_VERSION)
    }
    // A known and an unknown template get the same answer: names cannot be probed.
    expect(new Set(answers.map((answer) => answer.body)).size).toBe(1)
  })

  it('answers 401 without reading the body when the key is missing', async () => {
    // A body that is never finished: only an answer that does not wait for it can arrive.
    const deep = '['.repeat(20_000)
    let closeBody = () => {}
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(deep))
        closeBody = () => {
          try {
            controller.close()
          } catch {
            // fetch already let go of the body once the answer came: nothing to close.
          }
        }
      },
    })
    try {
      const response = await fetch(`${stack.server.url}${ROUTES.chatStream}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        duplex: 'half',
      } as RequestInit)
      expect(response.status).toBe(401)
      expect((await json<ErrorJson>(response)).code).toBe('unauthorized')
    } finally {
      closeBody()
    }
  })

  it('refuses JSON nested deeper than the limit with a clear 400, and stays responsive', async () => {
    for (const body of [
      `${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}`,
      `${'['.repeat(60_000)}${']'.repeat(60_000)}`,
    ]) {
      const response = await post(stack.server, ROUTES.chatStream, body)
      expect(response.status).toBe(400)
      const error = await json<ErrorJson>(response)
      expect(error).toMatchObject({ code: 'invalid_request' })
      expect(error.message).toContain('nested more than')
      expect((await fetch(`${stack.server.url}${ROUTES.health}`)).status).toBe(200)
    }
  })

  it('still reads brackets inside strings as text, not as nesting', async () => {
    const response = await post(
      stack.server,
      ROUTES.chat,
      chatBody({ message: `${'[{'.repeat(100)} " ]]} ${'}]'.repeat(100)}` }),
    )
    expect(response.status).toBe(200)
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

  it('reports health with the Letta URL, versions and template fit to a caller with the key', async () => {
    const health = await json<Static<typeof Health>>(
      await fetch(`${stack.server.url}${ROUTES.health}`, {
        headers: { authorization: `Bearer ${BRIDGE_KEY}` },
      }),
    )
    expect(Value.Check(Health, health)).toBe(true)
    expect(health).toMatchObject({
      status: 'ok',
      protocolVersion: PROTOCOL_VERSION,
      letta: {
        url: stack.sim.url,
        reachable: true,
        mode: 'letta',
        version: '0.16.8',
        templates: [],
      },
    })
  })

  it('tells a caller without the key only whether the bridge is up', async () => {
    for (const authorization of [undefined, 'Bearer not-the-key-at-all-000000']) {
      const response = await fetch(`${stack.server.url}${ROUTES.health}`, {
        headers: authorization ? { authorization } : {},
      })
      expect(response.status).toBe(200)
      expect(await response.json()).toEqual({ status: 'ok' })
    }
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

  it('serves the generated pipe file for download, from the copy that ships with the server', async () => {
    const response = await fetch(`${stack.server.url}${ROUTES.pipeFile}`, {
      headers: { authorization: `Bearer ${BRIDGE_KEY}` },
    })
    expect(response.status).toBe(200)
    const text = await response.text()
    expect(text.split('\n')[0]).toBe('"""')
    expect(text).toContain(PROTOCOL_VERSION)
    expect(PIPE_FILE.pathname).toStartWith(new URL('../', import.meta.url).pathname)
    expect(text).toBe(await Bun.file(PIPE_FILE).text())
  })

  it('answers an unknown route with 404 JSON', async () => {
    const response = await fetch(`${stack.server.url}/v2/nothing`)
    expect(response.status).toBe(404)
    expect((await json<ErrorJson>(response)).code).toBe('invalid_request')
  })

  it('refuses a body over the size limit with 413 also when it comes without a Content-Length', async () => {
    const text = JSON.stringify({ ...chatBody(), label: 'human', value: 'x'.repeat(300_000) })
    const chunked = new ReadableStream<Uint8Array>({
      start(controller) {
        const bytes = new TextEncoder().encode(text)
        for (let at = 0; at < bytes.length; at += 64 * 1024)
          controller.enqueue(bytes.slice(at, at + 64 * 1024))
        controller.close()
      },
    })
    const response = await fetch(`${stack.server.url}${ROUTES.memoryUpdate}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${BRIDGE_KEY}` },
      body: chunked,
      duplex: 'half',
    } as RequestInit)
    expect(response.status).toBe(413)
    expect((await json<ErrorJson>(response)).code).toBe('payload_too_large')
  })

  it('refuses a body over the size limit with 413: 256 KB, and for a message to the agent what its images and files need', async () => {
    const memory = await post(stack.server, ROUTES.memoryUpdate, {
      ...chatBody(),
      label: 'human',
      value: 'x'.repeat(300_000),
    })
    expect(memory.status).toBe(413)
    expect((await json<ErrorJson>(memory)).code).toBe('payload_too_large')
    // 300 KB is a message (the schema's length limit answers), 16 MB is too much for any.
    const long = await post(stack.server, ROUTES.chat, {
      ...chatBody(),
      message: 'x'.repeat(300_000),
    })
    expect(long.status).toBe(422)
    const huge = await post(stack.server, ROUTES.chat, {
      ...chatBody(),
      images: [{ mediaType: 'image/png', data: 'A'.repeat(MAX_CHAT_BODY_BYTES) }],
    })
    expect(huge.status).toBe(413)
    expect((await json<ErrorJson>(huge)).code).toBe('payload_too_large')
  })

  it('folds a turn into one JSON answer on /v1/chat', async () => {
    const response = await post(stack.server, ROUTES.chat, chatBody())
    expect(response.status).toBe(200)
    const result = await json<{ answer: string; stopReason: string }>(response)
    expect(result.answer.length).toBeGreaterThan(0)
    expect(result.stopReason).toBe('end_turn')
  })
})
