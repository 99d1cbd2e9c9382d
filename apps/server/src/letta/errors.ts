import { APIConnectionError, APIError } from '@letta-ai/letta-client'
import type { ErrorBody } from '@letta-openwebui/events'
import { errorBody } from '@letta-openwebui/events'

/** Letta's `event: error` payload (LETTA_WIRE.md); `message` is written for users, `detail` is not. */
type LettaErrorPayload = { error_type?: string; message?: string }

function lettaStreamError(payload: LettaErrorPayload): ErrorBody {
  const message =
    typeof payload.message === 'string' && payload.message ? payload.message : undefined
  if (payload.error_type === 'llm_rate_limit') return errorBody('rate_limited', message)
  return errorBody('agent_error', message)
}

/**
 * Turns anything the Letta SDK throws into the error a student reads.
 * Letta's internal detail (stack traces, provider errors) never reaches the chat.
 */
export function lettaErrorBody(error: unknown): ErrorBody {
  if (error instanceof APIConnectionError) return errorBody('letta_unreachable')
  if (error instanceof APIError) {
    switch (error.status) {
      case undefined:
        return lettaStreamError((error.error ?? {}) as LettaErrorPayload)
      case 401:
      case 403:
        return errorBody('letta_auth_failed')
      case 404:
        return errorBody('agent_not_found')
      case 409:
        return errorBody('letta_busy')
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

export function isNotFound(error: unknown): boolean {
  return error instanceof APIError && error.status === 404
}
