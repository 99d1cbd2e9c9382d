import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import type { LettaSim } from '@letta-openwebui/letta-sim'
import { startLettaSim } from '@letta-openwebui/letta-sim'
import { createLettaClient } from '../src/letta/client.ts'
import { templateProblems } from '../src/letta/template-check.ts'
import { TemplateCatalog } from '../src/templates.ts'
import type { Stack } from './utils.ts'
import { BRIDGE_KEY, chatBody, json, startStack, streamChat, summarize } from './utils.ts'

/** A self-hosted Letta pointed at an OpenAI-compatible endpoint other than api.openai.com. */
const PROXIED = {
  llm: ['openai-proxy/gpt-4o-mini', 'letta/letta-free'],
  embedding: ['letta/letta-free'],
}

describe('templates that do not fit the Letta server', () => {
  let proxied: LettaSim
  let stack: Stack
  beforeAll(async () => {
    proxied = await startLettaSim({ models: PROXIED })
    stack = await startStack({ lettaBaseUrl: proxied.url })
  })
  afterAll(async () => {
    await stack.stop()
    await proxied.stop()
  })

  it('names the template, the handle and what Letta offers instead', async () => {
    const problems = await templateProblems(
      createLettaClient({ baseUrl: proxied.url }),
      new TemplateCatalog(),
    )
    expect(problems).toEqual([
      'template "tutor": Letta offers no model "openai/gpt-4o-mini"; it offers: openai-proxy/gpt-4o-mini, letta/letta-free',
      'template "tutor": Letta offers no embedding "openai/text-embedding-3-small"; it offers: letta/letta-free',
    ])
  })

  it('reports it in /health (degraded, with the line) to a caller with the key', async () => {
    const health = await json<{
      status: string
      letta: { reachable: boolean; templates: string[] }
    }>(
      await fetch(`${stack.server.url}/health`, {
        headers: { authorization: `Bearer ${BRIDGE_KEY}` },
      }),
    )
    expect(health.status).toBe('degraded')
    expect(health.letta.reachable).toBe(true)
    expect(health.letta.templates[0]).toContain('Letta offers no model "openai/gpt-4o-mini"')
    const anonymous = await (await fetch(`${stack.server.url}/health`)).json()
    expect(anonymous).toEqual({ status: 'degraded' })
  })

  it('finds nothing to report when every handle is offered', async () => {
    const fitting = await startLettaSim()
    try {
      const client = createLettaClient({ baseUrl: fitting.url })
      expect(await templateProblems(client, new TemplateCatalog())).toEqual([])
    } finally {
      await fitting.stop()
    }
  })

  it('tells the student it is a setup problem (not "try again"), and the admin why, in the log', async () => {
    const events = await streamChat(stack.server, chatBody({ user: { id: 'u-handle' } }))
    const error = events.find((event) => event.event === 'error')
    expect(error?.data).toMatchObject({ code: 'letta_misconfigured', retryable: false })
    expect(error?.event === 'error' && error.data.message).toContain('"tutor" template')
    expect(summarize(events).doneCount).toBe(1)
    // Letta's own detail reaches the log, never the chat.
    expect(JSON.stringify(events)).not.toContain('NOT_FOUND')
    expect(
      stack.logs.some((line) => line.includes('NOT_FOUND: Handle openai/gpt-4o-mini not found')),
    ).toBe(true)
    // Nothing was retried into a loop: one refused creation per message.
    expect(
      proxied.requests.filter(
        (request) => request.path === '/v1/agents' && request.method === 'POST',
      ),
    ).toHaveLength(1)
  })
})
