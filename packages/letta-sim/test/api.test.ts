import { describe, expect, it } from 'bun:test'
import type Letta from '@letta-ai/letta-client'
import {
  BadRequestError,
  ConflictError,
  InternalServerError,
  NotFoundError,
  RateLimitError,
  UnprocessableEntityError,
} from '@letta-ai/letta-client'
import type { LettaSim } from '../src/index.ts'
import { httpError, stallAfter, startLettaSim, tokenStream } from '../src/index.ts'
import type { Frame } from './helpers.ts'
import { drain, eventually, postRaw, SDK_HEADERS, STREAM_BODY, sdk, useSim } from './helpers.ts'

/** A well-formed agent id nobody created. */
const MISSING_AGENT = 'agent-00000000-0000-4000-8000-000000000000'

let sim: LettaSim
let client: Letta
useSim((started) => ({ sim, client } = started))

describe('health', () => {
  it('answers client.health() with a version and status ok', async () => {
    expect(await client.health()).toEqual({ version: '0.16.8', status: 'ok' })
  })
})

describe('agents', () => {
  const create = (name: string, tags: string[]) =>
    client.agents.create({
      name,
      tags,
      model: 'openai/gpt-4o-mini',
      embedding: 'openai/text-embedding-3-small',
      memory_blocks: [{ label: 'persona', value: 'A patient tutor.' }],
      metadata: { owui_user_id: name },
    })

  it('creates an agent with an agent-<uuid4> id, its tags, metadata and memory', async () => {
    const agent = await create('ada', ['owui-user:ada', 'template:tutor'])
    expect(agent.id).toMatch(/^agent-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-/)
    expect(agent).toMatchObject({
      name: 'ada',
      tags: ['owui-user:ada', 'template:tutor'],
      metadata: { owui_user_id: 'ada' },
      model: 'openai/gpt-4o-mini',
      agent_type: 'letta_v1_agent',
    })
    expect(agent.memory.blocks.map((block) => [block.label, block.value])).toEqual([
      ['persona', 'A patient tutor.'],
    ])
    expect(sim.agents.get(agent.id)?.tags).toEqual(['owui-user:ada', 'template:tutor'])
    expect(sim.requests.at(-1)).toMatchObject({ method: 'POST', path: '/v1/agents' })
  })

  it('lists by tags, returning tags only when include asks for agent.tags', async () => {
    const ada = await create('ada', ['owui-user:ada', 'template:tutor'])
    await create('bob', ['owui-user:bob', 'template:tutor'])
    const all = await client.agents.list({
      tags: ['owui-user:ada', 'template:tutor'],
      match_all_tags: true,
    })
    expect(all.getPaginatedItems().map((agent) => [agent.id, agent.tags])).toEqual([[ada.id, []]])
    const withTags = await client.agents.list({
      tags: ['owui-user:ada', 'template:tutor'],
      match_all_tags: true,
      include: ['agent.tags'],
    })
    expect(withTags.getPaginatedItems()[0]?.tags).toEqual(['owui-user:ada', 'template:tutor'])
    const any = await client.agents.list({ tags: ['owui-user:ada', 'owui-user:bob'] })
    expect(any.getPaginatedItems().map((agent) => agent.name)).toEqual(['bob', 'ada'])
    expect(sim.requests.at(-1)?.query).toMatchObject({
      tags: ['owui-user:ada', 'owui-user:bob'],
    })
  })

  it('pages with limit and after, so the SDK’s auto-pagination ends', async () => {
    for (const name of ['a', 'b', 'c']) await create(name, ['page'])
    const names: string[] = []
    for await (const agent of client.agents.list({ tags: ['page'], limit: 2 }))
      names.push(agent.name)
    expect(names).toEqual(['c', 'b', 'a'])
  })

  it('gives all relationships to a pre-1.0 client (no SDK header)', async () => {
    const ada = await create('ada', ['owui-user:ada'])
    const response = await fetch(`${sim.url}/v1/agents/?tags=owui-user:ada`)
    expect(((await response.json()) as Array<{ tags: string[] }>)[0]?.tags).toEqual(
      sim.agents.get(ada.id)?.tags ?? [],
    )
  })

  it('retrieves, deletes, and answers 404 NotFoundError for a missing agent', async () => {
    const agent = await create('ada', [])
    expect((await client.agents.retrieve(agent.id)).name).toBe('ada')
    await client.agents.delete(agent.id)
    const missing = await client.agents.retrieve(agent.id).catch((error) => error)
    expect(missing).toBeInstanceOf(NotFoundError)
    expect((missing as NotFoundError).error).toEqual({
      detail: `Agent with ID ${agent.id} not found`,
    })
  })

  it('rejects an id that is not agent-<uuid4> with 422, like FastAPI’s path validation', async () => {
    const error = await client.agents.retrieve('agent-nope').catch((caught) => caught)
    expect(error).toBeInstanceOf(UnprocessableEntityError)
  })

  it('answers 404 to a message for an agent deleted behind our back', async () => {
    const agent = sim.createAgent({ name: 'gone' })
    sim.deleteAgent(agent.id)
    const error = await client.agents.messages
      .create(agent.id, STREAM_BODY, { maxRetries: 0 })
      .catch((caught) => caught)
    expect(error).toBeInstanceOf(NotFoundError)
  })
})

describe('models', () => {
  it('lists the model and embedding handles it offers, and refuses an agent naming another', async () => {
    const proxied = await startLettaSim({
      models: { llm: ['openai-proxy/gpt-4o-mini'], embedding: ['letta/letta-free'] },
    })
    try {
      const proxiedClient = sdk(proxied)
      expect((await proxiedClient.models.list()).map((model) => model.handle)).toEqual([
        'openai-proxy/gpt-4o-mini',
      ])
      expect((await proxiedClient.models.embeddings.list()).map((model) => model.handle)).toEqual([
        'letta/letta-free',
      ])
      const wrongModel = await proxiedClient.agents
        .create({ model: 'openai/gpt-4o-mini' })
        .catch((caught) => caught)
      expect(wrongModel).toBeInstanceOf(NotFoundError)
      expect(wrongModel.error).toEqual({
        detail: 'NOT_FOUND: Handle openai/gpt-4o-mini not found, must be one of []',
      })
      const wrongEmbedding = await proxiedClient.agents
        .create({ model: 'openai-proxy/gpt-4o-mini', embedding: 'openai/text-embedding-3-small' })
        .catch((caught) => caught)
      expect(wrongEmbedding).toBeInstanceOf(BadRequestError)
      const ok = await proxiedClient.agents.create({ model: 'openai-proxy/gpt-4o-mini' })
      expect(ok.id).toMatch(/^agent-/)
    } finally {
      await proxied.stop()
    }
  })
})

describe('HTTP errors before the stream', () => {
  const cases = [
    { status: 404, type: NotFoundError },
    { status: 409, type: ConflictError },
    { status: 429, type: RateLimitError },
    { status: 500, type: InternalServerError },
  ]

  for (const { status, type } of cases) {
    it(`httpError(${status}) raises ${type.name} from one single request`, async () => {
      const agent = sim.createAgent({ name: `http-${status}` })
      sim.enqueue(httpError(status))
      const error = await client.agents.messages
        .create(agent.id, STREAM_BODY, { maxRetries: 0 })
        .catch((caught) => caught)
      expect(error).toBeInstanceOf(type)
      expect((error as InstanceType<typeof type>).status).toBe(status)
      const sends = sim.requests.filter((request) => request.path.endsWith('/messages'))
      expect(sends).toHaveLength(1)
    })
  }

  it('uses the detail given to httpError', async () => {
    const agent = sim.createAgent({ name: 'detail' })
    sim.enqueue(httpError(409, 'busy elsewhere'))
    const error = await client.agents.messages
      .create(agent.id, STREAM_BODY, { maxRetries: 0 })
      .catch((caught) => caught)
    expect((error as ConflictError).error).toEqual({ detail: 'busy elsewhere' })
  })

  it('refuses a streaming send without the SDK header with 422, like Letta', async () => {
    const agent = sim.createAgent({ name: 'no-sdk' })
    const response = await fetch(`${sim.url}/v1/agents/${agent.id}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(STREAM_BODY),
    })
    expect(response.status).toBe(422)
    expect(await response.json()).toEqual({
      detail: 'streaming=true is only supported for SDK v1.0+ clients.',
    })
    expect((await postRaw(sim, agent.id)).status).toBe(200)
  })

  it('accepts any client when requireSdkHeader is false', async () => {
    const lenient = await startLettaSim({ requireSdkHeader: false })
    try {
      const agent = lenient.createAgent({ name: 'lenient' })
      const response = await fetch(`${lenient.url}/v1/agents/${agent.id}/messages`, {
        method: 'POST',
        body: JSON.stringify(STREAM_BODY),
      })
      expect(response.status).toBe(200)
      await response.text()
    } finally {
      await lenient.stop()
    }
  })
})

describe('conversations', () => {
  it('creates a conversation, streams into it, and cancels its run', async () => {
    const agent = sim.createAgent({ name: 'threads' })
    const conversation = await client.conversations.create({ agent_id: agent.id })
    expect(conversation).toMatchObject({ agent_id: agent.id })
    expect(conversation.id).toMatch(/^conv-/)

    sim.enqueue(tokenStream({ tokens: 3 }))
    const { frames } = await drain(
      await client.conversations.messages.create(conversation.id, {
        messages: [{ role: 'user', content: 'hi' }],
        stream_tokens: true,
      }),
    )
    expect(frames[0]?.message_type).toBe('ping')
    expect(frames.filter((frame) => frame.message_type === 'assistant_message')).toHaveLength(3)

    sim.enqueue(stallAfter(1))
    const stalled = await client.conversations.messages.create(conversation.id, {
      messages: [{ role: 'user', content: 'and now?' }],
      stream_tokens: true,
    })
    const iterator = stalled[Symbol.asyncIterator]()
    const ping = (await iterator.next()).value as Frame
    const busy = await client.conversations.messages
      .create(
        conversation.id,
        { messages: [{ role: 'user', content: 'me too' }] },
        { maxRetries: 0 },
      )
      .catch((caught) => caught)
    expect(busy).toBeInstanceOf(ConflictError)
    expect((busy as ConflictError).error).toMatchObject({ run_id: ping.run_id })

    expect(await client.conversations.cancel(conversation.id)).toEqual({
      [String(ping.run_id)]: 'cancelled',
    })
    const rest = await drain({ [Symbol.asyncIterator]: () => iterator })
    expect(rest.frames.at(-1)).toEqual({ message_type: 'stop_reason', stop_reason: 'cancelled' })
    expect(sim.cancels.at(-1)).toMatchObject({
      agentId: agent.id,
      conversationId: conversation.id,
      runIds: [ping.run_id],
    })
  })

  it('answers 404 for an unknown conversation and for an unknown agent', async () => {
    const error = await client.conversations.messages
      .create('conv-00000000-0000-4000-8000-000000000000', {
        messages: [{ role: 'user', content: 'hi' }],
      })
      .catch((caught) => caught)
    expect(error).toBeInstanceOf(NotFoundError)
    const noAgent = await client.conversations
      .create({ agent_id: MISSING_AGENT })
      .catch((caught) => caught)
    expect(noAgent).toBeInstanceOf(NotFoundError)
  })
})

describe('the /_sim control API', () => {
  const control = (path: string, init?: RequestInit) => fetch(`${sim.url}/_sim${path}`, init)

  it('enqueues a JSON scenario that the next message plays', async () => {
    const agent = sim.createAgent({ name: 'remote' })
    const queued = await control('/enqueue', {
      method: 'POST',
      body: JSON.stringify({ scenario: tokenStream({ tokens: 2, text: (i) => `r${i}` }) }),
    })
    expect(await queued.json()).toEqual({ queued: 1 })
    const text = await (await postRaw(sim, agent.id)).text()
    expect(text).toContain('"content":"r0"')
    expect(text).toContain('"content":"r1"')
  })

  it('reserves a scenario for one agent when agentId is given', async () => {
    const [first, second] = [sim.createAgent({ name: 'one' }), sim.createAgent({ name: 'two' })]
    await control('/enqueue', {
      method: 'POST',
      body: JSON.stringify({
        scenario: tokenStream({ tokens: 1, text: () => 'for-two' }),
        agentId: second.id,
      }),
    })
    sim.enqueue(tokenStream({ tokens: 1, text: () => 'for-anyone' }))
    expect(await (await postRaw(sim, first.id)).text()).toContain('for-anyone')
    expect(await (await postRaw(sim, second.id)).text()).toContain('for-two')
  })

  it('refuses a malformed scenario with 422', async () => {
    const response = await control('/enqueue', {
      method: 'POST',
      body: JSON.stringify({ scenario: [{ wait: 3 }] }),
    })
    expect(response.status).toBe(422)
  })

  it('reports requests, state, deletes agents and resets', async () => {
    const agent = sim.createAgent({ name: 'inspect' })
    sim.enqueue(stallAfter(1))
    const stream = await client.agents.messages.create(agent.id, STREAM_BODY, { maxRetries: 0 })
    const iterator = stream[Symbol.asyncIterator]()
    await iterator.next()
    const state = (await (await control('/state')).json()) as {
      streams: { opened: number; active: number }
      agents: number
    }
    expect(state.streams).toMatchObject({ opened: 1, active: 1 })
    expect(state.agents).toBe(1)
    await client.agents.messages.cancel(agent.id)
    await drain({ [Symbol.asyncIterator]: () => iterator })

    const requests = (await (await control('/requests')).json()) as Array<{
      method: string
      path: string
      headers: Record<string, string>
    }>
    expect(requests.map((request) => `${request.method} ${request.path}`)).toEqual([
      `POST /v1/agents/${agent.id}/messages`,
      `POST /v1/agents/${agent.id}/messages/cancel`,
    ])
    expect(requests[0]?.headers['x-stainless-package-version']).toBe('1.12.1')

    expect((await control(`/agents/${agent.id}`, { method: 'DELETE' })).status).toBe(200)
    expect(sim.agents.size).toBe(0)
    expect((await control(`/agents/${agent.id}`, { method: 'DELETE' })).status).toBe(404)

    await control('/reset', { method: 'POST', headers: SDK_HEADERS })
    expect(sim.requests).toHaveLength(0)
    expect(await eventually(() => sim.streams.opened === 0 && sim.cancels.length === 0)).toBe(true)
  })
})

describe('memory blocks', () => {
  it('lists, reads and modifies an agent’s blocks by label, without checking limits (as Letta)', async () => {
    const agent = sim.createAgent({
      memory_blocks: [
        { label: 'persona', value: 'A tutor.', limit: 50 },
        { label: 'human', value: 'Ada.', limit: 20 },
      ],
    })
    const blocks = await client.agents.blocks.list(agent.id)
    expect(blocks.getPaginatedItems().map((block) => block.label)).toEqual(['persona', 'human'])
    const human = await client.agents.blocks.retrieve('human', { agent_id: agent.id })
    expect(human).toMatchObject({ label: 'human', value: 'Ada.', limit: 20, read_only: false })
    const long = 'x'.repeat(30)
    const updated = await client.agents.blocks.update('human', { agent_id: agent.id, value: long })
    expect(updated.value).toBe(long)
    const missing = await client.agents.blocks
      .retrieve('goals', { agent_id: agent.id })
      .catch((caught) => caught)
    expect(missing).toBeInstanceOf(NotFoundError)
  })
})
