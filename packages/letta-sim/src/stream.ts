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
import type { LogReader, RunLog } from './run-log.ts'
import { FLUSH_SIZE, readLog } from './run-log.ts'
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

/** A response body, and when its headers may go: with the first byte, as Letta sends them. */
export type StreamAnswer = { body: ReadableStream<Uint8Array>; ready: Promise<void> }

/**
 * Plays a scenario as Letta's `text/event-stream` body. A background run plays into its log,
 * and the body is that log's first reader, as in Letta (whose response reads the Redis stream).
 */
export function streamRun(run: Run, steps: Step[], options: StreamOptions): StreamAnswer {
  if (run.log) {
    const background = new BackgroundRun(run, run.log, options)
    void background.play(steps)
    return background.reader
  }
  const stream = new SseStream(run, options)
  void stream.play(steps)
  return { body: stream.body, ready: Promise.resolve() }
}

/** The steps of a scenario, written as SSE chunks wherever the subclass puts them. */
abstract class Player {
  protected sawError = false
  private readonly envelopes: Envelopes

  constructor(protected readonly run: Run) {
    this.envelopes = new Envelopes(run.id)
  }

  protected abstract write(text: string): void

  protected async perform(step: Step): Promise<void> {
    const { playback } = this.run
    if ('frame' in step) {
      const frame = this.envelopes.fill(step)
      if (frame.message_type === 'stop_reason') this.run.stopReason = frame.stop_reason
      this.write(sseData(frame))
    } else if ('raw' in step) this.write(step.raw)
    else if ('error' in step) {
      this.sawError = true
      const error = errorFrame(step.error, this.run.id)
      this.run.error = error
      this.write(sseError(error))
    } else if ('done' in step) this.write(DONE)
    else if ('sleep' in step) await playback.pause(step.sleep)
    else if ('stall' in step) await playback.pause(Number.POSITIVE_INFINITY)
    // An `http` step only means something before the stream starts: the route answers it; a
    // `landsLate` step only for a run Letta keeps (its copy in Redis).
  }
}

const encoder = new TextEncoder()

/** A foreground run: its steps go to this response, and end with it. */
class SseStream extends Player {
  readonly body: ReadableStream<Uint8Array>
  private controller: ReadableStreamDefaultController<Uint8Array> | undefined
  private drained: (() => void) | undefined
  private lastWriteAt = performance.now()
  private pingTimer: ReturnType<typeof setTimeout> | undefined
  private readonly epoch: number
  private readonly clientGone: () => void

  constructor(
    run: Run,
    private readonly options: StreamOptions,
  ) {
    super(run)
    this.epoch = options.counters.open()
    this.clientGone = () => run.playback.interrupt('client_gone')
    options.signal.addEventListener('abort', this.clientGone, { once: true })
    this.body = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.controller = controller
        },
        pull: () => this.drained?.(),
        cancel: this.clientGone,
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
        dropped = true
        break
      }
      await this.perform(step)
      await this.keepUp()
      // A step cut short (a stall or sleep woken by the interruption) was not played.
      if (playback.interruption) break
      played++
    }
    this.finish(dropped, played === steps.length)
  }

  /** Waits while the client is behind by more than the high-water mark. */
  private async keepUp(): Promise<void> {
    if ((this.controller?.desiredSize ?? 1) > 0) return
    await this.run.playback.wait((wake) => {
      this.drained = wake
    })
    this.drained = undefined
  }

  /** Waits until everything written so far has left the queue and had time to be sent. */
  private async settle(): Promise<void> {
    const { playback } = this.run
    while (!playback.interruption && (this.controller?.desiredSize ?? 0) < HIGH_WATER_BYTES) {
      await playback.pause(1)
    }
    await playback.pause(DROP_SETTLE_MS)
  }

  protected write(text: string): void {
    if (!this.controller || this.run.playback.interruption === 'client_gone') return
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
      this.write(sseData(pingFrame(this.run.id)))
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

/** Letta's processor ends a background stream at `[DONE]` or at an error event. */
const endsStream = (text: string): boolean =>
  text.startsWith(DONE.trimEnd()) ||
  text.includes(`\n${DONE.trimEnd()}`) ||
  text.startsWith('event: error') ||
  text.includes('\nevent: error')

/**
 * A background run: its steps go into its log whether anyone reads it or not (Letta's
 * create_background_stream_processor), and it ends the log as that processor does.
 */
class BackgroundRun extends Player {
  readonly reader: LogReader
  /** A chunk that ends the stream was written: the rest of the scenario is not played. */
  private ended = false

  constructor(
    run: Run,
    private readonly log: RunLog,
    private readonly options: StreamOptions,
  ) {
    super(run)
    this.reader = readLog(log, { runId: run.id, after: 0, ...options })
  }

  async play(steps: Step[]): Promise<void> {
    const { playback } = this.run
    if (this.options.includePings && !opensWithPing(steps)) {
      this.write(sseData(pingFrame(this.run.id)))
    }
    let sinceYield = 0
    for (const step of steps) {
      if (playback.interruption || this.ended) break
      // A model streaming at full speed still arrives in network reads: every WRITER_BATCH
      // chunks the writer lets the event loop (and the log's readers) run, so readers get
      // batches of that size, as from Letta's writer, not the whole answer in one write.
      if (++sinceYield >= FLUSH_SIZE) {
        sinceYield = 0
        await new Promise((resolve) => setImmediate(resolve))
      }
      if ('drop' in step) {
        // The first reader's connection breaks once what it was sent is on its way; the run
        // does not notice.
        await playback.pause(DROP_SETTLE_MS)
        this.reader.cut()
      } else if ('landsLate' in step) this.log.landLate(step.landsLate, step.behind)
      else await this.perform(step)
    }
    this.finish()
  }

  /** `ends`: the chunk ends every reader (Letta marks it `complete`). */
  protected write(text: string, ends = endsStream(text)): void {
    if (this.ended) return
    this.ended = ends
    this.log.append(text, ends)
  }

  /** The end Letta's processor writes when the scenario did not bring its own. */
  private finish(): void {
    const { run } = this
    const interruption = run.playback.interruption
    run.open = false
    if (interruption === 'cancelled') {
      this.write(CANCELLED_STOP)
    } else if (interruption === 'stopped') {
      this.fail('stream_task_cancelled', INTERRUPTED_MESSAGE)
    } else if (!this.ended && !run.stopReason) {
      this.fail('stream_incomplete', 'Stream ended unexpectedly without stop_reason.')
    }
    this.write(DONE)
    settleRun(run, this.sawError ? 'failed' : 'completed')
  }

  private fail(errorType: string, message: string): void {
    this.sawError = true
    this.run.stopReason = 'error'
    this.write(sseData({ message_type: 'stop_reason', stop_reason: 'error' }))
    // Written by the processor itself, not read from the agent: it does not end the stream.
    this.write(sseError(errorFrame({ error_type: errorType, message }, this.run.id)), false)
  }
}

const INTERRUPTED_MESSAGE =
  'Background stream processing was interrupted before completion. Please retry.'
