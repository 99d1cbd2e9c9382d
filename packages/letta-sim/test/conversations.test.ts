import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'bun:test'
import type Letta from '@letta-ai/letta-client'
import type { LettaSim } from '../src/index.ts'
import { startLettaSim, tokenStream } from '../src/index.ts'
import { drain, sdk } from './helpers.ts'

let sim: LettaSim
let client: Letta

beforeAll(async () => {
  sim = await startLettaSim()
  client = sdk(sim)
})
afterAll(() => sim.stop())
beforeEach(() => sim.reset())

const agent = () =>
  client.agents.create({
    model: 'openai/gpt-4o-mini',
    memory_blocks: [{ label: 'human', value: 'Student facts:' }],
  })

async function send(
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
    await send(a.id, [
      { role: 'user', content: 'carried question' },
      { role: 'assistant', content: 'carried answer' },
      { role: 'user', content: 'first' },
    ])
    await send(b.id, [{ role: 'user', content: 'other chat' }])
    const { frames } = await send(a.id, [{ role: 'user', content: 'second' }])
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
    await send(a.id, [{ role: 'user', content: 'one' }])
    const cutAt = (await client.conversations.retrieve(a.id)).in_context_message_ids?.at(-1)
    await send(a.id, [{ role: 'user', content: 'two' }])
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
    await send(a.id, [{ role: 'user', content: 'before recompile' }])
    await client.conversations.recompile(a.id)
    await send(a.id, [{ role: 'user', content: 'after recompile' }])
    const fresh = await client.conversations.create({ agent_id: agentId })
    await send(fresh.id, [{ role: 'user', content: 'new conversation' }])
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
    await send(a.id, [{ role: 'user', content: 'hi' }])
    const runs = (await (await fetch(`${sim.url}/_sim/runs`)).json()) as unknown[]
    expect(runs).toEqual([
      {
        id: expect.stringMatching(/^run-/),
        agentId,
        conversationId: a.id,
        status: 'completed',
        messages: [{ role: 'user', text: 'hi' }],
        memory: { human: 'Student facts:' },
      },
    ])
  })
})
