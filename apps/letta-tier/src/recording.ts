/** One request to Letta and what it answered. */
export type Exchange = {
  request: { method: string; path: string; body?: unknown }
  status: number
  contentType: string
  /** A JSON answer (or its text when it is not JSON). */
  json?: unknown
  /** An event-stream answer: one entry per SSE event, without the closing blank line. */
  sse?: string[]
  /**
   * What the model was given by the calls this exchange caused: the last messages of each call
   * (OpenAI chat format, as the fake model received them). Only where a case asks for it.
   */
  modelSaw?: unknown[][]
}

export type Recording = Exchange & { name: string; note?: string }

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'
const ZERO_ID = '-00000000-0000-4000-8000-000000000000'

/**
 * The recording as stable JSON: Letta ids (`agent-…`, `run-…`) and bare UUIDs numbered in order
 * of appearance, model call ids too, timestamps fixed (format kept: the shape is what matters).
 */
export function normalise(recording: Recording): string {
  let text = JSON.stringify(recording, null, 2)
  const seen = new Map<string, string>()
  const counts = new Map<string, number>()
  const number = (kind: string, value: string, render: (n: number) => string) => {
    const known = seen.get(value)
    if (known) return known
    const n = (counts.get(kind) ?? 0) + 1
    counts.set(kind, n)
    const replacement = render(n)
    seen.set(value, replacement)
    return replacement
  }
  // Ids the caller made up (an unknown run) and Letta's default user and organisation stay.
  text = text.replace(new RegExp(`\\b([a-z][a-z_]*)-(${UUID})\\b`, 'g'), (whole, prefix: string) =>
    whole.endsWith(ZERO_ID) || (prefix === 'agent' && whole.endsWith('000000000000'))
      ? whole
      : number(
          prefix,
          whole,
          (n) => `${prefix}-00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
        ),
  )
  text = text.replace(new RegExp(`\\b${UUID}\\b`, 'g'), (whole) =>
    whole.startsWith('00000000-0000-4000-8000-')
      ? whole
      : number('uuid', whole, (n) => `00000000-0000-4000-9000-${String(n).padStart(12, '0')}`),
  )
  text = text.replace(/\b(call|chatcmpl)[_-][0-9A-Za-z]{20,}/g, (whole, kind: string) =>
    number(kind, whole, (n) => `${kind}_${String(n).padStart(24, '0')}`),
  )
  text = text.replace(/REC\d+x[0-9a-f]{6}/g, 'REC-MARKER')
  text = text.replace(/http:\/\/127\.0\.0\.1:\d+/g, 'http://127.0.0.1:PORT')
  // A Letta instance's directory, in the tracebacks of failed tools.
  text = text.replace(/\/letta-tier-[0-9A-Za-z]{6}\//g, '/letta-tier-INSTANCE/')
  text = text.replace(
    /\d{4}-\d\d-\d\d([T ])\d\d:\d\d:\d\d(\.\d+)?/g,
    (_whole, separator: string, fraction: string | undefined) =>
      `2026-01-01${separator}00:00:00${fraction ? `.${'0'.repeat(fraction.length - 1)}` : ''}`,
  )
  // Python's repr of a date, in some error sentences (the actor in a run's 404).
  text = text.replace(/datetime\.datetime\(\d+(, \d+)*/g, 'datetime.datetime(2026, 1, 1, 0, 0')
  return `${text}\n`
}
