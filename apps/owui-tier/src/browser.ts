import type { Socket } from 'socket.io-client'
import { io } from 'socket.io-client'
import type { FileItem, ModelEntry, OpenWebUIApi } from './openwebui-api.ts'

/** One `events` message from OpenWebUI's socket: what the browser renders. */
export type ChatEvent = {
  chat_id: string
  message_id: string
  data: { type: string; data?: unknown }
}

export type BrowserTurn = {
  chatId: string
  messageId: string
  /** The user message this answer answers. */
  userMessageId: string
  /** The answer the user message follows (null: the chat's first message). */
  parentId: string | null
  taskIds: string[]
  /** Every socket event for this chat since this turn was sent, in arrival order. */
  readonly events: ChatEvent[]
}

export type SendOptions = {
  model: ModelEntry
  text: string
  /**
   * A follow-up in an existing chat: the answer it follows. An edit of a later message is a
   * follow-up of the answer before it (OpenWebUI makes it a sibling of the edited message).
   */
  after?: BrowserTurn
  /** Regenerate this turn's answer: its user message again, a new sibling answer. */
  regenerate?: BrowserTurn
  /** An edit of the first message of this turn's chat: a new first message, without a parent. */
  editFirstOf?: BrowserTurn
  /** title_generation, tags_generation, follow_up_generation: what the browser asks for. */
  backgroundTasks?: Record<string, boolean>
  /** Files and images attached to this message (uploaded with `OpenWebUIApi.upload`). */
  attach?: FileItem[]
  /**
   * The chat's files the frontend sends with every message (Chat.svelte chatFiles: the
   * documents of the branch's messages, never images); default: this message's documents.
   */
  chatFiles?: FileItem[]
}

/**
 * A logged-in browser tab: a socket.io session (the client OpenWebUI's own frontend uses),
 * joined to the user's room, that sends chats as the frontend does and records their events.
 */
export class BrowserSession {
  private readonly received: ChatEvent[] = []
  private readonly listeners = new Set<(event: ChatEvent) => void>()

  private constructor(
    private readonly api: OpenWebUIApi,
    private readonly token: string,
    private readonly socket: Socket,
  ) {
    // OpenWebUI's `__event_call__` is a socket.io call on the same channel: an event with an
    // acknowledgement, answered by what the person does in the dialog (socket/main.py
    // get_event_call; the frontend acks with the typed text, true, or false on cancel).
    socket.on('events', (event: ChatEvent, ack?: (answer: unknown) => void) => {
      this.received.push(event)
      for (const listener of this.listeners) listener(event)
      if (ack && this.dialogs) ack(this.dialogs(event))
    })
  }

  /** How the person answers dialogs (input, confirmation) from now on; unset: they never do. */
  private dialogs: ((event: ChatEvent) => unknown) | undefined

  answerDialogs(answer: ((event: ChatEvent) => unknown) | undefined): void {
    this.dialogs = answer
  }

  static async open(api: OpenWebUIApi, token: string): Promise<BrowserSession> {
    const socket = io(api.url, {
      path: '/ws/socket.io',
      transports: ['websocket'],
      auth: { token },
      reconnection: false,
    })
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve)
      socket.once('connect_error', reject)
    })
    // The ack means the session is in the user's room: no event of the next chat can be missed.
    const joined = await socket.timeout(30_000).emitWithAck('user-join', { auth: { token } })
    if (!joined?.id) throw new Error('OpenWebUI did not accept user-join')
    return new BrowserSession(api, token, socket)
  }

  /**
   * Sends a message as the frontend does (0.11: the backend stores it and loads the chat's
   * branch from its database); OpenWebUI answers over the socket. A new chat, a follow-up
   * (`after`), a regenerate (`regenerate`: the same user message again) or an edit (`after` the
   * turn before the edited message: a new sibling user message).
   */
  async send(options: SendOptions): Promise<BrowserTurn> {
    const messageId = crypto.randomUUID()
    const again = options.regenerate
    const userMessageId = again?.userMessageId ?? crypto.randomUUID()
    const parentId = again ? again.parentId : (options.after?.messageId ?? null)
    const chatId = again?.chatId ?? options.after?.chatId ?? options.editFirstOf?.chatId
    // A follow-up's chat already has events: this turn's are the ones from now on.
    const from = this.received.length
    const attached = options.attach ?? []
    const chatFiles =
      options.chatFiles ?? attached.filter((file) => !file.content_type.startsWith('image/'))
    const answer = await this.api.request<{ task_ids?: string[]; chat_id: string }>(
      'POST',
      '/api/chat/completions',
      {
        token: this.token,
        body: {
          model: options.model.id,
          model_item: options.model,
          stream: true,
          messages: [{ role: 'user', content: options.text }],
          params: {},
          features: {},
          session_id: this.socket.id,
          id: messageId,
          ...(chatId ? { chat_id: chatId } : {}),
          parent_id: parentId,
          user_message: {
            id: userMessageId,
            parentId,
            childrenIds: [messageId],
            role: 'user',
            content: options.text,
            ...(attached.length > 0 ? { files: attached } : {}),
            timestamp: Math.floor(Date.now() / 1000),
            models: [options.model.id],
          },
          background_tasks: options.backgroundTasks ?? {},
          ...(chatFiles.length > 0 ? { files: chatFiles } : {}),
        },
      },
    )
    const received = this.received
    const turnChatId = answer.chat_id || (chatId ?? '')
    return {
      chatId: turnChatId,
      messageId,
      userMessageId,
      parentId,
      taskIds: answer.task_ids ?? [],
      get events() {
        return received.slice(from).filter((event) => event.chat_id === turnChatId)
      },
    }
  }

  /** Resolves with the first event of this turn that matches, or fails after `timeoutMs`. */
  waitFor(
    turn: BrowserTurn,
    matches: (event: ChatEvent) => boolean,
    timeoutMs = 60_000,
  ): Promise<ChatEvent> {
    const seen = turn.events.find(matches)
    if (seen) return Promise.resolve(seen)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.listeners.delete(listener)
        const types = turn.events.map((event) => event.data.type).join(', ')
        reject(new Error(`no matching chat event within ${timeoutMs} ms; got: ${types}`))
      }, timeoutMs)
      const listener = (event: ChatEvent) => {
        if (event.chat_id !== turn.chatId || !matches(event)) return
        clearTimeout(timer)
        this.listeners.delete(listener)
        resolve(event)
      }
      this.listeners.add(listener)
    })
  }

  /** OpenWebUI's "this chat has nothing running any more" signal, sent after the answer is saved. */
  finished(turn: BrowserTurn, timeoutMs = 60_000) {
    return this.waitFor(
      turn,
      (event) =>
        event.data.type === 'chat:active' &&
        (event.data.data as { active?: boolean } | undefined)?.active === false,
      timeoutMs,
    )
  }

  close() {
    this.listeners.clear()
    this.socket.disconnect()
  }
}
