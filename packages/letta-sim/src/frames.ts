import type { LettaStreamingResponse } from '@letta-ai/letta-client/resources/agents/messages'

export type PingFrame = LettaStreamingResponse.LettaPing
export type StopReasonFrame = LettaStreamingResponse.LettaStopReason
export type UsageFrame = LettaStreamingResponse.LettaUsageStatistics

/** Frames that carry the message envelope (id, date, otid, step_id, run_id …). */
export type MessageFrame = Exclude<
  LettaStreamingResponse,
  StopReasonFrame | UsageFrame | LettaStreamingResponse.LettaErrorMessage
>

type DateOptional<T> = T extends unknown ? Omit<T, 'date'> & { date?: string } : never

/** What a scenario writes: a message whose date the sender may fill in, or a terminal frame. */
export type FrameInput = DateOptional<MessageFrame> | StopReasonFrame | UsageFrame

/**
 * The `event: error` payload as Letta sends it. The SDK types `detail` and `seq_id` as optional
 * numbers/strings, but the server serialises absent values as `null`.
 */
export type ErrorFrame = Omit<LettaStreamingResponse.LettaErrorMessage, 'detail' | 'seq_id'> & {
  detail: string | null
  seq_id: number | null
}

export type ErrorInput = Pick<ErrorFrame, 'error_type' | 'message'> &
  Partial<Pick<ErrorFrame, 'detail' | 'seq_id' | 'run_id'>>

export const DONE = 'data: [DONE]\n\n'

/**
 * Letta's cancellation wrapper writes this with Python's `json.dumps`, so — unlike every
 * other frame — it has spaces after `:` and `,`. Kept byte-exact on purpose.
 */
export const CANCELLED_STOP =
  'data: {"message_type": "stop_reason", "stop_reason": "cancelled"}\n\n'

export const uuid = (): string => crypto.randomUUID()

/** Letta ids are `<primitive>-<uuid4>`, e.g. `agent-…`, `run-…`, `message-…`, `step-…`. */
export const newId = (primitive: string): string => `${primitive}-${uuid()}`

/** Letta serialises message dates with `isoformat(timespec="seconds")`: no fraction, `+00:00`. */
export function isoSeconds(at: Date = new Date()): string {
  return `${at.toISOString().slice(0, 19)}+00:00`
}

export function isMessageFrame(frame: FrameInput): frame is DateOptional<MessageFrame> {
  return 'id' in frame
}

/** Context the sender fills into a message envelope. */
export type EnvelopeContext = {
  runId: string
  /** One date per message id: every delta of a message carries its creation date. */
  dateOf(messageId: string): string
}

/** Letta's envelope keys, in the order Pydantic serialises them. */
const ENVELOPE = {
  id: '',
  date: '',
  name: null,
  message_type: undefined,
  otid: null,
  sender_id: null,
  step_id: null,
  is_err: null,
  seq_id: null,
  run_id: null,
} as const

/**
 * Lays a message out in Letta's key order — id, date, name, message_type, otid, sender_id,
 * step_id, is_err, seq_id, run_id, then the type's own fields — filling what is missing.
 */
export function withEnvelope(frame: FrameInput, context: EnvelopeContext): LettaStreamingResponse {
  if (!isMessageFrame(frame)) return frame
  // Spreading over a full envelope keeps the envelope's key order; the type's own fields follow.
  return {
    ...ENVELOPE,
    ...frame,
    date: frame.date ?? context.dateOf(frame.id),
    run_id: frame.run_id ?? context.runId,
  }
}

export function pingFrame(runId: string): PingFrame {
  return {
    id: newId('ping'),
    date: isoSeconds(),
    name: null,
    message_type: 'ping',
    otid: null,
    sender_id: null,
    step_id: null,
    is_err: null,
    seq_id: null,
    run_id: runId,
  }
}

export function errorFrame(input: ErrorInput, runId: string): ErrorFrame {
  return {
    message_type: 'error_message',
    run_id: input.run_id ?? runId,
    error_type: input.error_type,
    message: input.message,
    detail: input.detail ?? null,
    seq_id: input.seq_id ?? null,
  }
}

/** One SSE data frame: compact JSON on a single line, as Pydantic's `model_dump_json` writes it. */
export const sseData = (frame: LettaStreamingResponse): string =>
  `data: ${JSON.stringify(frame)}\n\n`

export const sseError = (error: ErrorFrame): string =>
  `event: error\ndata: ${JSON.stringify(error)}\n\n`

/** Splits Letta's SSE text into events, each with its closing blank line; joined, they are the input. */
export function splitEvents(transcript: string): string[] {
  const events: string[] = []
  let start = 0
  for (let end = transcript.indexOf('\n\n'); end !== -1; end = transcript.indexOf('\n\n', start)) {
    events.push(transcript.slice(start, end + 2))
    start = end + 2
  }
  if (start < transcript.length) events.push(transcript.slice(start))
  return events
}

/**
 * Reads a Letta SSE body to its end as raw events (the text between blank lines, as sent), for
 * recordings that keep Letta's exact bytes; `onEvent` may make calls while the stream is open.
 * A body cut by the server ends the list (the cut shows as a missing `[DONE]`).
 */
export async function readRawEvents(
  response: Response,
  onEvent?: (event: string) => Promise<void>,
): Promise<string[]> {
  const events: string[] = []
  const reader = response.body?.getReader()
  if (!reader) return events
  const decoder = new TextDecoder()
  let buffer = ''
  try {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) break
      buffer += decoder.decode(value, { stream: true })
      for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
        const event = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        events.push(event)
        await onEvent?.(event)
      }
    }
  } catch {
    // Cut mid-body: what arrived is the recording.
  }
  if (buffer.trim()) events.push(buffer)
  return events
}

/** The `event:` name and joined `data:` lines of one raw SSE event. */
export function readEvent(raw: string): { event?: string; data: string } {
  let event: string | undefined
  const data: string[] = []
  for (const line of raw.split('\n')) {
    if (line.startsWith('event:')) event = line.slice(6).trim()
    if (line.startsWith('data:')) data.push(line.slice(line.startsWith('data: ') ? 6 : 5))
  }
  return { event, data: data.join('\n') }
}

/** The JSON object a raw `data:` event carries, or undefined for `[DONE]`, errors and garbage. */
export function parseRawFrame(raw: string): Record<string, unknown> | undefined {
  const { event, data } = readEvent(raw)
  if (event !== undefined || !data.startsWith('{')) return undefined
  try {
    const value: unknown = JSON.parse(data)
    return typeof value === 'object' && value !== null
      ? (value as Record<string, unknown>)
      : undefined
  } catch {
    return undefined
  }
}

/** The sender's wall clock, for latency stamps a client in another process can compare. */
const wallClock = (): number => performance.timeOrigin + performance.now()

/** Fills the envelope; one date per message id, so all deltas of a message carry the same. */
export class Envelopes {
  private readonly dates = new Map<string, string>()
  private readonly context: EnvelopeContext

  constructor(runId: string) {
    this.context = {
      runId,
      dateOf: (id) => {
        const date = this.dates.get(id) ?? isoSeconds()
        this.dates.set(id, date)
        return date
      },
    }
  }

  fill(step: { frame: FrameInput; stamp?: boolean }): LettaStreamingResponse {
    const frame =
      step.stamp && 'content' in step.frame && typeof step.frame.content === 'string'
        ? { ...step.frame, content: `${wallClock().toFixed(3)} ${step.frame.content}` }
        : step.frame
    return withEnvelope(frame, this.context)
  }
}
