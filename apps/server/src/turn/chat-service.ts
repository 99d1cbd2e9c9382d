import { APIConnectionError, APIError } from '@letta-ai/letta-client'
import type { MessageCreate } from '@letta-ai/letta-client/resources/agents/agents'
import type { ApprovalCreate } from '@letta-ai/letta-client/resources/agents/messages'
import type {
  Attachment,
  BridgeEvent,
  ChatRequest,
  ChatUser,
  ErrorBody,
  RunPoint,
  StopReason,
  StopRequest,
} from '@letta-openwebui/events'
import {
  errorBody,
  MAX_FOLDER_FILE_CHARS,
  MAX_IMAGE_BYTES,
  MAX_IMAGES_BYTES,
  MAX_INLINE_FILE_CHARS,
  runPointOf,
} from '@letta-openwebui/events'
import type { AgentFolders } from '../letta/agent-folders.ts'
import type { AgentDirectory } from '../letta/agents.ts'
import { RunCanceller } from '../letta/cancel.ts'
import type { Letta } from '../letta/client.ts'
import { configurationCause, isNotFound, lettaErrorBody } from '../letta/errors.ts'
import { lettaFrames, StreamInterrupted } from '../letta/frame-stream.ts'
import { FrameMapper } from '../letta/frames-to-events.ts'
import {
  approvalMessage,
  denialOfPending,
  isNothingPending,
  pendingApprovalOf,
} from '../letta/pending-approval.ts'
import { SeqOrder } from '../letta/seq-order.ts'
import type { Logger } from '../log.ts'
import type { BridgeMetrics } from '../metrics.ts'
import type { Lease, Leases } from '../replicas/leases.ts'
import { leaseKey } from '../replicas/leases.ts'
import type { RunReaders } from '../replicas/run-readers.ts'
import { SharedStateUnavailable } from '../replicas/shared-store.ts'
import type { AgentTemplate, TemplateCatalog } from '../templates.ts'
import type { ChatKey } from '../threads/thread-store.ts'
import type { PreparedTurn, ThreadDirectory } from '../threads/threads.ts'
import { inlineFiles } from './attached-files.ts'
import { IdleWatchdog } from './idle-watchdog.ts'
import { RunCursor } from './run-cursor.ts'
import type { FileNote } from './user-message.ts'
import { userMessage } from './user-message.ts'

export type ChatDeps = {
  letta: Letta
  agents: AgentDirectory
  threads: ThreadDirectory
  templates: TemplateCatalog
  folders: AgentFolders
  /** Who may run a thread now: this process's, or every replica's on the shared Redis. */
  leases: Leases
  logger: Logger
  /** Upstream silence (not even a Letta ping) after which the stream counts as stalled. */
  idleTimeoutMs: number
  /** Longest a turn may take in all, however busy Letta keeps it (pings reset the idle timer). */
  maxTurnMs: number
  metrics: BridgeMetrics
  /** Ask Letta to keep runs for resuming (background mode) where it can: RESUMABLE_STREAMS. */
  resumable: boolean
  /** Who has read each kept run: a client that comes back for an answer, on any replica. */
  readers: RunReaders
  /** How long a kept run whose client left waits for it to come back before it is cancelled. */
  resumeWindowMs: number
}

/** Errors that are the bridge's own refusals, not something Letta (or the way to it) did. */
const NOT_LETTA_ERRORS = new Set([
  'agent_busy',
  'chat_busy',
  'turn_timeout',
  'internal_error',
  'approval_gone',
  'images_not_supported',
  'image_too_large',
  'payload_too_large',
  'shared_state_unavailable',
  'bridge_restarting',
  'resume_failed',
])

/** Letta's stop reasons for a run that ran to its end: the thread holds the whole turn. */
const COMPLETED = new Set<StopReason>([
  'end_turn',
  'max_steps',
  'max_tokens_exceeded',
  'no_tool_call',
  'tool_rule',
])

/** Letta's tools that change what the agent remembers (memory blocks or archival memory). */
const MEMORY_TOOLS = new Set([
  'core_memory_append',
  'core_memory_replace',
  'memory',
  'memory_insert',
  'memory_replace',
  'memory_rethink',
  'memory_apply_patch',
  'archival_memory_insert',
])

/** Events that put the agent's words in front of the person: the end of "time to first token". */
const TOKEN_EVENTS = new Set(['reasoning.delta', 'reasoning.hidden', 'answer.delta'])

/** What a message to Letta is: the person's (after carried ones), or their approval decisions. */
type LettaInput = MessageCreate | ApprovalCreate

const isApproval = (message: LettaInput): boolean =>
  'type' in message && message.type === 'approval'

/** The message as part of a new request (Letta deduplicates requests by their messages' otids). */
const withFreshOtid = (message: LettaInput): LettaInput =>
  'otid' in message && message.otid ? { ...message, otid: crypto.randomUUID() } : message

/** The OpenWebUI chat a request belongs to, if any: its thread is one Letta conversation. */
const chatOf = (request: ChatRequest, template: string): ChatKey | undefined =>
  request.chatId ? { userId: request.user.id, template, chatId: request.chatId } : undefined

/** The lease that lets one message at a time run in a chat's thread. */
const chatLeaseKey = (chat: ChatKey): string =>
  leaseKey('chat', chat.template, chat.userId, chat.chatId)

/** Decoded bytes of base64 text. */
const decodedBytes = (data: string): number =>
  Math.floor((data.length * 3) / 4) - (data.endsWith('==') ? 2 : data.endsWith('=') ? 1 : 0)

/** "5 MB": a byte limit as the person reads it. */
const megabytes = (bytes: number): string => `${Math.round(bytes / (1024 * 1024))} MB`

/** Why a turn ended, for the request log. */
type Outcome = 'ok' | 'error' | 'client_closed' | 'client_stalled' | 'handed_over'

/** The client left: it hung up, or the bridge dropped it for taking nothing (see BoundedBody). */
const clientOutcome = (signal: AbortSignal): Outcome =>
  signal.reason === 'client_stalled' ? 'client_stalled' : 'client_closed'

/** How often a draining bridge looks whether its turns are done. */
const DRAIN_POLL_MS = 50

/**
 * Why a Letta stream was closed before its end: the client left (a run Letta does not keep),
 * nobody came back for a kept run's answer, Letta fell silent, the turn ran too long, or the
 * bridge is shutting down and leaves a kept run to a client that resumes elsewhere.
 */
type Cutoff = 'client' | 'abandoned' | 'stalled' | 'overdue' | 'handover'

/** Reconnects to a kept run whose stream from Letta broke, before the turn fails. */
const MAX_RECONNECTS = 3
/** Before the first reconnect; doubled each time. */
const RECONNECT_DELAY_MS = 250

/** Letta refuses `background: true` without its Redis (LettaServiceUnavailableError, 503). */
const needsRedis = (error: unknown): boolean =>
  error instanceof APIError &&
  error.status === 503 &&
  /Background streaming requires Redis/.test(JSON.stringify(error.error ?? ''))

/** The stream from Letta broke (not Letta saying something): a kept run can be read again. */
const isBreak = (error: unknown): boolean =>
  error instanceof StreamInterrupted || error instanceof APIConnectionError

class TurnFailure extends Error {
  constructor(readonly body: ErrorBody) {
    super(body.code)
  }
}

/** The bridge is shutting down: the stream ends without `done`, so the client resumes elsewhere. */
class HandedOver extends Error {
  override name = 'HandedOver'
}

/** Resolves when `promise` does, rejects as soon as `signal` aborts. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason)
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}

/** "15 minutes", "90 seconds": the turn limit as the student reads it. */
function duration(ms: number): string {
  const minutes = ms / 60_000
  const [count, unit] =
    Number.isInteger(minutes) && minutes >= 1
      ? [minutes, 'minute']
      : [Math.round(ms / 1000), 'second']
  return `${count} ${unit}${count === 1 ? '' : 's'}`
}

/**
 * One user message → one Letta run → bridge events. Every turn ends with exactly one `done`,
 * whatever Letta does; when the client leaves, the stream stalls or the turn runs past its
 * limit, the Letta run is cancelled, not just abandoned.
 */
export class ChatService {
  /**
   * Leases this process holds on threads with a run in progress (or being cancelled): one
   * message at a time per chat, and per agent for its own thread (messages without a chat, or a
   * Letta without conversations); across replicas when they share Redis.
   */
  private readonly held = new Set<Lease>()
  /** Set by `drain`: new turns are refused. */
  private draining = false
  /** Aborted by `drain` when its grace is over: running turns end and their runs are cancelled. */
  private readonly stopping = new AbortController()
  /** Aborted as `drain` begins: answers Letta keeps are left to their clients to resume elsewhere. */
  private readonly handover = new AbortController()
  private readonly canceller: RunCanceller
  /** Whether Letta keeps runs for resuming (it has Redis); undefined until a send tells. */
  private background: boolean | undefined
  /** Upstream Letta streams currently open; fault tests check none leak. */
  openUpstreams = 0

  constructor(private readonly deps: ChatDeps) {
    this.canceller = new RunCanceller(deps.letta, deps.logger)
    if (!deps.resumable) this.background = false
  }

  get activeTurns(): number {
    return this.held.size
  }

  /**
   * Shutdown: new turns are refused at once; answers Letta keeps end now without `done`, for
   * their clients to resume on another replica; other running ones may finish within `graceMs`. Then
   * they end with a sentence and their Letta runs are cancelled; resolves once every run is
   * done or cancelled (at most `cancelMs` later).
   */
  async drain(graceMs: number, cancelMs: number): Promise<void> {
    this.draining = true
    this.handover.abort()
    const idle = async (within: number) => {
      const deadline = Date.now() + within
      while (this.held.size > 0 && Date.now() < deadline) await Bun.sleep(DRAIN_POLL_MS)
    }
    await idle(graceMs)
    if (this.held.size === 0) return
    this.deps.logger.warn('ending the turns still running at shutdown', { turns: this.held.size })
    this.stopping.abort()
    await idle(cancelMs)
  }

  /**
   * The turn's events, in batches: the events of one upstream read come together. `resumable`:
   * the client can pick the answer up again (an event stream), so Letta is asked to keep the
   * run where it can. With `resumeFrom` (the last event id a client read, naming a run Letta
   * keeps) the same request picks up that run's answer after that event instead of sending the
   * message again.
   */
  async *turn(
    request: ChatRequest,
    signal: AbortSignal,
    options: { resumable: boolean; resumeFrom?: RunPoint },
  ): AsyncGenerator<BridgeEvent[]> {
    const { resumeFrom } = options
    const started = performance.now()
    const template = request.template ?? this.deps.templates.defaultTemplate
    const decisions = request.approvals
    const mapper = new FrameMapper(
      new Map(decisions?.map((decision) => [decision.id, decision.name])),
    )
    const cursor = new RunCursor(resumeFrom)
    const log: Record<string, string | number | undefined> = { userId: request.user.id, template }
    if (resumeFrom) log.resumedAfter = resumeFrom.seq
    let stopReason: StopReason = 'end_turn'
    let outcome: Outcome = 'ok'
    // Aborted when the bridge ends the turn itself: past its time limit, or at shutdown.
    const ended = new AbortController()
    const turnTimer = setTimeout(() => ended.abort('overdue'), this.deps.maxTurnMs)
    const onStopping = () => ended.abort('shutdown')
    this.stopping.signal.addEventListener('abort', onStopping, { once: true })
    try {
      if (this.draining) {
        throw new TurnFailure(
          errorBody(
            'bridge_restarting',
            'This bridge server is restarting. Please send your message again in a moment.',
          ),
        )
      }
      const settings = this.deps.templates.get(template)
      if (resumeFrom) {
        yield* this.resume(request, template, resumeFrom, mapper, cursor, log, signal, ended.signal)
      }
      if (!decisions && !resumeFrom) this.checkAttachments(request, settings)
      for (let attempt = 1; !resumeFrom; attempt++) {
        const waits = AbortSignal.any([signal, ended.signal])
        const agentId = await abortable(this.deps.agents.resolve(request.user, template), waits)
        log.agentId = agentId
        const chat = chatOf(request, template)
        // Taken before the thread is looked up, so two first messages of a chat make one thread.
        const chatLock =
          chat && this.deps.threads.conversations !== false
            ? await this.claim(chatLeaseKey(chat), 'chat_busy')
            : undefined
        let prepared: PreparedTurn
        let held: Lease
        try {
          const found = await abortable(
            decisions
              ? this.deps.threads.prepareApproval(chat, agentId)
              : this.deps.threads.prepare(
                  chat,
                  agentId,
                  request.message,
                  request.history,
                  request.attachments,
                ),
            waits,
          )
          if (!found) throw new TurnFailure(errorBody('approval_gone'))
          prepared = found
          // The agent's own thread (no chat, or a Letta without conversations): one at a time.
          held =
            prepared.target.conversationId && chatLock
              ? chatLock
              : await this.claim(leaseKey('agent', agentId), 'agent_busy')
        } catch (error) {
          if (chatLock) this.release(chatLock)
          throw error
        }
        if (chatLock && held !== chatLock) this.release(chatLock)
        log.thread = prepared.kind
        log.conversationId = prepared.target.conversationId
        this.deps.metrics.threadPrepared(prepared.kind)
        if (prepared.notice) yield [{ event: 'notice', data: { text: prepared.notice } }]
        // Released by runOnThread once it runs; until then here, whatever ends the turn.
        let handedOver = false
        try {
          let input: LettaInput[]
          if (decisions) {
            input = [approvalMessage(decisions)]
            for (const decision of decisions)
              this.deps.metrics.approvalDecided(decision.approve ? 'approved' : 'refused')
          } else {
            const files: FileNote[] = []
            for await (const events of this.fileNotes(request, settings, prepared, files, waits))
              yield events
            input = [...prepared.input, userMessage(request.message, request.images ?? [], files)]
          }
          handedOver = true
          const send = { input, keep: options.resumable }
          yield* this.runOnThread(
            prepared,
            send,
            held,
            mapper,
            cursor,
            signal,
            ended.signal,
            started,
          )
          break
        } catch (error) {
          // The agent or its conversation was deleted behind our back: nothing reached Letta,
          // so provision anew (a new conversation carries the chat's visible messages).
          if (attempt === 1 && !decisions && isNotFound(error) && mapper.runId === undefined) {
            this.deps.logger.warn('agent or conversation missing, re-provisioning', {
              agentId,
              conversationId: prepared.target.conversationId,
              userId: request.user.id,
            })
            this.deps.agents.forget(request.user.id, template)
            await prepared.forget()
            continue
          }
          if (decisions && isNothingPending(error)) {
            throw new TurnFailure(errorBody('approval_gone'))
          }
          throw error
        } finally {
          if (!handedOver) this.release(held)
        }
      }
      if (mapper.stopReason) stopReason = mapper.stopReason
    } catch (error) {
      if (error instanceof HandedOver) {
        this.deps.logger.info('chat', {
          ...log,
          runId: mapper.runId,
          outcome: 'handed_over',
          durationMs: Math.round(performance.now() - started),
        })
        this.deps.metrics.turnEnded('handed_over', undefined, (performance.now() - started) / 1000)
        return
      }
      if (signal.aborted) {
        outcome = clientOutcome(signal)
        stopReason = 'cancelled'
      } else {
        const body =
          error instanceof TurnFailure
            ? error.body
            : error instanceof SharedStateUnavailable
              ? errorBody('shared_state_unavailable')
              : ended.signal.aborted
                ? this.endedBody(ended.signal)
                : lettaErrorBody(error)
        outcome = 'error'
        stopReason =
          mapper.stopReason && mapper.stopReason !== 'end_turn' ? mapper.stopReason : 'error'
        log.error = body.code
        if (!NOT_LETTA_ERRORS.has(body.code)) this.deps.metrics.lettaFailed(body.code)
        if (body.code === 'internal_error') {
          this.deps.logger.error('turn failed', { ...log, cause: String(error) })
        }
        if (body.code === 'letta_misconfigured') {
          this.deps.logger.error('Letta is misconfigured', {
            ...log,
            cause: configurationCause(error),
          })
        }
        yield cursor.number([{ event: 'error', data: body }])
      }
    } finally {
      clearTimeout(turnTimer)
      this.stopping.signal.removeEventListener('abort', onStopping)
    }
    if (signal.aborted && outcome === 'ok') {
      // A kept run may have gone on to its end without the client: its stop reason stands.
      outcome = clientOutcome(signal)
      if (!mapper.stopReason) stopReason = 'cancelled'
    }
    log.runId = mapper.runId
    if (mapper.unknownTypes.length > 0) log.ignoredFrames = mapper.unknownTypes.join(',')
    const durationMs = performance.now() - started
    this.deps.logger.info('chat', {
      ...log,
      outcome,
      stopReason,
      durationMs: Math.round(durationMs),
    })
    this.deps.metrics.turnEnded(outcome, log.error as string | undefined, durationMs / 1000)
    yield cursor.number([{ event: 'done', data: { stopReason } }])
  }

  /** Why the bridge ended a turn itself: shutdown, or the turn ran past MAX_TURN_MS. */
  private endedBody(ended: AbortSignal): ErrorBody {
    if (ended.reason === 'shutdown') return errorBody('bridge_restarting')
    return errorBody(
      'turn_timeout',
      `The agent took longer than ${duration(this.deps.maxTurnMs)} to answer and was stopped. Please try again, perhaps with a shorter question.`,
    )
  }

  /**
   * Images for a model that cannot see them, or beyond the size limits, and files beyond what a
   * message may carry are refused here, before anything reaches Letta.
   */
  private checkAttachments(request: ChatRequest, settings: AgentTemplate | undefined): void {
    const fileChars = (request.attachments ?? []).reduce((sum, file) => sum + file.text.length, 0)
    if (fileChars > MAX_FOLDER_FILE_CHARS) {
      throw new TurnFailure(
        errorBody(
          'payload_too_large',
          `The attached files hold more than ${MAX_FOLDER_FILE_CHARS.toLocaleString('en')} characters of text, the most one message may carry.`,
        ),
      )
    }
    const images = request.images ?? []
    if (images.length === 0 || !settings) return
    if (!settings.images) throw new TurnFailure(errorBody('images_not_supported'))
    const sizes = images.map((image) => decodedBytes(image.data))
    if (sizes.some((size) => size > MAX_IMAGE_BYTES)) {
      throw new TurnFailure(
        errorBody(
          'image_too_large',
          `An image is larger than ${megabytes(MAX_IMAGE_BYTES)}, the most the agent takes. Please send a smaller one.`,
        ),
      )
    }
    if (sizes.reduce((sum, size) => sum + size, 0) > MAX_IMAGES_BYTES) {
      throw new TurnFailure(
        errorBody(
          'image_too_large',
          `The images add up to more than ${megabytes(MAX_IMAGES_BYTES)}, the most the agent takes with one message. Please send fewer or smaller ones.`,
        ),
      )
    }
  }

  /**
   * The files this thread has not been given yet, as the agent will read of them (into `notes`):
   * stored in the agent's Letta folder (folder mode; progress shown as status lines), or their
   * text with the message, cut to the inline budget. A file the folder could not take goes
   * inline, and the person is told.
   */
  private async *fileNotes(
    request: ChatRequest,
    settings: AgentTemplate | undefined,
    prepared: PreparedTurn,
    notes: FileNote[],
    signal: AbortSignal,
  ): AsyncGenerator<BridgeEvent[]> {
    let inline: Attachment[] = prepared.attachments
    const mode = request.fileMode ?? settings?.files ?? 'inline'
    if (mode === 'folder' && inline.length > 0) {
      const names = inline.map((file) => file.name).join(', ')
      const step = `Adding ${names} to your agent's files`
      yield [{ event: 'progress', data: { text: step, done: false } }]
      const { stored, failed } = await this.deps.folders.store(
        prepared.target.agentId,
        settings?.embedding,
        inline,
        signal,
      )
      yield [{ event: 'progress', data: { text: step, done: true } }]
      notes.push(...stored)
      inline = failed
      if (failed.length > 0) {
        yield [
          {
            event: 'notice',
            data: {
              text: `Your agent's files could not take ${failed.map((file) => file.name).join(', ')}, so the text went with your message instead (the first ${MAX_INLINE_FILE_CHARS.toLocaleString('en')} characters).`,
            },
          },
        ]
      }
    }
    notes.push(...inlineFiles(inline))
  }

  /** Takes a thread's lease, or fails with the sentence for a thread that is answering. */
  private async claim(key: string, code: 'chat_busy' | 'agent_busy'): Promise<Lease> {
    const lease = await this.deps.leases.take(key)
    if (!lease) throw new TurnFailure(errorBody(code))
    this.held.add(lease)
    return lease
  }

  private release(lease: Lease | undefined): void {
    if (!lease) return
    this.held.delete(lease)
    void lease.release()
  }

  /**
   * Picks up the answer of a run Letta keeps, after the event at `point`: the thread is the run's,
   * recorded when the answer ends as the chat shows it then. Any replica can do this; the one
   * that started the run may still read it too (its client left), so the thread's lease is
   * taken only if free.
   */
  private async *resume(
    request: ChatRequest,
    template: string,
    point: RunPoint,
    mapper: FrameMapper,
    cursor: RunCursor,
    log: Record<string, string | number | undefined>,
    signal: AbortSignal,
    deadline: AbortSignal,
  ): AsyncGenerator<BridgeEvent[]> {
    const owned = await abortable(
      this.ownRun(request.user, template, point.runId),
      AbortSignal.any([signal, deadline]),
    )
    if (!owned) throw new TurnFailure(errorBody('resume_failed'))
    const { agentId, run } = owned
    log.agentId = agentId
    const chat = chatOf(request, template)
    const conversationId = run.conversation_id ?? undefined
    const prepared = request.approvals
      ? await this.deps.threads.prepareApproval(chat, agentId)
      : await this.deps.threads.prepareResume(
          chat,
          conversationId ? { agentId, conversationId } : { agentId },
          request.message,
          request.history,
          request.attachments,
        )
    if (!prepared) throw new TurnFailure(errorBody('resume_failed'))
    log.conversationId = conversationId
    log.thread = 'resume'
    const key = chat && conversationId ? chatLeaseKey(chat) : leaseKey('agent', agentId)
    const held = await this.deps.leases.take(key)
    if (held) this.held.add(held)
    cursor.runId = point.runId
    mapper.runId = point.runId
    yield* this.runOnThread(prepared, { keep: true }, held, mapper, cursor, signal, deadline)
  }

  /**
   * The stop button for an answer whose stream may be closed already (a run Letta keeps goes on
   * without its client for a while): cancels the run the event id names, if it is the person's.
   */
  async stop(request: StopRequest): Promise<void> {
    const point = runPointOf(request.eventId)
    // A run Letta does not keep was cancelled when its stream closed.
    if (!point) return
    const template = request.template ?? this.deps.templates.defaultTemplate
    // Best effort: a stop Letta cannot take now is the resume window's to end.
    const owned = await this.ownRun(request.user, template, point.runId).catch(() => undefined)
    if (!owned) return
    const { agentId, run } = owned
    const outcome = await this.canceller.cancel({
      agentId,
      conversationId: run.conversation_id ?? undefined,
      runId: point.runId,
      sentAt: new Date(run.created_at ?? Date.now()),
    })
    this.deps.metrics.cancelled(outcome)
    this.deps.logger.info('stopped', { userId: request.user.id, runId: point.runId, outcome })
  }

  /**
   * The run with this id, with the person's agent, if the run is that agent's; undefined for a
   * run Letta does not know or someone else's (an id from elsewhere names nothing to them).
   */
  private async ownRun(user: ChatUser, template: string, runId: string) {
    const agentId = await this.deps.agents.resolve(user, template)
    const run = await this.deps.letta.runs
      .retrieve(runId, { maxRetries: 0 })
      .catch((error: unknown) => {
        if (isNotFound(error)) return undefined
        throw error
      })
    return run?.agent_id === agentId ? { agentId, run } : undefined
  }

  /**
   * Streams one run on the prepared thread: sends `input` (asking Letta to keep the run if
   * `keep`), or (without it) reads the run the cursor names from its start. `held` (the thread's
   * lease) is released here.
   */
  private async *runOnThread(
    prepared: PreparedTurn,
    { input, keep }: { input?: LettaInput[]; keep: boolean },
    held: Lease | undefined,
    mapper: FrameMapper,
    cursor: RunCursor,
    signal: AbortSignal,
    deadline: AbortSignal,
    started?: number,
  ): AsyncGenerator<BridgeEvent[]> {
    let tokenSeen = started === undefined
    const { agentId, conversationId } = prepared.target
    const upstream = new AbortController()
    let cutoff: Cutoff | undefined
    const cut = (why: Cutoff) => {
      cutoff ??= why
      upstream.abort()
    }
    // Which reader of the run this turn is; a later count means a client came back for it.
    let joined: Promise<number | undefined> | undefined
    const join = (runId: string) => {
      joined = this.deps.readers.join(runId).catch(() => undefined)
    }
    if (cursor.runId) join(cursor.runId)
    let abandon: Timer | undefined
    const onClientGone = () => {
      const { runId } = cursor
      // A run Letta does not keep dies with its stream: stop it now.
      if (!runId) return cut('client')
      // A kept one goes on unread: the client may come back for the answer, here or on
      // another replica. If nobody has within the window, nobody will.
      abandon = setTimeout(async () => {
        const mine = await joined
        const now = await this.deps.readers.count(runId).catch(() => undefined)
        if (mine === undefined || now === undefined || now <= mine) cut('abandoned')
      }, this.deps.resumeWindowMs)
    }
    const onEnded = () => cut('overdue')
    const onHandover = () => {
      if (cursor.runId) cut('handover')
    }
    signal.addEventListener('abort', onClientGone, { once: true })
    deadline.addEventListener('abort', onEnded, { once: true })
    this.handover.signal.addEventListener('abort', onHandover, { once: true })
    const watchdog = new IdleWatchdog(this.deps.idleTimeoutMs, () => cut('stalled'))
    const failure = (): Error | undefined =>
      cutoff === 'stalled'
        ? new TurnFailure(errorBody('stream_stalled'))
        : cutoff === 'overdue'
          ? new TurnFailure(this.endedBody(deadline))
          : cutoff === 'handover'
            ? new HandedOver()
            : undefined
    let sentAt: Date | undefined
    let finished = false
    try {
      if (deadline.aborted) throw new TurnFailure(this.endedBody(deadline))
      if (this.handover.signal.aborted && cursor.runId) throw new HandedOver()
      sentAt = new Date()
      let messages = input
      let reconnects = 0
      for (let attempt = 1; ; attempt++) {
        let shown = false
        try {
          const opened = messages
            ? await this.open(prepared, messages, upstream.signal, keep)
            : await this.openRun(cursor, upstream.signal)
          const response = opened.response
          // A run Letta keeps is read from its copy, which can hold frames out of order.
          const order = opened.background ? new SeqOrder(cursor.seq) : undefined
          this.openUpstreams++
          try {
            for await (const frames of lettaFrames(response, order)) {
              watchdog.touch()
              const events: BridgeEvent[] = []
              for (const frame of frames) {
                cursor.saw(frame)
                const mapped = mapper.map(frame)
                // Known from Letta's first frame: the answer can be picked up from there on.
                if (opened.background && !cursor.runId && mapper.runId) {
                  cursor.runId = mapper.runId
                  join(cursor.runId)
                  // An id before the first token: a client cut off now can still resume.
                  events.push({ event: 'keepalive', data: {}, id: `${cursor.runId}:0:0` })
                  // Sent while the bridge began shutting down: handed over as soon as it can be.
                  if (this.handover.signal.aborted) onHandover()
                }
                // Appended in place: a read may bring hundreds of frames.
                events.push(...cursor.number(mapped))
              }
              if (events.length === 0) continue
              if (!tokenSeen && events.some((event) => TOKEN_EVENTS.has(event.event))) {
                tokenSeen = true
                this.deps.metrics.firstTokenAfter((performance.now() - (started ?? 0)) / 1000)
              }
              // While the client is slow to take this batch, Letta is not read: that wait is
              // the client's, not Letta's silence.
              watchdog.hold()
              // The run's first id alone shows nothing: a refused run may still be sent again.
              shown ||= events.some((event) => event.event !== 'keepalive')
              yield events
              watchdog.touch()
            }
            if (order?.skipped) {
              this.deps.logger.warn("frames of a kept run never came from Letta's copy", {
                runId: cursor.runId,
                frames: order.skipped,
              })
            }
          } finally {
            this.openUpstreams--
          }
          break
        } catch (error) {
          // A kept run goes on when the stream from Letta breaks: read on where it broke.
          if (cursor.runId && !cutoff && isBreak(error) && reconnects < MAX_RECONNECTS) {
            this.deps.logger.warn('the stream from Letta broke; reading the run again', {
              runId: cursor.runId,
              after: cursor.seq,
            })
            await Bun.sleep(RECONNECT_DELAY_MS * 2 ** reconnects)
            reconnects++
            messages = undefined
            continue
          }
          // The thread still waits for an approval (the person left the dialog unanswered, or
          // another client's run asked): Letta refuses the message, as a 409 or as an error in
          // its stream. It goes again with a refusal of that approval first, so the agent is
          // never left stuck.
          const pending = pendingApprovalOf(error)
          if (
            pending === undefined ||
            shown ||
            attempt > 1 ||
            !messages ||
            !input ||
            messages.some(isApproval)
          )
            throw error
          this.deps.logger.info('refusing a pending approval before the new message', {
            agentId,
            conversationId,
          })
          const denial = await denialOfPending(this.deps.letta, prepared.target, pending)
          if (!denial) throw error
          mapper.restart()
          cursor.restart()
          // A new request: with the refused one's otids, Letta (with Redis) would answer it as
          // a retry of that request, with its stream.
          messages = [denial, ...input.map(withFreshOtid)]
          this.deps.metrics.approvalDecided('left_open')
        }
      }
      const cutShort = failure()
      if (cutShort) throw cutShort
      if (cutoff) return
      // Letta always sends a stop_reason before a normal end: without it the stream was cut.
      if (mapper.stopReason === undefined) {
        throw new TurnFailure(errorBody('stream_interrupted'))
      }
      finished = true
      await prepared.commit({
        completed: COMPLETED.has(mapper.stopReason),
        awaiting: mapper.stopReason === 'requires_approval',
        answer: mapper.answerText,
        messageId: mapper.answerMessageId,
        wroteMemory: [...mapper.toolNames].some((name) => MEMORY_TOOLS.has(name)),
      })
    } catch (error) {
      throw failure() ?? error
    } finally {
      watchdog.stop()
      clearTimeout(abandon)
      signal.removeEventListener('abort', onClientGone)
      deadline.removeEventListener('abort', onEnded)
      this.handover.signal.removeEventListener('abort', onHandover)
      // Closing the connection does not stop a Letta run: cancel it explicitly, and keep the
      // agent busy until that is done, so the next message cannot be taken for this run. A run
      // handed over at shutdown goes on for the client that resumes it.
      if (sentAt && !finished && cutoff && cutoff !== 'handover') {
        void this.canceller
          .cancel({ agentId, conversationId, runId: mapper.runId, sentAt })
          .then((outcome) => this.deps.metrics.cancelled(outcome))
          .finally(() => this.release(held))
      } else {
        this.release(held)
      }
    }
  }

  /**
   * Opens the Letta stream of one run on the prepared thread, kept by Letta for resuming where
   * it can (background mode: Letta with Redis). A Letta that cannot is asked once; it answers
   * 503 before the run starts, and every later send is an ordinary one.
   */
  private async open(
    prepared: PreparedTurn,
    messages: LettaInput[],
    signal: AbortSignal,
    keep: boolean,
  ): Promise<{ response: Response; background: boolean }> {
    if (keep && this.background !== false) {
      try {
        const response = await this.send(prepared, messages, signal, true)
        this.background = true
        return { response, background: true }
      } catch (error) {
        if (!needsRedis(error)) throw error
        if (this.background === undefined) {
          this.deps.logger.warn(
            'Letta has no Redis: an answer whose connection breaks cannot be resumed (set RESUMABLE_STREAMS=false to stop asking)',
          )
        }
        this.background = false
      }
    }
    return { response: await this.send(prepared, messages, signal, false), background: false }
  }

  private send(
    prepared: PreparedTurn,
    messages: LettaInput[],
    signal: AbortSignal,
    background: boolean,
  ): Promise<Response> {
    const { agentId, conversationId } = prepared.target
    const send = {
      messages,
      streaming: true,
      stream_tokens: true,
      include_pings: true,
      ...(background ? { background: true } : {}),
    } as const
    const options = { signal, maxRetries: 0 }
    return (
      conversationId
        ? this.deps.letta.conversations.messages.create(conversationId, send, options)
        : this.deps.letta.agents.messages.create(agentId, send, options)
    ).asResponse()
  }

  /**
   * The kept run the cursor names, from Letta's copy of its stream: from its start for a client
   * that resumes (the events before its last one are rebuilt, then skipped), after the last
   * frame read when the bridge's own stream from Letta broke.
   */
  private async openRun(
    cursor: RunCursor,
    signal: AbortSignal,
  ): Promise<{ response: Response; background: boolean }> {
    const runId = cursor.runId as string
    try {
      const response = await this.deps.letta.runs.messages
        .stream(
          runId,
          { starting_after: cursor.seq, include_pings: true },
          { signal, maxRetries: 0 },
        )
        .asResponse()
      return { response, background: true }
    } catch (error) {
      // Gone (older than Letta keeps runs), never kept, or Letta lost its Redis.
      if (error instanceof APIError && error.status !== undefined && error.status < 500)
        throw new TurnFailure(errorBody('resume_failed'))
      if (needsRedis(error)) throw new TurnFailure(errorBody('resume_failed'))
      throw error
    }
  }
}
