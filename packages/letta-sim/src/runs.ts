import { newId } from './frames.ts'

export type RunStatus = 'running' | 'completed' | 'cancelled' | 'failed'

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

/** Every run the sim has started, by id. */
export class RunBook {
  private readonly runs = new Map<string, Run>()

  start(target: { agentId: string; conversationId?: string; lockKey?: string }): Run {
    const run: Run = {
      id: newId('run'),
      ...target,
      status: 'running',
      open: true,
      playback: new Playback(),
      createdAt: new Date().toISOString(),
    }
    this.runs.set(run.id, run)
    return run
  }

  get(id: string): Run | undefined {
    return this.runs.get(id)
  }

  /** Runs still running; `conversationId: null` means the agent's default conversation only. */
  running(filter: { agentId?: string; conversationId?: string | null }): Run[] {
    return [...this.runs.values()].filter(
      (run) =>
        run.status === 'running' &&
        (filter.agentId === undefined || run.agentId === filter.agentId) &&
        (filter.conversationId === undefined ||
          (run.conversationId ?? null) === filter.conversationId),
    )
  }

  /** The open run holding a conversation lock, if any. */
  holder(lockKey: string): Run | undefined {
    return [...this.runs.values()].find((run) => run.open && run.lockKey === lockKey)
  }

  /** Like Letta, cancelling a finished run is a no-op that still reports success. */
  cancel(run: Run): void {
    if (run.status === 'running') run.status = 'cancelled'
    run.playback.interrupt('cancelled')
  }

  stopAll(): void {
    for (const run of this.runs.values()) run.playback.interrupt('stopped')
  }

  clear(): void {
    this.stopAll()
    this.runs.clear()
  }
}
