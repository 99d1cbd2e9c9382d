import {
  CANCELLED_STOP,
  DONE,
  Envelopes,
  errorFrame,
  parseRawFrame,
  pingFrame,
  sseData,
  sseError,
} from './frames.ts'
import type { Run, StreamCounters } from './runs.ts'
import { settleRun } from './runs.ts'
import type { Step } from './scenarios.ts'

/** Bytes buffered for a slow reader before the sender waits for it to catch up. */
const HIGH_WATER_BYTES = 64 * 1024
/** Time for written bytes to reach the socket before a drop, so it cuts the body mid-way. */
const DROP_SETTLE_MS = 10

/** Whether the scenario brings its own opening ping (a replayed transcript does). */
function opensWithPing(steps: Step[]): boolean {
  const first = steps[0]
  if (!first) return false
  if ('frame' in first) return first.frame.message_type === 'ping'
  return 'raw' in first && parseRawFrame(first.raw)?.message_type === 'ping'
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
  /** The first reader of a background run left; the run goes on without writing to it. */
  private readerGone = false
  private readonly envelopes: Envelopes
  private readonly epoch: number
  private readonly clientGone: () => void

  constructor(
    private readonly run: Run,
    private readonly options: StreamOptions,
  ) {
    this.envelopes = new Envelopes(run.id)
    this.epoch = options.counters.open()
    // A background run does not depend on its first reader: it plays on into its log.
    const clientGone = () => {
      if (!run.log) return run.playback.interrupt('client_gone')
      this.readerGone = true
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
    let played = 0
    for (const step of steps) {
      if (playback.interruption) break
      if ('drop' in step) {
        await this.settle()
        // A kept run does not depend on its reader: only this connection breaks.
        if (this.run.log) {
          this.cutReader()
          continue
        }
        dropped = true
        break
      }
      await this.perform(step)
      // A step cut short (a stall or sleep woken by the interruption) was not played.
      if (playback.interruption) break
      played++
    }
    this.finish(dropped, played === steps.length)
  }

  private async perform(step: Step): Promise<void> {
    const { playback } = this.run
    if ('frame' in step) {
      const frame = this.envelopes.fill(step)
      if (frame.message_type === 'stop_reason') this.run.stopReason = frame.stop_reason
      // Background runs number their messages as Letta's Redis stream does (seq_id from 1).
      if (this.run.log && 'seq_id' in frame) frame.seq_id = this.run.log.peekSeq()
      this.write(sseData(frame))
    } else if ('raw' in step) this.write(step.raw)
    else if ('error' in step) {
      this.sawError = true
      this.write(sseError(errorFrame(step.error, this.run.id)))
    } else if ('done' in step) this.write(DONE)
    else if ('sleep' in step) await playback.pause(step.sleep)
    else if ('stall' in step) await playback.pause(Number.POSITIVE_INFINITY)
    // An `http` step only means something before the stream starts: the route answers it.
    if (!this.readerGone && (this.controller?.desiredSize ?? 1) <= 0) {
      await playback.wait((wake) => {
        this.drained = wake
      })
      this.drained = undefined
    }
  }

  /** The reader's connection breaks mid-way, as a network fault does; the run plays on. */
  private cutReader(): void {
    this.readerGone = true
    try {
      this.controller?.error()
    } catch {
      // Already closed by the client.
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

  /** `logged: false` for keepalive pings, which Letta adds per reader, outside the run's log. */
  private write(text: string, logged = true): void {
    if (logged) this.run.log?.append(text)
    if (!this.controller || this.readerGone || this.run.playback.interruption === 'client_gone')
      return
    try {
      this.controller.enqueue(encoder.encode(text))
      this.lastWriteAt = performance.now()
    } catch {
      // The body was closed under us (the connection is gone): same as a client leaving.
      this.run.playback.interrupt('client_gone')
    }
  }

  /** A keepalive after every `pingIntervalMs` of silence, like Letta's keepalive wrapper. */
  private schedulePing(delayMs: number): void {
    this.pingTimer = setTimeout(() => {
      const idle = performance.now() - this.lastWriteAt
      if (idle + 1 < this.options.pingIntervalMs) {
        this.schedulePing(this.options.pingIntervalMs - idle)
        return
      }
      this.write(sseData(pingFrame(this.run.id)), false)
      this.schedulePing(this.options.pingIntervalMs)
    }, delayMs)
  }

  /** `complete`: every step was played, so the agent is done even if the client left since. */
  private finish(dropped: boolean, complete: boolean): void {
    clearTimeout(this.pingTimer)
    const { run, options } = this
    options.signal.removeEventListener('abort', this.clientGone)
    const interruption = run.playback.interruption
    run.open = false
    run.log?.finish()
    if (interruption === 'client_gone') {
      if (complete) settleRun(run, this.sawError ? 'failed' : 'completed')
      options.counters.close(this.epoch, 'aborted')
      return
    }
    if (interruption === 'cancelled') this.write(CANCELLED_STOP)
    const cut = dropped || interruption === 'stopped'
    try {
      // No reason given: Bun resets the connection without logging anything.
      if (cut) this.controller?.error()
      else this.controller?.close()
    } catch {
      // Already closed by the client: nothing left to end.
    }
    settleRun(run, cut || this.sawError ? 'failed' : 'completed')
    options.counters.close(this.epoch, interruption === 'stopped' ? undefined : 'completed')
  }
}
