import type { Static } from '@sinclair/typebox'
import { Type } from '@sinclair/typebox'
import { ChatUser, TemplateName } from './request.ts'

/**
 * How the pipe picks up an answer whose connection broke: it sends the same request again
 * with the last event id it read as `Last-Event-ID`, waiting `RESUME_FIRST_DELAY_MS` before the
 * first try and twice as long before each next (at most `RESUME_MAX_DELAY_MS`), up to
 * `RESUME_ATTEMPTS` times per answer.
 */
export const RESUME_ATTEMPTS = 5
export const RESUME_FIRST_DELAY_MS = 250
export const RESUME_MAX_DELAY_MS = 4_000

/**
 * The id of an event that came from a Letta run the bridge can pick up again:
 * `<run id>:<seq_id of the Letta frame>:<index of the event among that frame's>`. Other events
 * (before the run, or of a run Letta cannot replay) have plain numbers. No anchors: JavaScript
 * wraps it in ^…$, the pipe uses fullmatch (Python's `$` also matches before a final newline).
 */
export const RESUMABLE_EVENT_ID = /(run-[A-Za-z0-9-]{1,100}):([0-9]{1,12}):([0-9]{1,6})/

const whole = new RegExp(`^(?:${RESUMABLE_EVENT_ID.source})$`)

/** Where in a Letta run an event came from. */
export type RunPoint = { runId: string; seq: number; index: number }

export const eventIdOf = (point: RunPoint): string => `${point.runId}:${point.seq}:${point.index}`

/** The run point an event id names, or undefined for an id that names none. */
export function runPointOf(id: string | null | undefined): RunPoint | undefined {
  const match = id ? whole.exec(id) : null
  if (!match) return undefined
  return { runId: match[1] as string, seq: Number(match[2]), index: Number(match[3]) }
}

/** Whether `point` comes after `cursor` in its run. */
export const isAfter = (point: RunPoint, cursor: RunPoint): boolean =>
  point.seq > cursor.seq || (point.seq === cursor.seq && point.index > cursor.index)

/** The stop button, said to the bridge: a resumable answer goes on when only its connection ends. */
export const StopRequest = Type.Object(
  {
    protocolVersion: Type.String({ minLength: 1, maxLength: 64 }),
    user: ChatUser,
    template: Type.Optional(TemplateName),
    chatId: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    eventId: Type.String({
      minLength: 1,
      maxLength: 200,
      description: 'The last event id the pipe read of the answer to stop.',
    }),
  },
  {
    additionalProperties: false,
    description: "Stop the agent's run behind an answer whose stream may already be closed.",
  },
)
export type StopRequest = Static<typeof StopRequest>
