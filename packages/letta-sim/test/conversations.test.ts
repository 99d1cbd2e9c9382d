/**
 * Conversations: separate threads on one agent (each run given its own thread, forks,
 * recompiles), their stored messages as Letta lists them, and the routes that manage them.
 */
import { describe, expect, it } from 'bun:test'
import type Letta from '@letta-ai/letta-client'
import type { LettaSim } from '../src/index.ts'
import { reasoningToolAnswer, startLettaSim, tokenStream } from '../src/index.ts'
import { drain, sdk, useSim } from './helpers.ts'

let sim: LettaSim
let client: Letta
useSim((started) => ({ sim, client } = started))

const agent = () =>
  client.agents.create({
    model: 'openai/gpt-4o-mini',
    memory_blocks: [{ label: 'human', value: 'Student facts:' }],
  })

async function sendMessages(
  conversationId: string,
  messages: Array<{ role: 'user' | 'assistant'; content: string }>,
) {
  sim.enqueue(tokenStream({ tokens: 2, text: (i) => `answer${i} ` }))
  const stream = await client.conversations.messages.create(conversationId, {
    messages,
    stream_tokens: true,
  })
  return drain(stream)
}

type Listed = Record<string, unknown> & { id: string; message_type: string }

async function sendText(conversationId: string, content: string, otid?: string) {
  sim.enqueue(tokenStream({ tokens: 1, text: () => `re: ${content}` }))
  return drain(
    await client.conversations.messages.create(conversationId, {
      messages: [{ role: 'user', content, ...(otid ? { otid } : {}) }],
    }),
  )
}

async function get<T>(path: string): Promise<{ status: number; body: T }> {
  const response = await fetch(`${sim.url}${path}`)
  return { status: response.status, body: (await response.json()) as T }
}

async function call<T>(method: string, path: string, body?: unknown) {
  const response = await fetch(`${sim.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  return { status: response.status, body: (await response.json()) as T }
}

const messagesOf = async (conversationId: string, query = '') =>
  (await get<Listed[]>(`/v1/conversations/${conversationId}/messages${query}`)).body

describe('conversations hold their own threads', () => {
  it('gives each run its thread: earlier turns, several input messages in order, nothing of other threads', async () => {
    const { id: agentId } = await agent()
    const a = await client.conversations.create({
      agent_id: agentId,
      summary: 'owui-chat:a',
    } as never)
    const b = await client.conversations.create({ agent_id: agentId })
    expect(a.summary).toBe('owui-chat:a')
    expect(a.in_context_message_ids).toEqual([])
    await sendMessages(a.id, [
      { role: 'user', content: 'carried question' },
      { role: 'assistant', content: 'carried answer' },
      { role: 'user', content: 'first' },
    ])
    await sendMessages(b.id, [{ role: 'user', content: 'other chat' }])
    const { frames } = await sendMessages(a.id, [{ role: 'user', content: 'second' }])
    const [runA1, runB, runA2] = sim.runs()
    expect(runA1?.messages).toEqual([
      { role: 'user', text: 'carried question' },
      { role: 'assistant', text: 'carried answer' },
      { role: 'user', text: 'first' },
    ])
    expect(runB?.messages).toEqual([{ role: 'user', text: 'other chat' }])
    expect(runA2?.messages.map((message) => message.text)).toEqual([
      'carried question',
      'carried answer',
      'first',
      'answer0 answer1 ',
      'second',
    ])
    // The stored answer has the id its frames carried, and the conversation lists it.
    const answerId = frames.find((frame) => frame.message_type === 'assistant_message')?.id
    const listed = await client.conversations.messages.list(a.id, { order: 'asc' })
    const items = listed.getPaginatedItems() as Array<{ id: string; message_type: string }>
    expect(items.map((item) => item.message_type)).toEqual([
      'system_message',
      'user_message',
      'assistant_message',
      'user_message',
      'assistant_message',
      'user_message',
      'assistant_message',
    ])
    expect(items.at(-1)?.id).toBe(answerId as string)
    expect((await client.conversations.retrieve(a.id)).in_context_message_ids).toEqual(
      items.map((item) => item.id),
    )
  })

  it('forks the whole thread like Letta 0.16.x, ignoring message_id', async () => {
    const { id: agentId } = await agent()
    const a = await client.conversations.create({ agent_id: agentId })
    await sendMessages(a.id, [{ role: 'user', content: 'one' }])
    const cutAt = (await client.conversations.retrieve(a.id)).in_context_message_ids?.at(-1)
    await sendMessages(a.id, [{ role: 'user', content: 'two' }])
    const fork = await client.conversations.fork(a.id, { message_id: cutAt })
    expect(fork.id).not.toBe(a.id)
    // 0.16.8 answers a fork with no in-context ids (recorded); the copy shows on retrieve.
    expect(fork.in_context_message_ids).toEqual([])
    const copy = (await client.conversations.retrieve(fork.id)).in_context_message_ids ?? []
    expect(copy).toHaveLength(5)
    expect(copy.at(-1)).not.toBe(cutAt as string)
  })

  it('cuts a fork at message_id like Letta Cloud, with forkAtMessage', async () => {
    const cloud = await startLettaSim({ forkAtMessage: true })
    try {
      const cloudClient = sdk(cloud)
      const { id: agentId } = await cloudClient.agents.create({ model: 'openai/gpt-4o-mini' })
      const a = await cloudClient.conversations.create({ agent_id: agentId })
      for (const content of ['one', 'two']) {
        cloud.enqueue(tokenStream({ tokens: 1 }))
        await drain(
          await cloudClient.conversations.messages.create(a.id, {
            messages: [{ role: 'user', content }],
          }),
        )
      }
      const ids = (await cloudClient.conversations.retrieve(a.id)).in_context_message_ids ?? []
      const fork = await cloudClient.conversations.fork(a.id, { message_id: ids[2] })
      expect(fork.in_context_message_ids).toHaveLength(3)
      expect(fork.in_context_message_ids?.at(-1)).toBe(ids[2] as string)
      expect(fork.in_context_message_ids?.[0]).not.toBe(ids[0] as string)
    } finally {
      await cloud.stop()
    }
  })

  it('compiles a conversation’s memory at creation and on recompile only, like Letta 0.16.8', async () => {
    const { id: agentId } = await agent()
    const a = await client.conversations.create({ agent_id: agentId })
    await client.agents.blocks.update('human', { agent_id: agentId, value: 'Likes tea' })
    await sendMessages(a.id, [{ role: 'user', content: 'before recompile' }])
    await client.conversations.recompile(a.id)
    await sendMessages(a.id, [{ role: 'user', content: 'after recompile' }])
    const fresh = await client.conversations.create({ agent_id: agentId })
    await sendMessages(fresh.id, [{ role: 'user', content: 'new conversation' }])
    expect(sim.runs().map((run) => run.memory.human)).toEqual([
      'Student facts:',
      'Likes tea',
      'Likes tea',
    ])
  })

  it('deletes a conversation: gone from retrieve', async () => {
    const { id: agentId } = await agent()
    const a = await client.conversations.create({ agent_id: agentId })
    await client.conversations.delete(a.id)
    const status = await client.conversations.retrieve(a.id).then(
      () => 200,
      (error: { status?: number }) => error.status,
    )
    expect(status).toBe(404)
  })

  it('answers like a Letta older than 0.16.2 when conversations are off', async () => {
    const old = await startLettaSim({ conversations: false })
    try {
      const answer = await fetch(`${old.url}/v1/conversations/?limit=1`)
      expect(answer.status).toBe(404)
      expect(await answer.json()).toEqual({ detail: 'Not Found' })
    } finally {
      await old.stop()
    }
  })

  it('shows runs with their thread and memory in the control API', async () => {
    const { id: agentId } = await agent()
    const a = await client.conversations.create({ agent_id: agentId })
    await sendMessages(a.id, [{ role: 'user', content: 'hi' }])
    const runs = (await (await fetch(`${sim.url}/_sim/runs`)).json()) as unknown[]
    expect(runs).toEqual([
      {
        id: expect.stringMatching(/^run-/),
        agentId,
        conversationId: a.id,
        status: 'completed',
        stopReason: 'end_turn',
        messages: [{ role: 'user', text: 'hi' }],
        memory: { human: 'Student facts:' },
        approvals: [],
        toolReturns: [],
        images: [],
      },
    ])
  })
})

describe('a conversation’s stored messages', () => {
  it('stores a tool turn under the streamed ids: reasoning and tool call share one, the result has its own', async () => {
    const { id: agentId } = await agent()
    const conversation = await client.conversations.create({ agent_id: agentId })
    sim.enqueue(
      reasoningToolAnswer({
        reasoning: 'Look it up.',
        tool: { name: 'web_search', arguments: { query: 'tea' }, result: 'Tea is a drink.' },
        answer: 'Tea is a drink.',
      }),
    )
    const { frames } = await drain(
      await client.conversations.messages.create(conversation.id, {
        messages: [{ role: 'user', content: 'What is tea?' }],
      }),
    )
    const streamed = frames.filter((frame) => 'id' in frame)
    const listed = await messagesOf(conversation.id, '?order=asc')
    expect(listed.map((message) => message.message_type)).toEqual([
      'system_message',
      'user_message',
      'reasoning_message',
      'tool_call_message',
      'tool_return_message',
      'assistant_message',
    ])
    const idOf = (type: string) => streamed.find((frame) => frame.message_type === type)?.id
    expect(listed.slice(2).map((message) => message.id)).toEqual([
      idOf('reasoning_message'),
      idOf('tool_call_message'),
      idOf('tool_return_message'),
      idOf('assistant_message'),
    ] as string[])
    expect(listed[2]?.id).toBe(listed[3]?.id as string)
    expect(listed[2]?.reasoning).toBe('Look it up.')
    expect(listed[3]?.tool_call).toMatchObject({ name: 'web_search', arguments: '{"query":"tea"}' })
    expect(listed[4]).toMatchObject({ name: 'web_search', tool_return: 'Tea is a drink.' })
    expect(listed[5]?.content).toBe('Tea is a drink.')
    // The run's context is the conversation: no reasoning, tool calls or results.
    await sendText(conversation.id, 'And coffee?')
    expect(sim.runs().at(-1)?.messages).toEqual([
      { role: 'user', text: 'What is tea?' },
      { role: 'assistant', text: 'Tea is a drink.' },
      { role: 'user', text: 'And coffee?' },
    ])
  })

  it('ties an input to its run: its otid, the run id and the run’s first step', async () => {
    const { id: agentId } = await agent()
    const conversation = await client.conversations.create({ agent_id: agentId })
    const otid = crypto.randomUUID()
    const { frames } = await sendText(conversation.id, 'Hi', otid)
    const [, user, answer] = await messagesOf(conversation.id, '?order=asc')
    const answerFrame = frames.find((frame) => frame.message_type === 'assistant_message')
    expect(user).toMatchObject({
      otid,
      run_id: answerFrame?.run_id as string,
      step_id: answerFrame?.step_id as string,
    })
    expect(answer?.run_id).toBe(answerFrame?.run_id as string)
    expect(sim.runs()[0]?.id).toBe(answerFrame?.run_id as string)
  })

  it('pages like Letta: newest first, limit before splitting, cursors by position whatever the order, type filter', async () => {
    const { id: agentId } = await agent()
    const conversation = await client.conversations.create({ agent_id: agentId })
    await sendText(conversation.id, 'one')
    await sendText(conversation.id, 'two')
    const all = await messagesOf(conversation.id, '?order=asc')
    const texts = (messages: Listed[]) => messages.map((message) => message.content)
    expect(texts(all).slice(1)).toEqual(['one', 're: one', 'two', 're: two'])
    expect(texts(await messagesOf(conversation.id, '?limit=2'))).toEqual(['re: two', 'two'])
    const middle = all[2]?.id
    expect(texts(await messagesOf(conversation.id, `?order=asc&after=${middle}`))).toEqual([
      'two',
      're: two',
    ])
    // `after` is a position in the thread, so newest first still lists what comes later.
    expect(texts(await messagesOf(conversation.id, `?after=${middle}`))).toEqual(['re: two', 'two'])
    expect(texts(await messagesOf(conversation.id, `?order=asc&before=${middle}`))).toHaveLength(2)
    const users = await messagesOf(
      conversation.id,
      '?order=asc&include_return_message_types=user_message',
    )
    expect(texts(users)).toEqual(['one', 'two'])
  })

  it('lists the agent’s own thread in agent-direct mode (default + agent_id)', async () => {
    const { id: agentId } = await agent()
    sim.enqueue(tokenStream({ tokens: 1, text: () => 'direct answer' }))
    await drain(
      await client.agents.messages.create(agentId, {
        messages: [{ role: 'user', content: 'direct' }],
        streaming: true,
      }),
    )
    const listed = await messagesOf('default', `?agent_id=${agentId}&order=asc`)
    expect(listed.map((message) => message.content)).toEqual([
      expect.stringContaining('Student facts:'),
      'direct',
      'direct answer',
    ])
  })
})

describe('managing conversations', () => {
  it('lists in-context ids on retrieve only, like Letta 0.16.8 (create, list and update answer [])', async () => {
    const { id: agentId } = await agent()
    const created = await client.conversations.create({ agent_id: agentId })
    await sendText(created.id, 'Hi')
    const retrieved = await client.conversations.retrieve(created.id)
    expect(retrieved.in_context_message_ids).toHaveLength(3)
    const listed = await get<Array<{ in_context_message_ids: string[] }>>(
      `/v1/conversations?agent_id=${agentId}`,
    )
    expect(listed.body.map((conversation) => conversation.in_context_message_ids)).toEqual([[]])
    const updated = await client.conversations.update(created.id, { summary: 'renamed' } as never)
    expect(updated.in_context_message_ids).toEqual([])
  })

  it('updates summary and model; a null leaves a field as it is', async () => {
    const { id: agentId } = await agent()
    const { id } = await client.conversations.create({
      agent_id: agentId,
      summary: 'owui-chat:1',
    } as never)
    const renamed = await call<{ summary: string; model: string | null }>(
      'PATCH',
      `/v1/conversations/${id}`,
      { summary: 'owui-chat:2', model: 'openai/gpt-4o' },
    )
    expect(renamed).toMatchObject({
      status: 200,
      body: { summary: 'owui-chat:2', model: 'openai/gpt-4o' },
    })
    await call('PATCH', `/v1/conversations/${id}`, { summary: null })
    expect((await client.conversations.retrieve(id)).summary).toBe('owui-chat:2')
    const missing = await call(
      'PATCH',
      '/v1/conversations/conv-00000000-0000-4000-8000-000000000000',
      {},
    )
    expect(missing.status).toBe(404)
  })

  it('lists newest first, 50 a page, with asc, limit, after, agent_id, summary_search and order_by', async () => {
    const { id: agentId } = await agent()
    const { id: otherAgent } = await agent()
    const ids: string[] = []
    for (const summary of ['owui-chat:a', 'owui-chat:b', 'other', 'owui-chat:c']) {
      ids.push((await client.conversations.create({ agent_id: agentId, summary } as never)).id)
    }
    await client.conversations.create({ agent_id: otherAgent })
    const list = async (query: string) =>
      (await get<Array<{ id: string }>>(`/v1/conversations?agent_id=${agentId}${query}`)).body.map(
        (conversation) => ids.indexOf(conversation.id),
      )
    expect(await list('')).toEqual([3, 2, 1, 0])
    expect(await list('&order=asc&limit=2')).toEqual([0, 1])
    expect(await list(`&order=asc&after=${ids[1]}`)).toEqual([2, 3])
    expect(await list(`&after=${ids[1]}`)).toEqual([0])
    expect(await list('&summary_search=owui-chat:')).toEqual([3, 1, 0])
    // Only conversation 1 has a message: it comes first, the others after it.
    await sendText(ids[1] as string, 'Hi')
    expect((await list('&order_by=last_message_at'))[0]).toBe(1)
    expect((await list('&order_by=last_message_at&order=asc'))[0]).toBe(1)
    expect((await list('&order_by=last_run_completion'))[0]).toBe(1)
    expect((await get('/v1/conversations')).body).toHaveLength(5)
    await client.conversations.delete(ids[0] as string)
    expect(await list('')).toEqual([3, 2, 1])
  })

  it('lists nothing for a deleted conversation’s messages, like Letta 0.16.8 (no 404)', async () => {
    const { id: agentId } = await agent()
    const { id } = await client.conversations.create({ agent_id: agentId })
    await sendText(id, 'Hi')
    await client.conversations.delete(id)
    expect(await get(`/v1/conversations/${id}/messages`)).toEqual({ status: 200, body: [] })
    expect((await call('DELETE', `/v1/conversations/${id}`)).status).toBe(404)
  })

  it('recompiles: returns the prompt with today’s memory, stores it unless dry_run, agent-direct by body', async () => {
    const { id: agentId } = await agent()
    const { id } = await client.conversations.create({ agent_id: agentId })
    await client.agents.blocks.update('human', { agent_id: agentId, value: 'Likes tea' })
    const dry = await call<string>('POST', `/v1/conversations/${id}/recompile?dry_run=true`)
    expect(dry.body).toContain('Likes tea')
    await sendText(id, 'after a dry run')
    const system = async () => (await messagesOf(id, '?order=asc'))[0]?.content
    expect(await system()).toContain('Student facts:')
    const prompt = await client.conversations.recompile(id)
    expect(prompt).toContain('Likes tea')
    expect(await system()).toBe(prompt)
    await sendText(id, 'after recompile')
    expect(sim.runs().map((run) => run.memory.human)).toEqual(['Student facts:', 'Likes tea'])
    const direct = await call<string>('POST', '/v1/conversations/default/recompile', {
      agent_id: agentId,
    })
    expect(direct).toEqual({ status: 200, body: expect.stringContaining('Likes tea') })
  })

  it('forks with the source’s model', async () => {
    const { id: agentId } = await agent()
    const { id } = await client.conversations.create({
      agent_id: agentId,
      model: 'openai/gpt-4o',
    })
    const fork = await client.conversations.fork(id)
    expect(fork.model).toBe('openai/gpt-4o')
  })
})

describe('an agent’s own thread', () => {
  it('starts with its system prompt at creation, like Letta', async () => {
    const { id: agentId } = await agent()
    const seeded = sim.createAgent()
    for (const id of [agentId, seeded.id]) {
      const listed = await messagesOf('default', `?agent_id=${id}`)
      expect(listed.map((message) => message.message_type)).toEqual(['system_message'])
    }
  })
})
