import type { StopReasonType } from '@letta-ai/letta-client/resources/runs/runs'
import { newId } from './frames.ts'
import { RunLog } from './run-log.ts'
import type { RunContext, RunTrace } from './threads.ts'

export type RunStatus = 'running' | 'completed' | 'cancelled' | 'failed'

export type RunType = 'send_message' | 'send_conversation_message'

/** Why a scenario stopped before its end. */
type Interruption = 'cancelled' | 'client_gone' | 'stopped'

/** A scenario being played: every wait in it ends early once the run is interrupted. */
export class Playback {
  interruption: Interruption | undefined
  private readonly wakers = new Set<() => void>()

  interrupt(reason: Interruption): void {
    if (this.interruption) return
    this.interruption = reason
    for (const wake of this.wakers) wake()
  }

  /** Resolves when `arm`'s wake callback fires or the playback is interrupted. */
  wait(arm: (wake: () => void) => void): Promise<void> {
    if (this.interruption) return Promise.resolve()
    return new Promise((resolve) => {
      const wake = () => {
        this.wakers.delete(wake)
        resolve()
      }
      this.wakers.add(wake)
      arm(wake)
    })
  }

  /** Sleeps `ms` (Infinity: until interrupted). */
  async pause(ms: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined
    await this.wait((wake) => {
      if (Number.isFinite(ms)) timer = setTimeout(wake, ms)
    })
    clearTimeout(timer)
  }
}

export type Run = {
  id: string
  agentId: string
  conversationId?: string
  /** Conversation lock (conversation id, or agent id in agent-direct mode), held while open. */
  lockKey?: string
  /** Letta shields runs from disconnects: a run whose client left stays `running`. */
  status: RunStatus
  /** Its response is still being written. */
  open: boolean
  playback: Playback
  createdAt: string
  completedAt?: string
  /** Sent with `background: true`: its chunks are kept for resuming (Letta's Redis stream). */
  log?: RunLog
  /** Letta's `run_type`: `send_message` (agent-direct) or `send_conversation_message`. */
  runType: RunType
  /** Refused before it ran (a background send without Redis): it has no stop reason. */
  refused?: boolean
  /** What Letta keeps as `metadata.error`: the stream's error event, or why it was refused. */
  error?: unknown
  /** Its messages' otids, joined: a same-otid retry finds the run by them (Redis only). */
  requestKey?: string
  /** What the model was given (the thread's messages, the compiled memory) and what it stored. */
  context?: RunContext & Partial<RunTrace>
  /** The stop reason its frames gave, once played. */
  stopReason?: StopReasonType
}

/** Ends a still-running run with its final status (a run ends once). */
export function settleRun(run: Run, status: Exclude<RunStatus, 'running'>): void {
  if (run.status !== 'running') return
  run.status = status
  run.completedAt = new Date().toISOString()
}

export type StreamStats = { opened: number; completed: number; aborted: number; active: number }

/** Live stream counters; an epoch keeps streams from before a reset out of the new counts. */
export class StreamCounters implements StreamStats {
  opened = 0
  completed = 0
  aborted = 0
  active = 0
  #epoch = 0

  open(): number {
    this.opened++
    this.active++
    return this.#epoch
  }

  close(epoch: number, outcome?: 'completed' | 'aborted'): void {
    if (epoch !== this.#epoch) return
    this.active--
    if (outcome) this[outcome]++
  }

  reset(): void {
    this.#epoch++
    this.opened = 0
    this.completed = 0
    this.aborted = 0
    this.active = 0
  }
}

/** Finished runs kept for lookups by id; older ones are forgotten so a long soak stays flat. */
export const FINISHED_RUNS_KEPT = 10_000

const isLive = (run: Run) => run.open || run.status === 'running'

/**
 * Every run the sim has started, by id. Live runs (still open, or still `running` after their
 * client left) are also indexed per agent, so the lookups made on every send stay cheap however
 * many runs came before.
 */
export class RunBook {
  private readonly runs = new Map<string, Run>()
  private readonly liveByAgent = new Map<string, Set<Run>>()
  /** Runs by their request's otids, like Letta's `otid:run:` keys in Redis. */
  private readonly byRequest = new Map<string, Run>()

  /** `logFlushMs`: how background runs' logs batch their chunks (see RunLog). */
  constructor(
    private readonly finishedKept = FINISHED_RUNS_KEPT,
    private readonly logFlushMs = 0,
  ) {}

  start(target: {
    agentId: string
    conversationId?: string
    lockKey?: string
    /** Default `send_message`. */
    runType?: RunType
    background?: boolean
    requestKey?: string
    context?: RunContext
  }): Run {
    const { background, runType = 'send_message', ...where } = target
    const run: Run = {
      id: newId('run'),
      ...where,
      runType,
      ...(background ? { log: new RunLog(this.logFlushMs) } : {}),
      status: 'running',
      open: true,
      playback: new Playback(),
      createdAt: new Date().toISOString(),
    }
    this.runs.set(run.id, run)
    if (run.requestKey) this.byRequest.set(run.requestKey, run)
    this.live(run.agentId) // prunes the agent's finished runs, so its index stays small
    const live = this.liveByAgent.get(run.agentId) ?? new Set()
    this.liveByAgent.set(run.agentId, live.add(run))
    this.forgetOldRuns()
    return run
  }

  get(id: string): Run | undefined {
    return this.runs.get(id)
  }

  /** The run an earlier request with these otids started (see Run.requestKey). */
  byRequestKey(key: string): Run | undefined {
    return this.byRequest.get(key)
  }

  /** Runs still running; `conversationId: null` means the agent's default conversation only. */
  running(filter: { agentId?: string; conversationId?: string | null }): Run[] {
    const agents = filter.agentId === undefined ? [...this.liveByAgent.keys()] : [filter.agentId]
    return agents.flatMap((agentId) =>
      this.live(agentId).filter(
        (run) =>
          run.status === 'running' &&
          (filter.conversationId === undefined ||
            (run.conversationId ?? null) === filter.conversationId),
      ),
    )
  }

  /** The open run holding a conversation lock, if any. */
  holder(target: { agentId: string; lockKey: string }): Run | undefined {
    return this.live(target.agentId).find((run) => run.open && run.lockKey === target.lockKey)
  }

  /** Like Letta, cancelling a finished run is a no-op that still reports success. */
  cancel(run: Run): void {
    settleRun(run, 'cancelled')
    run.playback.interrupt('cancelled')
  }

  /** Runs matching Letta's `GET /v1/runs` filters, newest first unless `order` is `asc`. */
  list(filter: {
    agentId?: string
    conversationId?: string
    statuses?: readonly string[]
    order?: 'asc' | 'desc'
    limit: number
  }): Run[] {
    const found = [...this.runs.values()].filter(
      (run) =>
        (filter.agentId === undefined || run.agentId === filter.agentId) &&
        (filter.conversationId === undefined || run.conversationId === filter.conversationId) &&
        (filter.statuses === undefined || filter.statuses.includes(run.status)),
    )
    // A Map iterates in insertion order: oldest first.
    if (filter.order !== 'asc') found.reverse()
    return found.slice(0, filter.limit)
  }

  /** An agent's live runs; runs that have finished since the last look leave the index here. */
  private live(agentId: string): Run[] {
    const runs = this.liveByAgent.get(agentId)
    if (!runs) return []
    for (const run of runs) if (!isLive(run)) runs.delete(run)
    if (runs.size === 0) this.liveByAgent.delete(agentId)
    return [...runs]
  }

  /** Drops the oldest finished runs beyond the history bound (a Map iterates oldest first). */
  private forgetOldRuns(): void {
    let excess = this.runs.size - this.finishedKept
    if (excess <= 0) return
    for (const [id, run] of this.runs) {
      if (excess <= 0) break
      if (isLive(run)) continue
      this.runs.delete(id)
      if (run.requestKey && this.byRequest.get(run.requestKey) === run) {
        this.byRequest.delete(run.requestKey)
      }
      excess--
    }
  }

  stopAll(): void {
    for (const run of this.runs.values()) run.playback.interrupt('stopped')
  }

  clear(): void {
    this.stopAll()
    this.runs.clear()
    this.liveByAgent.clear()
    this.byRequest.clear()
  }
}
