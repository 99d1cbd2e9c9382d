import { APIConnectionError, APIError } from '@letta-ai/letta-client'
import type { ErrorBody } from '@letta-openwebui/events'
import { errorBody } from '@letta-openwebui/events'
import { NotAnEventStream, StreamInterrupted } from './frame-stream.ts'

/** Letta's `event: error` payload (LETTA_WIRE.md); `message` is written for users, `detail` is not. */
type LettaErrorPayload = { error_type?: string; message?: string }

/**
 * Letta refused to create an agent from a template (a model or embedding handle it does not
 * offer, a tool it does not know): nothing the student can fix, so it is reported as the
 * bridge's configuration problem, with Letta's detail for the log only.
 */
export class TemplateRejected extends Error {
  override name = 'TemplateRejected'
  constructor(
    readonly template: string,
    readonly status: number,
    readonly detail: string,
  ) {
    super(
      `Letta refused to create an agent from template "${template}" (HTTP ${status}): ${detail}`,
    )
  }
}

/** Longest sentence of Letta's passed on to the chat: a user-facing message is one or two lines. */
export const MAX_LETTA_MESSAGE_CHARS = 300

/** Letta's own sentence for the student, on one line and bounded; undefined when it has none. */
function lettaMessage(message: unknown): string | undefined {
  if (typeof message !== 'string') return undefined
  const line = message.replace(/\s+/g, ' ').trim()
  if (!line) return undefined
  return line.length <= MAX_LETTA_MESSAGE_CHARS
    ? line
    : `${line.slice(0, MAX_LETTA_MESSAGE_CHARS - 1).trimEnd()}…`
}

function lettaStreamError(payload: LettaErrorPayload): ErrorBody {
  const message = lettaMessage(payload.message)
  if (payload.error_type === 'llm_rate_limit') return errorBody('rate_limited', message)
  // Letta's processor of a kept run says the run's stream broke off (it ended without a stop
  // reason, or Letta was interrupted): the person reads that the connection was lost.
  if (payload.error_type === 'stream_incomplete' || payload.error_type === 'stream_task_cancelled')
    return errorBody('stream_interrupted')
  return errorBody('agent_error', message)
}

/** An error frame inside Letta's stream (`error_message`), as the student reads it. */
export function agentErrorBody(message: unknown): ErrorBody {
  return errorBody('agent_error', lettaMessage(message))
}

/**
 * Turns anything the Letta SDK throws into the error a student reads.
 * Letta's internal detail (stack traces, provider errors) never reaches the chat.
 */
export function lettaErrorBody(error: unknown): ErrorBody {
  if (error instanceof APIConnectionError) return errorBody('letta_unreachable')
  if (error instanceof StreamInterrupted) return errorBody('stream_interrupted')
  if (error instanceof TemplateRejected) {
    return errorBody(
      'letta_misconfigured',
      `Letta refused to create your agent from the "${error.template}" template: an admin should check the template's model and embedding (the bridge's log says why).`,
    )
  }
  if (error instanceof NotAnEventStream) {
    return errorBody(
      'letta_misconfigured',
      'The Letta server answered with something that is not an agent stream: an admin should check LETTA_BASE_URL.',
    )
  }
  if (error instanceof APIError) {
    if (error.status !== undefined && error.status >= 300 && error.status < 400) {
      return errorBody(
        'letta_misconfigured',
        'The Letta server redirected the bridge elsewhere: an admin should set LETTA_BASE_URL to its final address.',
      )
    }
    switch (error.status) {
      case undefined:
        return lettaStreamError((error.error ?? {}) as LettaErrorPayload)
      case 401:
      case 403:
        return errorBody('letta_auth_failed')
      case 404:
        return errorBody('agent_not_found')
      case 409:
        // Letta's conversation lock (with Redis): this thread runs already, e.g. on another replica.
        return (error.error as { run_id?: unknown } | undefined)?.run_id
          ? errorBody('chat_busy')
          : errorBody('letta_busy')
      case 429:
        return errorBody('rate_limited')
      default:
        return errorBody('letta_error')
    }
  }
  // The SDK parses every data frame as JSON: a malformed frame from Letta surfaces here.
  if (error instanceof SyntaxError) return errorBody('letta_error')
  return errorBody('internal_error')
}

/** What an operator needs to fix a configuration error, for the log (never for the chat). */
export function configurationCause(error: unknown): string {
  if (error instanceof NotAnEventStream || error instanceof TemplateRejected) return error.message
  if (error instanceof APIError && error.status !== undefined) {
    const location = error.headers?.get('location')
    return `Letta answered HTTP ${error.status}${location ? ` (redirect to ${location})` : ''}`
  }
  return String(error)
}

export function isNotFound(error: unknown): boolean {
  return error instanceof APIError && error.status === 404
}
