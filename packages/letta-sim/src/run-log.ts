/**
 * The sim's stand-in for Letta's Redis stream `sse:run:{run_id}` (letta/server/rest_api/
 * redis_stream_manager.py): a background run writes every SSE chunk into its RunLog, numbered
 * from 1; every reader — the send's own response, `POST /v1/runs/{id}/stream`, a same-otid
 * retry — reads the log after a number, as Letta's `redis_sse_stream_generator` does.
 */
import { pingFrame, sseData } from './frames.ts'
import type { StreamCounters } from './runs.ts'

/** Chunks kept per run, like Letta's `XADD maxlen≈10000`. */
export const RUN_LOG_MAX_CHUNKS = 10_000
/** Letta's writer also flushes once this many chunks wait (RedisSSEStreamWriter.flush_size). */
export const FLUSH_SIZE = 50
/** How far past RUN_LOG_MAX_CHUNKS a log grows before its oldest chunks are dropped. */
const TRIM_STEP = 1_000

type Chunk = { seq: number; text: string; complete: boolean }

/**
 * A background run's chunks in order. Readers see a chunk once it is flushed: at once by
 * default, or (`flushMs`, Letta's 500 ms) in batches as Letta's RedisSSEStreamWriter writes
 * them — when `flushMs` passed since the last flush at a write or at its periodic check, when
 * 50 chunks wait, or with the final chunk.
 */
export class RunLog {
  /** In the order they landed, which is not always their numbers' (see `landLate`). */
  readonly chunks: Chunk[] = []
  /** Chunks dropped from the front by trimming: a chunk's place is `trimmed` + its index. */
  trimmed = 0
  /** The terminal chunk is written: nothing follows. */
  done = false
  private next = 1
  private pending: Chunk[] = []
  /** Chunks numbered but not landed yet, how many more join them, and behind how many they land. */
  private late: Chunk[] = []
  private lateToCome = 0
  private lateBehind = 0
  private lastFlushAt = Number.NEGATIVE_INFINITY
  private timer: ReturnType<typeof setInterval> | undefined
  private readonly listeners = new Set<() => void>()

  constructor(private readonly flushMs = 0) {}

  /**
   * The next `count` chunks land after the `behind` chunks that follow them, as when Letta's
   * writer flushed them in a batch whose Redis pipeline finished after later batches'
   * (RedisSSEStreamWriter._flush_run: flushes in flight together). Letta's reader hands chunks
   * over in the order they landed, and stops at the complete chunk: chunks landing after it
   * are never read.
   */
  landLate(count: number, behind = 1): void {
    this.lateToCome = count
    this.lateBehind = behind
  }

  /** `complete` marks the chunk that ends every reader (Letta's `complete: "true"`). */
  append(text: string, complete = false): void {
    if (this.done) return
    const chunk = { seq: this.next++, text, complete }
    if (this.lateToCome > 0 && !complete) {
      this.lateToCome--
      this.late.push(chunk)
      return
    }
    this.pending.push(chunk)
    if (this.late.length > 0 && --this.lateBehind <= 0) {
      this.pending.push(...this.late)
      this.late = []
    }
    if (complete) this.done = true
    if (
      this.flushMs === 0 ||
      complete ||
      this.pending.length >= FLUSH_SIZE ||
      performance.now() - this.lastFlushAt > this.flushMs
    ) {
      this.flush()
    } else {
      this.timer ??= setInterval(() => {
        if (performance.now() - this.lastFlushAt > this.flushMs) this.flush()
      }, this.flushMs)
      this.timer.unref()
    }
  }

  /** Calls `listener` whenever chunks become readable; returns the unsubscribe. */
  watch(listener: () => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  private flush(): void {
    if (this.done) clearInterval(this.timer)
    if (this.pending.length === 0) return
    this.chunks.push(...this.pending)
    this.pending = []
    this.lastFlushAt = performance.now()
    // Trimmed in steps, like XADD's approximate maxlen: one splice per step, not one per chunk
    // (a shift of 10,000 chunks for every chunk of a long answer).
    if (this.chunks.length > RUN_LOG_MAX_CHUNKS + TRIM_STEP) {
      this.trimmed += this.chunks.splice(0, this.chunks.length - RUN_LOG_MAX_CHUNKS).length
    }
    for (const listener of this.listeners) listener()
  }
}

export type LogReaderOptions = {
  runId: string
  /** Chunks numbered above this are read (`starting_after`; 0 for the send's own response). */
  after: number
  /** Keepalive pings after every `pingIntervalMs` of silence (Letta's add_keepalive_to_stream). */
  includePings: boolean
  pingIntervalMs: number
  signal: AbortSignal
  /** Counts the reader as a stream: completed at the complete chunk, aborted if it is left. */
  counters?: StreamCounters
}

export type LogReader = {
  body: ReadableStream<Uint8Array>
  /** Resolves with the first byte (Letta sends the headers with it) or when the client leaves. */
  ready: Promise<void>
  /** Resets the reader's connection: the network between client and Letta broke. */
  cut(): void
}

const encoder = new TextEncoder()

/**
 * Reads a run's log after `after`, to its complete chunk. As in Letta, chunks stored with
 * `"seq_id":null` / `"run_id":null` get their number / run id on the way out, keepalive pings
 * repeat the last `seq_id` this reader passed on (null before any), and a reader whose start
 * lies past the complete chunk — or of a run with no log — never ends: it only pings.
 */
export function readLog(log: RunLog | undefined, options: LogReaderOptions): LogReader {
  const { runId, signal } = options
  /** The place of the next chunk to look at: Letta's reader walks Redis' entries in order. */
  let place = 0
  let lastSeq: number | null = null
  let controller: ReadableStreamDefaultController<Uint8Array> | undefined
  let pingTimer: ReturnType<typeof setTimeout> | undefined
  let unwatch = () => {}
  let opened = () => {}
  const ready = new Promise<void>((resolve) => {
    opened = resolve
  })
  const epoch = options.counters?.open()
  let ended = false
  const end = (outcome: 'completed' | 'aborted') => {
    if (ended) return
    ended = true
    unwatch()
    clearTimeout(pingTimer)
    signal.removeEventListener('abort', left)
    if (epoch !== undefined) options.counters?.close(epoch, outcome)
    opened()
  }
  const left = () => end('aborted')
  const send = (text: string) => {
    controller?.enqueue(encoder.encode(text))
    opened()
  }
  const schedulePing = () => {
    if (!options.includePings) return
    clearTimeout(pingTimer)
    pingTimer = setTimeout(() => {
      send(sseData({ ...pingFrame(runId), seq_id: lastSeq }))
      schedulePing()
    }, options.pingIntervalMs)
  }
  // The chunks readable since the last pass go out in one write (what Redis' XREAD hands
  // Letta's reader at once); the silence a ping fills starts after them.
  const pass = () => {
    passPending = false
    if (ended) return
    const chunks = log?.chunks ?? []
    const trimmed = log?.trimmed ?? 0
    // Every chunk numbered above `after`, in the order the chunks landed, as Letta's
    // redis_sse_stream_generator filters by `starting_after` (the oldest may be trimmed).
    let text = ''
    for (let i = Math.max(0, place - trimmed); i < chunks.length; i++) {
      const chunk = chunks[i] as Chunk
      place = trimmed + i + 1
      if (chunk.seq <= options.after) continue
      const filled = chunk.text
        .replaceAll('"run_id":null', `"run_id":"${runId}"`)
        .replaceAll('"seq_id":null', `"seq_id":${chunk.seq}`)
      const seq = /"seq_id":(\d+)/.exec(filled)?.[1]
      if (seq !== undefined) lastSeq = Number(seq)
      text += filled
      if (chunk.complete) {
        send(text)
        end('completed')
        controller?.close()
        return
      }
    }
    if (text === '') return
    send(text)
    schedulePing()
  }
  // A run writes its log without waiting for readers; a reader catches up once the writer
  // yields to the event loop, with everything written meanwhile.
  let passPending = false
  const wake = () => {
    if (passPending) return
    passPending = true
    setImmediate(pass)
  }
  const body = new ReadableStream<Uint8Array>({
    start(streamController) {
      controller = streamController
      signal.addEventListener('abort', left, { once: true })
      if (log) unwatch = log.watch(wake)
      schedulePing()
      pass()
    },
    cancel: left,
  })
  return {
    body,
    ready,
    cut() {
      left()
      try {
        // No reason given: Bun resets the connection without logging anything.
        controller?.error()
      } catch {
        // Already closed.
      }
    },
  }
}
