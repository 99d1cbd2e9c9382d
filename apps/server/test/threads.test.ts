import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ChatRequest, HistoryMessage } from '@letta-openwebui/events'
import { fingerprint, ROUTES, readEvents } from '@letta-openwebui/events'
import {
  dropAfter,
  reasoningToolAnswer,
  stallAfter,
  threadSends,
  tokenStream,
} from '@letta-openwebui/letta-sim'
import type { Stack } from './utils.ts'
import {
  BRIDGE_KEY,
  chatBody,
  eventually,
  post,
  startProxy,
  startStack,
  streamChat,
  summarize,
} from './utils.ts'

/** One visible message of a chat, as the pipe sends it. */
const shown = (role: 'user' | 'assistant', text: string): HistoryMessage => ({
  role,
  fp: fingerprint(text),
  text,
})

/** Where each message of a chat went, and what it carried. */
const sends = (stack: Stack) => threadSends(stack.sim.requests)

/** The texts the newest run was given: what the agent saw of its thread. */
const lastContext = (stack: Stack) =>
  stack.sim
    .runs()
    .at(-1)
    ?.messages.map((message) => message.text)

/** A person's chat as OpenWebUI shows it: what they see is what the next message sends. */
class Chat {
  shown: HistoryMessage[] = []
  constructor(
    private readonly stack: Stack,
    readonly base: Partial<ChatRequest>,
  ) {}

  /** The bridge the chat talks to (another one after a restart). */
  server: { url: string } | undefined

  async send(text: string, history = this.shown) {
    const server = this.server ?? this.stack.server
    const seen = summarize(
      await streamChat(server, chatBody({ ...this.base, message: text, history })),
    )
    this.shown = [...history, shown('user', text), shown('assistant', seen.answer)]
    return seen
  }

  /** Regenerate the last answer: the history is everything before the last user message. */
  regenerate() {
    const last = this.shown.at(-2)
    if (!last?.text) throw new Error('nothing to regenerate')
    return this.send(last.text, this.shown.slice(0, -2))
  }

  /** Edit the user message at `index` (of shown): everything after it disappears. */
  edit(index: number, text: string) {
    return this.send(text, this.shown.slice(0, index))
  }
}

describe('chats are threads', () => {
  let stack: Stack
  let dataDir: string
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'bridge-threads-'))
    stack = await startStack({ dataDir })
  })
  afterAll(async () => {
    await stack.stop()
    rmSync(dataDir, { recursive: true, force: true })
  })

  it('gives each chat its own conversation on the user’s one agent, and continues it', async () => {
    stack.sim.requests.length = 0
    const a = new Chat(stack, { user: { id: 'u-two-chats' }, chatId: 'chat-a' })
    const b = new Chat(stack, { user: { id: 'u-two-chats' }, chatId: 'chat-b' })
    await a.send('My name is Ada.')
    await b.send('What is a limit?')
    await a.send('What is my name?')
    const [a1, b1, a2] = sends(stack)
    expect(a1?.thread).toStartWith('conv-')
    expect(a2?.thread).toBe(a1?.thread as string)
    expect(b1?.thread).toStartWith('conv-')
    expect(b1?.thread).not.toBe(a1?.thread as string)
    // Chat B's thread never got chat A's words; A's second message carries nothing again.
    expect(b1?.messages).toEqual(['user: What is a limit?'])
    expect(a2?.messages).toEqual(['user: What is my name?'])
    const agents = new Set(
      [a1, b1].map((send) => stack.sim.conversations.get(send?.thread ?? '')?.agent_id),
    )
    expect(agents.size).toBe(1)
  })

  it('streams two chats of one person at the same time', async () => {
    stack.sim.enqueue(tokenStream({ tokens: 30, tokensPerSecond: 100 }))
    stack.sim.enqueue(tokenStream({ tokens: 30, tokensPerSecond: 100 }))
    const [one, two] = await Promise.all([
      new Chat(stack, { user: { id: 'u-parallel' }, chatId: 'p-1' }).send('first chat'),
      new Chat(stack, { user: { id: 'u-parallel' }, chatId: 'p-2' }).send('second chat'),
    ])
    expect(one?.errors).toEqual([])
    expect(two?.errors).toEqual([])
    expect(one?.answer).toContain('token29')
    expect(two?.answer).toContain('token29')
  })

  it('regenerates from exactly what the chat shows: a new thread with the kept turns, the message once', async () => {
    const chat = new Chat(stack, { user: { id: 'u-regen' }, chatId: 'regen' })
    await chat.send('Define a derivative.')
    const firstThread = sends(stack).at(-1)?.thread
    await chat.send('Give an example.')
    stack.sim.requests.length = 0
    const again = await chat.regenerate()
    expect(again.errors).toEqual([])
    const [send] = sends(stack)
    // Letta 0.16 cannot cut a thread: a new conversation carries the kept turns' text.
    expect(send?.thread).toStartWith('conv-')
    expect(send?.thread).not.toBe(firstThread as string)
    expect(send?.messages).toEqual([
      'user: Define a derivative.',
      `assistant: ${chat.shown[1]?.text}`,
      'user: Give an example.',
    ])
    // What the agent was given: the kept turns and the message once, never the replaced answer.
    expect(lastContext(stack)).toEqual([
      'Define a derivative.',
      chat.shown[1]?.text ?? '',
      'Give an example.',
    ])
    // Letta 0.16 forks whole threads: the bridge tried once, saw it, and deleted the copy.
    const forks = stack.sim.requests.filter((request) => request.path.endsWith('/fork'))
    expect(forks.length).toBeLessThanOrEqual(1)
    // And the chat goes on in the new thread, carrying nothing twice.
    stack.sim.requests.length = 0
    await chat.send('Thanks!')
    expect(sends(stack)).toEqual([{ thread: send?.thread as string, messages: ['user: Thanks!'] }])
  })

  it('answers an edited earlier message from the turns before it and the edit, nothing after', async () => {
    const chat = new Chat(stack, { user: { id: 'u-edit' }, chatId: 'edit' })
    await chat.send('I study physics.')
    await chat.send('Explain momentum.')
    await chat.send('And energy?')
    stack.sim.requests.length = 0
    await chat.edit(2, 'Explain torque.')
    const [send] = sends(stack)
    expect(send?.messages).toEqual([
      'user: I study physics.',
      `assistant: ${chat.shown[1]?.text}`,
      'user: Explain torque.',
    ])
  })

  it('says once that memory written during a replaced answer stays, and only then', async () => {
    const chat = new Chat(stack, { user: { id: 'u-notice' }, chatId: 'notice' })
    await chat.send('Hello')
    stack.sim.enqueue(
      reasoningToolAnswer({
        reasoning: 'Noting the name.',
        tool: { name: 'core_memory_append', arguments: { content: 'Ada' }, result: 'ok' },
        answer: 'Noted, Ada!',
      }),
    )
    await chat.send('Remember: my name is Ada.')
    // Regenerating the memory-writing answer: told once.
    const history = chat.shown.slice(0, -2)
    const events = await streamChat(
      stack.server,
      chatBody({
        user: { id: 'u-notice' },
        chatId: 'notice',
        message: 'Remember: my name is Ada.',
        history,
      }),
    )
    const said = events.filter((event) => event.event === 'notice')
    expect(said).toHaveLength(1)
    expect(said[0]?.data).toEqual({ text: expect.stringContaining('/memory') })
    expect(events.findIndex((event) => event.event === 'notice')).toBeLessThan(
      events.findIndex((event) => event.event === 'answer.delta'),
    )
    // Regenerating an answer that wrote nothing: not a word about memory.
    chat.shown = [
      ...history,
      shown('user', 'Remember: my name is Ada.'),
      shown('assistant', summarize(events).answer),
    ]
    await chat.send('Next question')
    const quiet = await streamChat(
      stack.server,
      chatBody({
        user: { id: 'u-notice' },
        chatId: 'notice',
        message: 'Next question',
        history: chat.shown.slice(0, -2),
      }),
    )
    expect(quiet.filter((event) => event.event === 'notice')).toEqual([])
  })

  it('keeps a chat’s conversation across a bridge restart', async () => {
    const chat = new Chat(stack, { user: { id: 'u-restart' }, chatId: 'restart' })
    await chat.send('Before the restart')
    const before = sends(stack).at(-1)?.thread
    // A fresh bridge process: nothing cached, only the data directory.
    const fresh = await restarted(stack, dataDir)
    try {
      chat.server = fresh
      stack.sim.requests.length = 0
      await chat.send('After the restart')
      expect(sends(stack)).toEqual([
        { thread: before as string, messages: ['user: After the restart'] },
      ])
    } finally {
      await fresh.stop()
    }
  })

  it('tells a second bridge on the same data that the chat is still answering (Letta’s 409)', async () => {
    stack.sim.enqueue(stallAfter(2))
    const stop = new AbortController()
    const response = await post(
      stack.server,
      ROUTES.chatStream,
      chatBody({ user: { id: 'u-replicas' }, chatId: 'shared' }),
      { signal: stop.signal },
    )
    await readEvents(response.body as ReadableStream<Uint8Array>).next()
    const replica = await restarted(stack, dataDir)
    try {
      const second = summarize(
        await streamChat(replica, chatBody({ user: { id: 'u-replicas' }, chatId: 'shared' })),
      )
      expect(second.errors).toEqual(['chat_busy'])
      expect(second.doneCount).toBe(1)
    } finally {
      stop.abort()
      await replica.stop()
    }
  })

  it('shows a /memory edit to every chat of the agent at its next turn (recompiled)', async () => {
    const user = { id: 'u-recompile' }
    const chat = new Chat(stack, { user, chatId: 'recompile' })
    await chat.send('Hello')
    const edit = await post(stack.server, ROUTES.memoryUpdate, {
      protocolVersion: chatBody().protocolVersion,
      user,
      label: 'human',
      value: 'Likes tea',
    })
    expect(edit.status).toBe(200)
    await chat.send('What do I like?')
    expect(stack.sim.runs().at(-1)?.memory.human).toBe('Likes tea')
  })

  it('answers a message without a chat (API use) in the agent’s own thread', async () => {
    stack.sim.requests.length = 0
    const seen = summarize(
      await streamChat(stack.server, chatBody({ user: { id: 'u-api' }, chatId: undefined })),
    )
    expect(seen.errors).toEqual([])
    expect(sends(stack).map((send) => send.thread)).toEqual([
      expect.stringMatching(/^agent:agent-/),
    ])
    expect(stack.sim.conversations.size).toBeGreaterThan(0)
    expect(
      [...stack.sim.conversations.values()].some(
        (conversation) => conversation.agent_id === sends(stack)[0]?.thread.slice(6),
      ),
    ).toBe(false)
  })

  it('carries what the person saw after a turn that failed, into the same thread', async () => {
    const chat = new Chat(stack, { user: { id: 'u-failed' }, chatId: 'failed' })
    await chat.send('First question')
    const thread = sends(stack).at(-1)?.thread
    stack.sim.enqueue(dropAfter(3))
    const cut = await chat.send('Second question')
    expect(cut.errors).toEqual(['stream_interrupted'])
    stack.sim.requests.length = 0
    await chat.send('Third question')
    const [send] = sends(stack)
    expect(send?.thread).toBe(thread as string)
    expect(send?.messages).toEqual(
      ['user: Second question', `assistant: ${chat.shown[3]?.text}`, 'user: Third question'].filter(
        (line) => line !== 'assistant: ',
      ),
    )
  })

  it('stops only its own chat’s run when two chats of one agent are answering', async () => {
    const open = async (chatId: string) => {
      stack.sim.enqueue(stallAfter(2))
      const stop = new AbortController()
      const response = await post(
        stack.server,
        ROUTES.chatStream,
        chatBody({ user: { id: 'u-stop' }, chatId }),
        { signal: stop.signal },
      )
      await readEvents(response.body as ReadableStream<Uint8Array>).next()
      return { stop, thread: sends(stack).at(-1)?.thread as string }
    }
    const kept = await open('keeps-going')
    const stopped = await open('stopped')
    stack.sim.cancels.length = 0
    stopped.stop.abort()
    expect(await eventually(() => stack.sim.cancels.length > 0)).toBe(true)
    const run = async (id: string) =>
      (await (await fetch(`${stack.sim.url}/v1/runs/${id}`)).json()) as {
        status: string
        conversation_id: string
      }
    const cancelled = await Promise.all(
      stack.sim.cancels.flatMap((cancel) => cancel.runIds).map(run),
    )
    expect(cancelled.map((each) => each.conversation_id)).toEqual([stopped.thread])
    const active = (await (
      await fetch(`${stack.sim.url}/v1/runs?active=true&conversation_id=${kept.thread}`)
    ).json()) as unknown[]
    expect(active).toHaveLength(1)
    kept.stop.abort()
  })
})

describe('a Letta that forks at a message (Letta Cloud)', () => {
  it('regenerates in a fork cut after the last kept answer, carrying nothing', async () => {
    const stack = await startStack({}, { forkAtMessage: true })
    try {
      const chat = new Chat(stack, { user: { id: 'u-cloud' }, chatId: 'cloud' })
      await chat.send('Define a derivative.')
      const first = sends(stack).at(-1)?.thread
      await chat.send('Give an example.')
      stack.sim.requests.length = 0
      await chat.regenerate()
      const [send] = sends(stack)
      expect(send?.thread).not.toBe(first as string)
      expect(send?.messages).toEqual(['user: Give an example.'])
      expect(lastContext(stack)).toEqual([
        'Define a derivative.',
        chat.shown[1]?.text ?? '',
        'Give an example.',
      ])
    } finally {
      await stack.stop()
    }
  })
})

describe('a Letta without conversations (older than 0.16.2)', () => {
  it('keeps every chat in the agent’s own thread and says so once at /health', async () => {
    const stack = await startStack()
    // Letta 0.16.1 has no /v1/conversations routes: FastAPI answers them with a bare 404.
    const old = startProxy(stack.sim.url, (_request, url) =>
      url.pathname.startsWith('/v1/conversations')
        ? Response.json({ detail: 'Not Found' }, { status: 404 })
        : undefined,
    )
    const bridge = await restarted(stack, undefined, old.url)
    try {
      stack.sim.requests.length = 0
      const first = summarize(
        await streamChat(bridge, chatBody({ user: { id: 'u-old' }, chatId: 'x' })),
      )
      const second = summarize(
        await streamChat(bridge, chatBody({ user: { id: 'u-old' }, chatId: 'y' })),
      )
      expect(first.errors).toEqual([])
      expect(second.errors).toEqual([])
      const threads = sends(stack).map((send) => send.thread)
      expect(threads).toHaveLength(2)
      expect(threads[0]).toStartWith('agent:')
      expect(threads[1]).toBe(threads[0] as string)
      const health = (await (
        await fetch(`${bridge.url}${ROUTES.health}`, {
          headers: { authorization: `Bearer ${BRIDGE_KEY}` },
        })
      ).json()) as { status: string; letta: { conversations?: boolean; warnings: string[] } }
      expect(health.status).toBe('ok')
      expect(health.letta.conversations).toBe(false)
      expect(health.letta.warnings).toEqual([expect.stringContaining('no conversations')])
      const warned = stack.logs.filter((line) => line.includes('no conversations'))
      expect(warned.length).toBeLessThanOrEqual(1)
    } finally {
      await bridge.stop()
      old.stop()
      await stack.stop()
    }
  })
})

/**
 * Another bridge process on the same Letta (or another address of it) and data directory:
 * nothing cached, only what the data directory holds — a restart, or a second replica.
 */
async function restarted(stack: Stack, dataDir?: string, lettaBaseUrl = stack.sim.url) {
  const { startServer } = await import('../src/server.ts')
  const { createLogger } = await import('../src/log.ts')
  return startServer({
    port: 0,
    host: '127.0.0.1',
    lettaBaseUrl,
    bridgeApiKey: BRIDGE_KEY,
    dataDir,
    logger: createLogger('debug', { write: (line) => stack.logs.push(line) }),
  })
}
