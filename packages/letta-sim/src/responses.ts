import type { LettaResponse } from '@letta-ai/letta-client/resources/agents/messages'
import type { Collected } from './collect.ts'
import type { ErrorFrame } from './frames.ts'
import { json } from './http.ts'

/** Starlette's body for an unknown route. */
export const routeNotFound = (): Response => json({ detail: 'Not Found' }, 404)

export const methodNotAllowed = (): Response => json({ detail: 'Method Not Allowed' }, 405)

/** `NoResultFound` from the agent manager, via Letta's 404 handler. */
export const agentNotFound = (agentId: string): Response =>
  json({ detail: `Agent with ID ${agentId} not found` }, 404)

/** `LettaAgentNotFoundError` (e.g. creating a conversation) has a fixed message. */
export const agentNotFoundPlain = (): Response => json({ detail: 'Agent not found' }, 404)

export const conversationNotFound = (conversationId: string): Response =>
  json({ detail: `Conversation not found with id=${conversationId}` }, 404)

/** A 422 raised with `HTTPException(422, detail=...)`. */
export const unprocessable = (detail: string): Response => json({ detail }, 422)

/** Letta's handler for a body Pydantic rejects: the errors as Python's repr, and a trace id. */
export const invalidBody = (errors: string): Response => json({ trace_id: '', detail: errors }, 422)

/** FastAPI's rewritten path-validation error for a malformed `<primitive>-<uuid4>` id. */
export function invalidPathId(parameter: string, primitive: string, value: string): Response {
  const error =
    `[{'type': 'string_pattern_mismatch', 'loc': ('path', '${parameter}'), ` +
    `'msg': "String should match pattern '${primitive}-{uuid4}'", 'input': '${value}'}]`
  return json(
    {
      trace_id: '',
      detail: error,
      examples: [`${primitive}-123e4567-e89b-42d3-8456-426614174000`],
    },
    422,
  )
}

/** `NoActiveRunsToCancelError` → 409; `str(LettaError)` prefixes the error code. */
export function noActiveRuns(target: { agentId?: string; conversationId?: string }): Response {
  const scope = target.conversationId
    ? `conversation ${target.conversationId}`
    : `agent ${target.agentId}`
  return json({ detail: `CONFLICT: No active runs to cancel for ${scope}` }, 409)
}

/** Letta's sentence when `background: true` meets a Letta without Redis. */
const NEEDS_REDIS =
  'Background streaming requires Redis to be running. Please ensure Redis is properly ' +
  'configured. LETTA_REDIS_HOST: None, LETTA_REDIS_PORT: 6379'

/** `LettaServiceUnavailableError` → 503, for a background send: `str()` adds the error code. */
export const BACKGROUND_NEEDS_REDIS = `INTERNAL_SERVER_ERROR: ${NEEDS_REDIS}`
export const backgroundNeedsRedis = (): Response => json({ detail: BACKGROUND_NEEDS_REDIS }, 503)

/** The resume route raises a plain HTTPException(503): no error code. */
export const resumeNeedsRedis = (): Response => json({ detail: NEEDS_REDIS }, 503)

/** `LettaInvalidArgumentError` for a run id that is not `run-<uuid4>`. */
export const invalidRunId = (runId: string): Response =>
  json(
    { detail: `INVALID_ARGUMENT: Invalid run ID format: ${runId}. Expected format: 'run-<uuid4>'` },
    400,
  )

/**
 * `NoResultFound` from the run manager, with the actor's repr (Letta's default user; the sim's
 * actor dates are fixed).
 */
export function runNotFound(runId: string): Response {
  const date = 'datetime.datetime(2026, 1, 1, 0, 0, tzinfo=TzInfo(0))'
  const actor =
    "id='user-00000000-0000-4000-8000-000000000000' " +
    "organization_id='org-00000000-0000-4000-8000-000000000000' name='default_user' " +
    `created_at=${date} updated_at=${date} is_deleted=False`
  return json(
    {
      detail: `Run not found with id='['${runId}']', access level in ['read'] for actor='${actor}'`,
    },
    404,
  )
}

export const notInBackgroundMode = (): Response =>
  json(
    {
      detail:
        'INVALID_ARGUMENT: Run was not created in background mode, so it cannot be retrieved.',
    },
    400,
  )

/** `ConversationBusyError` → 409 with the lock holder's run id. */
export function conversationBusy(runId: string): Response {
  return json(
    {
      detail:
        `CONFLICT: Cannot send a new message: Another request (run_id=${runId}) is currently ` +
        'being processed for this conversation. Please wait for it to complete.',
      run_id: runId,
    },
    409,
  )
}

/** Letta's bodies for the statuses a scenario's `http` step may ask for. */
function defaultErrorBody(status: number, agentId: string): unknown {
  switch (status) {
    case 404:
      return { detail: `Agent with ID ${agentId} not found` }
    case 409:
      return {
        detail:
          'CONFLICT: Cannot send a new message: The agent is waiting for approval on a tool ' +
          'call. Please approve or deny the pending request before continuing.',
      }
    case 422:
      return { detail: 'Messages must not be empty' }
    case 429:
      return {
        error: {
          type: 'llm_rate_limit',
          message:
            'Rate limit exceeded for LLM model provider. Please wait before making another request.',
          detail: 'RATE_LIMIT_EXCEEDED: Rate limited by OpenAI',
        },
      }
    case 503:
      return { detail: 'The database is temporarily unavailable. Please try again later.' }
    default:
      return { detail: 'An unknown error occurred' }
  }
}

export function httpStepResponse(
  step: { http: number; body?: unknown },
  agentId: string,
): Response {
  return json(step.body ?? defaultErrorBody(step.http, agentId), step.http)
}

/** Non-streaming requests get Letta's exception handlers instead of `event: error`. */
const ERROR_STATUS: Record<string, number> = {
  llm_timeout: 504,
  llm_rate_limit: 429,
  llm_authentication: 401,
  llm_insufficient_credits: 402,
  llm_bad_request: 400,
  llm_error: 500,
}

export function errorResponse(error: ErrorFrame): Response {
  const status = ERROR_STATUS[error.error_type]
  if (status === undefined) return json({ detail: 'An unknown error occurred' }, 500)
  return json(
    { error: { type: error.error_type, message: error.message, detail: error.detail } },
    status,
  )
}

/** The JSON answer to `streaming: false`: whole messages, stop reason, usage. */
export function lettaResponse(collected: Collected): LettaResponse {
  return {
    messages: collected.messages,
    stop_reason: collected.stopReason ?? { message_type: 'stop_reason', stop_reason: 'end_turn' },
    // Non-streaming usage counts cache and reasoning tokens as 0 where a stream sends null.
    usage: {
      ...(collected.usage ?? { message_type: 'usage_statistics', step_count: 1 }),
      cached_input_tokens: collected.usage?.cached_input_tokens ?? 0,
      cache_write_tokens: collected.usage?.cache_write_tokens ?? 0,
      reasoning_tokens: collected.usage?.reasoning_tokens ?? 0,
    },
    logprobs: null,
    turns: null,
  }
}

/** A body that resets the connection before any byte: a drop without a stream. */
export function droppedResponse(): Response {
  return new Response(
    new ReadableStream({
      start(controller) {
        controller.error()
      },
    }),
  )
}
