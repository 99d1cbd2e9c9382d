import { APIError } from '@letta-ai/letta-client'
import type { BridgeEvent, ChatRequest, ErrorBody, StopReason } from '@letta-openwebui/events'
import { errorBody } from '@letta-openwebui/events'
import type { AgentDirectory } from '../letta/agents.ts'
import type { Letta } from '../letta/client.ts'
import { isNotFound, lettaErrorBody } from '../letta/errors.ts'
import { lettaFrames } from '../letta/frame-stream.ts'
import { FrameMapper } from '../letta/frames-to-events.ts'
import type { Logger } from '../log.ts'
import type { TemplateCatalog } from '../templates.ts'
import { IdleWatchdog } from './idle-watchdog.ts'

export type ChatDeps = {
  letta: Letta
  agents: AgentDirectory
  templates: TemplateCatalog
  logger: Logger
  /** Upstream silence (not even a Letta ping) after which the stream counts as stalled. */
  idleTimeoutMs: number
}

/** Why a turn ended, for the request log. */
type Outcome = 'ok' | 'error' | 'client_closed'

class TurnFailure extends Error {
  constructor(readonly body: ErrorBody) {
    super(body.code)
  }
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

/**
 * One user message → one Letta run → bridge events. Every turn ends with exactly one `done`,
 * whatever Letta does; when the client leaves, the Letta run is cancelled, not just abandoned.
 */
export class ChatService {
  /** Agents with a run in progress: one message at a time per agent. */
  private readonly busy = new Set<string>()
  /** Upstream Letta streams currently open; fault tests check none leak. */
  openUpstreams = 0

  constructor(private readonly deps: ChatDeps) {}

  get activeTurns(): number {
    return this.busy.size
  }

  /** The turn's events, in batches: the events of one upstream read come together. */
  async *turn(request: ChatRequest, signal: AbortSignal): AsyncGenerator<BridgeEvent[]> {
    const started = performance.now()
    const template = request.template ?? this.deps.templates.defaultTemplate
    const mapper = new FrameMapper()
    const log: Record<string, string | number | undefined> = { userId: request.user.id, template }
    let stopReason: StopReason = 'end_turn'
    let outcome: Outcome = 'ok'
    try {
      for (let attempt = 1; ; attempt++) {
        const agentId = await abortable(this.deps.agents.resolve(request.user, template), signal)
        log.agentId = agentId
        try {
          yield* this.runOnAgent(agentId, request.message, mapper, signal)
          break
        } catch (error) {
          // The agent was deleted behind our back: nothing reached Letta, so provision a new one.
          if (attempt === 1 && isNotFound(error) && mapper.runId === undefined) {
            this.deps.logger.warn('agent missing, re-provisioning', {
              agentId,
              userId: request.user.id,
            })
            this.deps.agents.forget(request.user.id, template)
            continue
          }
          throw error
        }
      }
      if (mapper.stopReason) stopReason = mapper.stopReason
      if (mapper.stopReason === 'requires_approval') outcome = 'error'
    } catch (error) {
      if (signal.aborted) {
        outcome = 'client_closed'
        stopReason = 'cancelled'
      } else {
        const body = error instanceof TurnFailure ? error.body : lettaErrorBody(error)
        outcome = 'error'
        stopReason =
          mapper.stopReason && mapper.stopReason !== 'end_turn' ? mapper.stopReason : 'error'
        log.error = body.code
        if (body.code === 'internal_error') {
          this.deps.logger.error('turn failed', { ...log, cause: String(error) })
        }
        yield [{ event: 'error', data: body }]
      }
    }
    if (signal.aborted && outcome === 'ok') {
      outcome = 'client_closed'
      stopReason = 'cancelled'
    }
    log.runId = mapper.runId
    if (mapper.unknownTypes.length > 0) log.ignoredFrames = mapper.unknownTypes.join(',')
    this.deps.logger.info('chat', {
      ...log,
      outcome,
      stopReason,
      durationMs: Math.round(performance.now() - started),
    })
    yield [{ event: 'done', data: { stopReason } }]
  }

  private async *runOnAgent(
    agentId: string,
    text: string,
    mapper: FrameMapper,
    signal: AbortSignal,
  ): AsyncGenerator<BridgeEvent[]> {
    if (this.busy.has(agentId)) throw new TurnFailure(errorBody('agent_busy'))
    this.busy.add(agentId)
    const upstream = new AbortController()
    const stopUpstream = () => upstream.abort()
    signal.addEventListener('abort', stopUpstream, { once: true })
    let stalled = false
    const watchdog = new IdleWatchdog(this.deps.idleTimeoutMs, () => {
      stalled = true
      upstream.abort()
    })
    let sent = false
    let opened = false
    let finished = false
    try {
      sent = true
      const response = await this.deps.letta.agents.messages
        .create(
          agentId,
          {
            messages: [{ role: 'user', content: text, otid: crypto.randomUUID() }],
            streaming: true,
            stream_tokens: true,
            include_pings: true,
          },
          { signal: upstream.signal, maxRetries: 0 },
        )
        .asResponse()
      this.openUpstreams++
      opened = true
      try {
        for await (const frames of lettaFrames(response)) {
          watchdog.touch()
          const events = frames.flatMap((frame) => mapper.map(frame))
          if (events.length > 0) yield events
        }
      } finally {
        this.openUpstreams--
      }
      if (stalled) throw new TurnFailure(errorBody('stream_stalled'))
      // Letta always sends a stop_reason before a normal end: without it the stream was cut.
      if (!signal.aborted && mapper.stopReason === undefined) {
        throw new TurnFailure(errorBody('stream_interrupted'))
      }
      finished = !signal.aborted
    } catch (error) {
      if (stalled) throw new TurnFailure(errorBody('stream_stalled'))
      // A body that breaks off mid-stream surfaces as a socket/fetch error, not an APIError.
      if (
        opened &&
        !(error instanceof APIError) &&
        !(error instanceof SyntaxError) &&
        !signal.aborted
      ) {
        throw new TurnFailure(errorBody('stream_interrupted'))
      }
      throw error
    } finally {
      watchdog.stop()
      signal.removeEventListener('abort', stopUpstream)
      this.busy.delete(agentId)
      // Closing the connection does not stop a Letta run: cancel it explicitly.
      if (sent && !finished && (signal.aborted || stalled)) this.cancel(agentId, mapper.runId)
    }
  }

  private cancel(agentId: string, runId: string | undefined): void {
    const body = runId ? { run_ids: [runId] } : {}
    this.deps.letta.agents.messages
      .cancel(agentId, body, { maxRetries: 0 })
      .then(() => this.deps.logger.info('run cancelled', { agentId, runId }))
      .catch((error: unknown) =>
        this.deps.logger.warn('cancel failed', {
          agentId,
          runId,
          error: lettaErrorBody(error).code,
        }),
      )
  }
}
