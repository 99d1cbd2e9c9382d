import { APIError } from '@letta-ai/letta-client'
import type { MessageCreate } from '@letta-ai/letta-client/resources/agents/agents'
import type { Attachment, HistoryMessage } from '@letta-openwebui/events'
import { fingerprint, MAX_HISTORY_MESSAGES } from '@letta-openwebui/events'
import type { Letta } from '../letta/client.ts'
import { isNotFound } from '../letta/errors.ts'
import type { Logger } from '../log.ts'
import { planThread } from './thread-plan.ts'
import type {
  ChatKey,
  CompiledStamp,
  SeenMessage,
  ThreadRecord,
  ThreadStore,
} from './thread-store.ts'

/** How a turn found its thread, for the log and the metrics. */
export type ThreadKind = 'default' | 'new' | 'continue' | 'fork' | 'restart' | 'approval'

/** Where a turn's messages go: the agent's own thread, or one of its conversations. */
export type ThreadTarget =
  | { agentId: string; conversationId?: undefined }
  | { agentId: string; conversationId: string }

/** What the turn produced, as far as the thread is concerned. */
export type TurnOutcome = {
  /** The run finished (any stop reason but an error or a cancel): the thread holds the turn. */
  completed: boolean
  /** The run stopped to ask the person's approval: the thread holds the turn so far. */
  awaiting: boolean
  /** The answer as streamed, for its fingerprint. */
  answer: string
  /** Letta's id of the answer's last message. */
  messageId?: string
  wroteMemory: boolean
}

export type PreparedTurn = {
  target: ThreadTarget
  kind: ThreadKind
  /** Carried messages the thread lacks; the person's message goes after them. */
  input: MessageCreate[]
  /** The request's files this thread has not been given yet. */
  attachments: Attachment[]
  /** Said to the person before the answer, once. */
  notice?: string
  /** Records what the thread now holds. */
  commit(outcome: TurnOutcome): Promise<void>
  /** The conversation was gone at Letta: the next attempt starts a new one. */
  forget(): Promise<void>
}

export const MEMORY_KEPT_NOTICE =
  'Memory your agent saved while writing the replaced answer stays: send /memory to review it.'

export const NO_CONVERSATIONS_WARNING =
  'this Letta has no conversations (Letta 0.16.2 or newer has them): all chats of a user share one thread of their agent'

/**
 * A conversation's system prompt older than this is compiled again before its next turn, so
 * memory edited outside this bridge process (Letta's ADE, another replica) reaches open chats.
 */
export const RECOMPILE_AFTER_MS = 10 * 60_000

/** The seen list grows no further than the history a request can bring. */
const MAX_SEEN = MAX_HISTORY_MESSAGES + 2
/** Files remembered per thread as given (the newest); an older one would be given again. */
const MAX_FILES_REMEMBERED = 200

/** An answer continued after an approval: the parts as the chat shows them, one paragraph apart. */
const joinAnswer = (before: string, after: string): string =>
  before && after ? `${before}\n\n${after}` : before + after

const toInput = (message: HistoryMessage): MessageCreate[] =>
  message.text ? [{ role: message.role, content: message.text }] : []

const seenOf = (message: HistoryMessage): SeenMessage => ({ role: message.role, fp: message.fp })

/** What a finished turn adds to the thread: the person's message and the answer. */
const turnSeen = (message: string, outcome: TurnOutcome): SeenMessage[] => [
  { role: 'user', fp: fingerprint(message) },
  {
    role: 'assistant',
    fp: fingerprint(outcome.answer),
    ...(outcome.messageId ? { messageId: outcome.messageId } : {}),
    ...(outcome.wroteMemory ? { wroteMemory: true } : {}),
  },
]

/** Letta answers a route it does not have (a release before conversations) with FastAPI's 404. */
function isMissingRoute(error: unknown): boolean {
  if (!(error instanceof APIError) || (error.status !== 404 && error.status !== 405)) return false
  const detail = (error.error as { detail?: unknown } | undefined)?.detail
  return detail === 'Not Found' || detail === 'Method Not Allowed'
}

/**
 * One Letta conversation per OpenWebUI chat, on the user's agent: its memory is shared by all of
 * the user's chats, its thread is the chat's. Each turn is checked against the chat's visible
 * history: a next message continues the thread; after a regenerate or an edit the thread would
 * hold messages the person no longer sees, so the turn moves to a thread that holds only what
 * they see: a fork cut at the last kept message where Letta can (Letta Cloud), else a new
 * conversation carrying the kept messages' text.
 */
export class ThreadDirectory {
  /** Whether Letta has conversations; undefined until it answers. */
  conversations: boolean | undefined
  /** Whether Letta's fork honours `message_id`; undefined until tried. */
  private forkAtMessage: boolean | undefined
  /** Whether Letta can recompile a conversation (0.16.7+); undefined until tried. */
  private recompiles: boolean | undefined
  /** This process: memory versions below are counted since it started. */
  private readonly boot = crypto.randomUUID()
  /** Memory writes seen per agent (the agent's memory tools, /memory edits). */
  private readonly memoryWrites = new Map<string, number>()

  constructor(
    private readonly letta: Letta,
    private readonly store: ThreadStore,
    private readonly logger: Logger,
  ) {}

  /** The agent's memory changed: its conversations compile their system prompt again. */
  memoryChanged(agentId: string): void {
    this.memoryWrites.set(agentId, (this.memoryWrites.get(agentId) ?? 0) + 1)
  }

  private stamp(agentId: string): CompiledStamp {
    return { boot: this.boot, memory: this.memoryWrites.get(agentId) ?? 0, at: Date.now() }
  }

  /** Compiles the conversation's system prompt again if the agent's memory may have changed since. */
  private async freshen(
    agentId: string,
    conversationId: string,
    compiled: CompiledStamp | undefined,
  ): Promise<CompiledStamp | undefined> {
    const current = this.stamp(agentId)
    const stale =
      !compiled ||
      compiled.boot !== current.boot ||
      compiled.memory !== current.memory ||
      current.at - compiled.at > RECOMPILE_AFTER_MS
    if (!stale || this.recompiles === false) return compiled
    try {
      await this.letta.conversations.recompile(conversationId, undefined, { maxRetries: 0 })
      this.recompiles = true
      return current
    } catch (error) {
      // A conversation that is gone is the send's to find out (it provisions a new one).
      if (isMissingRoute(error)) this.recompiles = false
      else if (!isNotFound(error))
        this.logger.warn('could not recompile the conversation', { cause: String(error) })
      return compiled
    }
  }

  /** Asks Letta once whether it has conversations (start-up, /health); never throws. */
  async probe(): Promise<boolean | undefined> {
    if (this.conversations !== undefined) return this.conversations
    try {
      await this.letta.conversations.list({ limit: 1 }, { maxRetries: 0, timeout: 2_000 })
      this.conversations = true
    } catch (error) {
      if (isMissingRoute(error)) this.conversations = false
    }
    return this.conversations
  }

  /** The agent's own thread: nothing to look up, nothing to record but memory writes. */
  private direct(agentId: string, attachments: Attachment[]): PreparedTurn {
    return {
      target: { agentId },
      kind: 'default',
      input: [],
      attachments,
      commit: async (outcome) => {
        if (outcome.wroteMemory) this.memoryChanged(agentId)
      },
      forget: async () => {},
    }
  }

  async prepare(
    chat: ChatKey | undefined,
    agentId: string,
    message: string,
    history: HistoryMessage[] | undefined,
    attachments: Attachment[] = [],
  ): Promise<PreparedTurn> {
    const direct = () => this.direct(agentId, attachments)
    if (!chat || this.conversations === false) return direct()

    const record = await this.store.get(chat)
    // A record of an agent that was since re-provisioned names a conversation that is gone.
    const known = record?.agentId === agentId ? record : undefined
    let kind: ThreadKind
    let conversationId: string
    let kept: SeenMessage[]
    let carry: HistoryMessage[]
    let notice: string | undefined
    let compiled: CompiledStamp | undefined
    let given: string[] = []
    const plan = known ? planThread(known.seen, history) : undefined
    if (known && plan?.kind === 'continue') {
      kind = 'continue'
      conversationId = known.conversationId
      kept = known.seen
      carry = plan.carry
      given = known.files ?? []
      compiled = await this.freshen(agentId, conversationId, known.compiled)
    } else {
      if (plan?.kind === 'rewind' && plan.discarded.some((message) => message.wroteMemory)) {
        notice = MEMORY_KEPT_NOTICE
      }
      const fork =
        known && plan?.kind === 'rewind'
          ? await this.fork(known.conversationId, known.seen, plan.keep)
          : undefined
      if (fork && known && plan?.kind === 'rewind') {
        kind = 'fork'
        conversationId = fork
        kept = known.seen.slice(0, plan.keep)
        carry = (history ?? []).slice(plan.keep)
      } else {
        const created = await this.create(agentId, chat)
        if (!created) return direct()
        kind = known ? 'restart' : 'new'
        conversationId = created
        kept = []
        carry = history ?? []
      }
      // A new conversation or fork is compiled with the memory as it is now.
      compiled = this.stamp(agentId)
      // The chat's thread is this one from now on, whatever this turn does.
      await this.store.put(chat, { agentId, conversationId, seen: kept, compiled })
    }
    const delivered = [...kept, ...carry.map(seenOf)]
    const fresh = attachments.filter((file) => !given.includes(file.id))
    return {
      target: { agentId, conversationId },
      kind,
      input: carry.flatMap(toInput),
      attachments: fresh,
      notice,
      commit: async (outcome) => {
        if (outcome.wroteMemory) this.memoryChanged(agentId)
        if (!outcome.completed && !outcome.awaiting) {
          // Whether Letta kept the message of a failed or stopped run is unknown: the chat's
          // next message carries what the person saw instead.
          return
        }
        const seen = [...delivered, ...turnSeen(message, outcome)]
        await this.record(chat, {
          agentId,
          conversationId,
          seen: seen.slice(0, MAX_SEEN),
          ...(compiled ? { compiled } : {}),
          ...(outcome.awaiting ? { awaiting: outcome.answer } : {}),
          files: [...given, ...fresh.map((file) => file.id)].slice(-MAX_FILES_REMEMBERED),
        })
      },
      forget: () => this.store.delete(chat),
    }
  }

  /**
   * The thread of a run being picked up again after its connection broke (on any replica). The
   * run was sent on `target`; when its answer ends, the chat's record becomes what the chat
   * then shows: its history, the message and the answer. What the record already says of the
   * shared beginning (answers' message ids, memory written) is kept.
   */
  async prepareResume(
    chat: ChatKey | undefined,
    target: ThreadTarget,
    message: string,
    history: HistoryMessage[] | undefined,
    attachments: Attachment[] = [],
  ): Promise<PreparedTurn> {
    const { agentId, conversationId } = target
    if (!chat || !conversationId) return this.direct(agentId, [])
    const known = await this.store.get(chat)
    return {
      target,
      kind: 'continue',
      input: [],
      attachments: [],
      commit: async (outcome) => {
        if (outcome.wroteMemory) this.memoryChanged(agentId)
        if (!outcome.completed && !outcome.awaiting) return
        const record = known?.conversationId === conversationId ? known : undefined
        const before = record?.seen ?? []
        const visible = history ?? []
        let shared = 0
        while (
          shared < Math.min(before.length, visible.length) &&
          before[shared]?.role === visible[shared]?.role &&
          before[shared]?.fp === visible[shared]?.fp
        )
          shared++
        const seen = [
          ...before.slice(0, shared),
          ...visible.slice(shared).map(seenOf),
          ...turnSeen(message, outcome),
        ]
        const given = record?.files ?? []
        const fresh = attachments.map((file) => file.id).filter((id) => !given.includes(id))
        await this.record(chat, {
          agentId,
          conversationId,
          seen: seen.slice(0, MAX_SEEN),
          ...(record?.compiled ? { compiled: record.compiled } : {}),
          ...(outcome.awaiting ? { awaiting: outcome.answer } : {}),
          files: [...given, ...fresh].slice(-MAX_FILES_REMEMBERED),
        })
      },
      forget: () => this.store.delete(chat),
    }
  }

  /**
   * The thread whose last turn stopped for the person's approval, for the request that brings
   * their decisions; undefined when the chat has no such thread (then nothing waits for them).
   * The turn's answer goes on where it stopped: it is recorded as one answer with the part
   * shown before the approval.
   */
  async prepareApproval(
    chat: ChatKey | undefined,
    agentId: string,
  ): Promise<PreparedTurn | undefined> {
    if (!chat || this.conversations === false) return this.direct(agentId, [])
    const known = await this.store.get(chat)
    if (known?.agentId !== agentId || known.awaiting === undefined) return undefined
    const before = known.awaiting
    return {
      target: { agentId, conversationId: known.conversationId },
      kind: 'approval',
      input: [],
      attachments: [],
      commit: async (outcome) => {
        if (outcome.wroteMemory) this.memoryChanged(agentId)
        if (!outcome.completed && !outcome.awaiting) return
        const answer = joinAnswer(before, outcome.answer)
        const last = known.seen.at(-1)
        const seen =
          last?.role === 'assistant'
            ? [
                ...known.seen.slice(0, -1),
                {
                  role: 'assistant' as const,
                  fp: fingerprint(answer),
                  ...(outcome.messageId ? { messageId: outcome.messageId } : {}),
                  ...(last.wroteMemory || outcome.wroteMemory ? { wroteMemory: true } : {}),
                },
              ]
            : known.seen
        await this.record(chat, {
          ...known,
          seen,
          awaiting: outcome.awaiting ? answer : undefined,
        })
      },
      forget: () => this.store.delete(chat),
    }
  }

  /** What a finished turn left in the chat's thread. A failure to record it is logged only. */
  private async record(chat: ChatKey, record: ThreadRecord): Promise<void> {
    try {
      await this.store.put(chat, record)
    } catch (error) {
      // The answer stands; the chat's next message then carries what the thread lacks.
      this.logger.error('could not record the chat thread', { cause: String(error) })
    }
  }

  /** A new conversation for the chat, or undefined when this Letta has none. */
  private async create(agentId: string, chat: ChatKey): Promise<string | undefined> {
    try {
      const conversation = await this.letta.conversations.create(
        { agent_id: agentId, summary: `owui-chat:${chat.chatId}` },
        { maxRetries: 0 },
      )
      this.conversations = true
      return conversation.id
    } catch (error) {
      if (!isMissingRoute(error)) throw error
      if (this.conversations !== false) this.logger.warn(NO_CONVERSATIONS_WARNING)
      this.conversations = false
      return undefined
    }
  }

  /**
   * A fork of the conversation that ends with the last kept message, where Letta can cut one
   * (Letta Cloud's `message_id`); undefined where it cannot. Letta 0.16.x ignores `message_id`
   * and copies the whole thread, which the fork's last message shows: then it is deleted and
   * never tried again by this process.
   */
  private async fork(
    conversationId: string,
    seen: SeenMessage[],
    keep: number,
  ): Promise<string | undefined> {
    const messageId = keep > 0 ? seen[keep - 1]?.messageId : undefined
    if (!messageId || this.forkAtMessage === false) return undefined
    try {
      const fork = await this.letta.conversations.fork(
        conversationId,
        { message_id: messageId },
        { maxRetries: 0 },
      )
      if (fork.in_context_message_ids?.at(-1) === messageId) {
        this.forkAtMessage = true
        return fork.id
      }
      this.forkAtMessage = false
      this.logger.info('Letta forks whole conversations only: regenerate and edit start new ones')
      await this.letta.conversations.delete(fork.id, { maxRetries: 0 }).catch(() => {})
      return undefined
    } catch (error) {
      if (isMissingRoute(error)) this.forkAtMessage = false
      else this.logger.warn('fork failed, starting a new conversation', { cause: String(error) })
      return undefined
    }
  }
}
