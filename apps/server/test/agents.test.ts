import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { ROUTES, readEvents } from '@letta-openwebui/events'
import { stallAfter, tokenStream } from '@letta-openwebui/letta-sim'
import { startServer } from '../src/server.ts'
import type { Stack } from './utils.ts'
import {
  BRIDGE_KEY,
  chatBody,
  LETTA_KEY,
  post,
  startProxy,
  startStack,
  streamChat,
  summarize,
} from './utils.ts'

const agentCreations = (stack: Stack) =>
  stack.sim.requests.filter((request) => request.method === 'POST' && request.path === '/v1/agents')
/** The agent each message went to (directly, or through one of its conversations). */
const messageTargets = (stack: Stack) =>
  stack.sim.requests
    .filter((request) => request.method === 'POST' && request.path.endsWith('/messages'))
    .map((request) => {
      const id = request.path.split('/')[3] ?? ''
      return stack.sim.conversations.get(id)?.agent_id ?? id
    })

describe('one agent per user and template', () => {
  let stack: Stack
  beforeAll(async () => {
    stack = await startStack()
  })
  afterAll(() => stack.stop())

  it('creates the agent from the tutor template on the first message, tagged for the user', async () => {
    await streamChat(stack.server, chatBody({ user: { id: 'u-first', name: 'Grace' } }))
    const created = agentCreations(stack).at(-1)?.body as Record<string, unknown>
    expect(created.tags).toEqual(expect.arrayContaining(['owui-user:u-first', 'template:tutor']))
    const blocks = created.memory_blocks as Array<{ label: string; value: string }>
    expect(blocks.map((block) => block.label).sort()).toEqual(['human', 'persona'])
    expect(blocks.find((block) => block.label === 'persona')?.value).toContain('patient')
  })

  it('looks the agent up once, then uses the cached id', async () => {
    const before = stack.sim.requests.filter((request) => request.path === '/v1/agents').length
    for (let i = 0; i < 3; i++)
      await streamChat(stack.server, chatBody({ user: { id: 'u-cached' } }))
    const lookups =
      stack.sim.requests.filter((request) => request.path === '/v1/agents').length - before
    expect(lookups).toBe(2) // one list + one create, for three messages
  })

  it('creates exactly one agent when first messages arrive concurrently', async () => {
    const before = agentCreations(stack).length
    stack.sim.enqueue(tokenStream({ tokens: 20, tokensPerSecond: 100 }))
    const results = await Promise.all(
      Array.from({ length: 5 }, () =>
        streamChat(stack.server, chatBody({ user: { id: 'u-race' } })),
      ),
    )
    expect(agentCreations(stack).length - before).toBe(1)
    const outcomes = results.map((events) => summarize(events))
    // Same chat: one answers; the others are told the chat is still answering. All end.
    expect(outcomes.filter((seen) => seen.errors.length === 0)).toHaveLength(1)
    expect(outcomes.filter((seen) => seen.errors[0] === 'chat_busy')).toHaveLength(4)
    expect(outcomes.every((seen) => seen.doneCount === 1)).toBe(true)
  })

  it('gives two users two agents, and routes each message to its sender’s agent', async () => {
    stack.sim.requests.length = 0
    await streamChat(stack.server, chatBody({ user: { id: 'u-alice' } }))
    await streamChat(stack.server, chatBody({ user: { id: 'u-bob' } }))
    await streamChat(stack.server, chatBody({ user: { id: 'u-alice' } }))
    const [alice1, bob, alice2] = messageTargets(stack)
    expect(alice1).toBe(alice2 as string)
    expect(bob).not.toBe(alice1 as string)
    const tagsOf = (agentId: string | undefined) => stack.sim.agents.get(agentId ?? '')?.tags ?? []
    expect(tagsOf(alice1)).toContain('owui-user:u-alice')
    expect(tagsOf(bob)).toContain('owui-user:u-bob')
  })

  it('finds the same agent again after a restart instead of creating another', async () => {
    await streamChat(stack.server, chatBody({ user: { id: 'u-restart' } }))
    const restarted = await startServer({
      port: 0,
      host: '127.0.0.1',
      lettaBaseUrl: stack.sim.url,
      lettaApiKey: LETTA_KEY,
      bridgeApiKey: BRIDGE_KEY,
      logger: { debug() {}, info() {}, warn() {}, error() {} },
    })
    try {
      const before = agentCreations(stack).length
      stack.sim.requests.length = 0
      await streamChat(restarted, chatBody({ user: { id: 'u-restart' } }))
      expect(agentCreations(stack).length).toBe(0)
      expect(before).toBeGreaterThan(0)
      expect(messageTargets(stack)).toHaveLength(1)
    } finally {
      await restarted.stop()
    }
  })

  it('re-provisions an agent that was deleted behind its back', async () => {
    await streamChat(stack.server, chatBody({ user: { id: 'u-deleted' } }))
    const [agentId] = [...stack.sim.agents.values()]
      .filter((agent) => agent.tags?.includes('owui-user:u-deleted'))
      .map((agent) => agent.id)
    stack.sim.deleteAgent(agentId as string)
    const seen = summarize(await streamChat(stack.server, chatBody({ user: { id: 'u-deleted' } })))
    expect(seen.errors).toEqual([])
    expect(seen.answer.length).toBeGreaterThan(0)
    const replacement = [...stack.sim.agents.values()].find((agent) =>
      agent.tags?.includes('owui-user:u-deleted'),
    )
    expect(replacement?.id).toBeDefined()
    expect(replacement?.id).not.toBe(agentId as string)
  })

  it('ignores any agent id smuggled into the request body', async () => {
    const victim = [...stack.sim.agents.keys()][0] as string
    stack.sim.requests.length = 0
    const response = await post(stack.server, ROUTES.chatStream, {
      ...chatBody({ user: { id: 'u-mallory' } }),
      agentId: victim,
    })
    for await (const _ of readEvents(response.body as ReadableStream<Uint8Array>)) {
    }
    const [target] = messageTargets(stack)
    expect(target).toBeDefined()
    expect(target).not.toBe(victim)
    expect(stack.sim.agents.get(target as string)?.tags).toContain('owui-user:u-mallory')
  })

  it('never uses another user’s agent, even when Letta ignores the tag filter', async () => {
    await streamChat(stack.server, chatBody({ user: { id: 'u-owner-alice' } }))
    const alice = [...stack.sim.agents.values()].find((agent) =>
      agent.tags.includes('owui-user:u-owner-alice'),
    )
    // A Letta (or a proxy in front of it) that drops the tags filter returns every agent.
    const careless = startProxy(stack.sim.url, async (request, url) => {
      if (request.method !== 'GET' || url.pathname.replace(/\/$/, '') !== '/v1/agents') return
      url.searchParams.delete('tags')
      return fetch(`${stack.sim.url}/v1/agents?${url.searchParams}`, { headers: request.headers })
    })
    const local = await startStack({ lettaBaseUrl: careless.url })
    try {
      stack.sim.requests.length = 0
      await streamChat(local.server, chatBody({ user: { id: 'u-owner-bob' } }))
      const [target] = messageTargets(stack)
      expect(target).toBeDefined()
      expect(target).not.toBe(alice?.id as string)
      expect(stack.sim.agents.get(target as string)?.tags).toContain('owui-user:u-owner-bob')
      expect(local.logs.some((line) => line.includes('do not belong to the user'))).toBe(true)
    } finally {
      await local.stop()
      careless.stop()
    }
  })

  it('skips an agent tagged for the user by mistake when its metadata names someone else', async () => {
    const mistagged = stack.sim.createAgent({
      name: 'tutor-u-mistagged',
      tags: ['owui-user:u-mistagged', 'template:tutor'],
      metadata: { owui_user_id: 'someone-else', template: 'tutor' },
    })
    stack.sim.requests.length = 0
    await streamChat(stack.server, chatBody({ user: { id: 'u-mistagged' } }))
    const [target] = messageTargets(stack)
    expect(target).not.toBe(mistagged.id)
    expect(stack.sim.agents.get(target as string)?.metadata).toMatchObject({
      owui_user_id: 'u-mistagged',
    })
  })

  it('refuses a second message in the same chat while it is still answering', async () => {
    stack.sim.enqueue(stallAfter(3))
    const first = new AbortController()
    const firstResponse = await post(
      stack.server,
      ROUTES.chatStream,
      chatBody({ user: { id: 'u-busy' } }),
      {
        signal: first.signal,
      },
    )
    const reader = readEvents(firstResponse.body as ReadableStream<Uint8Array>)
    await reader.next()
    const second = summarize(await streamChat(stack.server, chatBody({ user: { id: 'u-busy' } })))
    expect(second.errors).toEqual(['chat_busy'])
    expect(second.doneCount).toBe(1)
    // Another chat of the same person answers meanwhile: chats are separate threads.
    const otherChat = summarize(
      await streamChat(stack.server, chatBody({ user: { id: 'u-busy' }, chatId: 'chat-2' })),
    )
    expect(otherChat.errors).toEqual([])
    expect(otherChat.answer.length).toBeGreaterThan(0)
    first.abort()
  })

  it('refuses a second message without a chat while the agent’s own thread is answering', async () => {
    stack.sim.enqueue(stallAfter(3))
    const first = new AbortController()
    const firstResponse = await post(
      stack.server,
      ROUTES.chatStream,
      chatBody({ user: { id: 'u-busy-api' }, chatId: undefined }),
      { signal: first.signal },
    )
    const reader = readEvents(firstResponse.body as ReadableStream<Uint8Array>)
    await reader.next()
    const second = summarize(
      await streamChat(stack.server, chatBody({ user: { id: 'u-busy-api' }, chatId: undefined })),
    )
    expect(second.errors).toEqual(['agent_busy'])
    expect(second.doneCount).toBe(1)
    first.abort()
  })
})
