import type {
  LettaStreamingResponse,
  Message,
} from '@letta-ai/letta-client/resources/agents/messages'
import type { ErrorFrame, FrameInput, StopReasonFrame, UsageFrame } from './frames.ts'
import {
  CANCELLED_STOP,
  DONE,
  errorFrame,
  isoSeconds,
  newId,
  parseRawFrame,
  pingFrame,
  readEvent,
  sseData,
  sseError,
  withEnvelope,
} from './frames.ts'
import type { Step } from './scenarios.ts'

/** Bytes buffered for a slow reader before the sender waits for it to catch up. */
const HIGH_WATER_BYTES = 64 * 1024
/** Time for written bytes to reach the socket before a drop, so it cuts the body mid-way. */
const DROP_SETTLE_MS = 10

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

/** Whether the scenario brings its own opening ping (a replayed transcript does). */
function opensWithPing(steps: Step[]): boolean {
  const first = steps[0]
  if (!first) return false
  if ('frame' in first) return first.frame.message_type === 'ping'
  return 'raw' in first && parseRawFrame(first.raw)?.message_type === 'ping'
}

/** The sender's wall clock, for latency stamps a client in another process can compare. */
const wallClock = (): number => performance.timeOrigin + performance.now()

/** Fills the envelope; one date per message id, so all deltas of a message carry the same. */
class Envelopes {
  private readonly dates = new Map<string, string>()

  constructor(private readonly runId: string) {}

  fill(step: { frame: FrameInput; stamp?: boolean }): LettaStreamingResponse {
    const frame =
      step.stamp && 'content' in step.frame && typeof step.frame.content === 'string'
        ? { ...step.frame, content: `${wallClock().toFixed(3)} ${step.frame.content}` }
        : step.frame
    return withEnvelope(frame, {
      runId: this.runId,
      dateOf: (id) => {
        const known = this.dates.get(id)
        if (known) return known
        const date = isoSeconds()
        this.dates.set(id, date)
        return date
      },
    })
  }
}

export type StreamOptions = {
  includePings: boolean
  pingIntervalMs: number
  counters: StreamCounters
  /** The request's signal: aborts when the client goes away. */
  signal: AbortSignal
}

/** Plays a scenario as Letta's `text/event-stream` body. */
export function streamRun(
  run: Run,
  steps: Step[],
  options: StreamOptions,
): ReadableStream<Uint8Array> {
  const stream = new SseStream(run, options)
  void stream.play(steps)
  return stream.body
}

const encoder = new TextEncoder()

class SseStream {
  readonly body: ReadableStream<Uint8Array>
  private controller: ReadableStreamDefaultController<Uint8Array> | undefined
  private drained: (() => void) | undefined
  private lastWriteAt = performance.now()
  private pingTimer: ReturnType<typeof setTimeout> | undefined
  private sawError = false
  private readonly envelopes: Envelopes
  private readonly epoch: number
  private readonly clientGone: () => void

  constructor(
    private readonly run: Run,
    private readonly options: StreamOptions,
  ) {
    this.envelopes = new Envelopes(run.id)
    this.epoch = options.counters.open()
    const clientGone = () => {
      run.playback.interrupt('client_gone')
      this.drained?.()
    }
    this.clientGone = clientGone
    options.signal.addEventListener('abort', clientGone, { once: true })
    this.body = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.controller = controller
        },
        pull: () => this.drained?.(),
        cancel: clientGone,
      },
      { highWaterMark: HIGH_WATER_BYTES, size: (chunk) => chunk?.byteLength ?? 0 },
    )
  }

  async play(steps: Step[]): Promise<void> {
    const { playback } = this.run
    if (this.options.includePings) {
      // Letta prepends a ping so clients learn the run id before the first token.
      if (!opensWithPing(steps)) this.write(sseData(pingFrame(this.run.id)))
      this.schedulePing(this.options.pingIntervalMs)
    }
    let dropped = false
    for (const step of steps) {
      if (playback.interruption) break
      if ('drop' in step) {
        await this.settle()
        dropped = true
        break
      }
      await this.perform(step)
    }
    this.finish(dropped)
  }

  private async perform(step: Step): Promise<void> {
    const { playback } = this.run
    if ('frame' in step) this.write(sseData(this.envelopes.fill(step)))
    else if ('raw' in step) this.write(step.raw)
    else if ('error' in step) {
      this.sawError = true
      this.write(sseError(errorFrame(step.error, this.run.id)))
    } else if ('done' in step) this.write(DONE)
    else if ('sleep' in step) await playback.pause(step.sleep)
    else if ('stall' in step) await playback.pause(Number.POSITIVE_INFINITY)
    // An `http` step only means something before the stream starts: the route answers it.
    if ((this.controller?.desiredSize ?? 1) <= 0) {
      await playback.wait((wake) => {
        this.drained = wake
      })
      this.drained = undefined
    }
  }

  /** Waits until everything written so far has left the queue and had time to be sent. */
  private async settle(): Promise<void> {
    const { playback } = this.run
    while (!playback.interruption && (this.controller?.desiredSize ?? 0) < HIGH_WATER_BYTES) {
      await playback.pause(1)
    }
    await playback.pause(DROP_SETTLE_MS)
  }

  private write(text: string): void {
    if (!this.controller || this.run.playback.interruption === 'client_gone') return
    this.controller.enqueue(encoder.encode(text))
    this.lastWriteAt = performance.now()
  }

  /** A keepalive after every `pingIntervalMs` of silence, like Letta's keepalive wrapper. */
  private schedulePing(delayMs: number): void {
    this.pingTimer = setTimeout(() => {
      const idle = performance.now() - this.lastWriteAt
      if (idle + 1 < this.options.pingIntervalMs) {
        this.schedulePing(this.options.pingIntervalMs - idle)
        return
      }
      this.write(sseData(pingFrame(this.run.id)))
      this.schedulePing(this.options.pingIntervalMs)
    }, delayMs)
  }

  private finish(dropped: boolean): void {
    clearTimeout(this.pingTimer)
    const { run, options } = this
    options.signal.removeEventListener('abort', this.clientGone)
    const interruption = run.playback.interruption
    run.open = false
    if (interruption === 'client_gone') {
      options.counters.close(this.epoch, 'aborted')
      return
    }
    if (interruption === 'cancelled') this.write(CANCELLED_STOP)
    if (dropped || interruption === 'stopped') {
      // No reason given: Bun resets the connection without logging anything.
      this.controller?.error()
      if (run.status === 'running') run.status = 'failed'
    } else {
      this.controller?.close()
      if (run.status === 'running') run.status = this.sawError ? 'failed' : 'completed'
    }
    options.counters.close(this.epoch, interruption === 'stopped' ? undefined : 'completed')
  }
}

/** What a scenario amounts to without streaming: whole messages and how the run ended. */
export type Collected = {
  messages: Message[]
  stopReason?: StopReasonFrame
  usage?: UsageFrame
  error?: ErrorFrame
  dropped: boolean
  clientGone: boolean
}

function isMessage(
  frame: LettaStreamingResponse,
): frame is Extract<LettaStreamingResponse, Message> {
  return 'id' in frame && frame.message_type !== 'ping'
}

function take(collected: Collected, frame: LettaStreamingResponse): void {
  if (frame.message_type === 'stop_reason') collected.stopReason = frame as StopReasonFrame
  else if (frame.message_type === 'usage_statistics') collected.usage = frame as UsageFrame
  else if (isMessage(frame)) collected.messages.push(frame)
}

function parseErrorData(data: string, runId: string): ErrorFrame {
  try {
    return JSON.parse(data) as ErrorFrame
  } catch {
    return errorFrame({ error_type: 'internal_error', message: data }, runId)
  }
}

/** Plays a scenario for a non-streaming request (pass it folded: whole messages). */
export async function collectRun(run: Run, steps: Step[], signal: AbortSignal): Promise<Collected> {
  const { playback } = run
  const collected: Collected = { messages: [], dropped: false, clientGone: false }
  const envelopes = new Envelopes(run.id)
  const clientGone = () => playback.interrupt('client_gone')
  signal.addEventListener('abort', clientGone, { once: true })
  for (const step of steps) {
    if (playback.interruption) break
    if ('frame' in step) take(collected, envelopes.fill(step))
    else if ('error' in step) collected.error = errorFrame(step.error, run.id)
    else if ('raw' in step) {
      const { event, data } = readEvent(step.raw)
      const frame = parseRawFrame(step.raw)
      if (event === 'error') collected.error = parseErrorData(data, run.id)
      else if (frame) take(collected, frame as LettaStreamingResponse)
    } else if ('sleep' in step) await playback.pause(step.sleep)
    else if ('stall' in step) await playback.pause(Number.POSITIVE_INFINITY)
    else if ('drop' in step) {
      collected.dropped = true
      break
    }
  }
  signal.removeEventListener('abort', clientGone)
  run.open = false
  collected.clientGone = playback.interruption === 'client_gone'
  if (playback.interruption === 'cancelled') {
    collected.stopReason = { message_type: 'stop_reason', stop_reason: 'cancelled' }
  }
  if (run.status === 'running' && !collected.clientGone) {
    run.status = collected.error || collected.dropped ? 'failed' : 'completed'
  }
  return collected
}
