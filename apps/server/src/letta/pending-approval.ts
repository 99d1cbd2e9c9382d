import { APIError } from '@letta-ai/letta-client'
import type { ApprovalCreate } from '@letta-ai/letta-client/resources/agents/messages'
import type { ApprovalDecision } from '@letta-openwebui/events'
import type { ThreadTarget } from '../threads/threads.ts'
import type { Letta } from './client.ts'

/**
 * Told to the agent when a new message finds its request unanswered: the person stopped the
 * answer while the dialog was open, or another client left it.
 */
export const NEW_MESSAGE_REASON =
  'The person did not answer this approval request (they stopped the answer or sent a new message).'

/** How many of the thread's newest messages are searched for the pending request. */
const NEWEST_MESSAGES = 10

/** Letta's words when a message meets a pending approval (letta/errors.py PendingApprovalError). */
const PENDING_WORDS = /waiting for approval/i
/** Letta's words when approvals arrive and nothing waits for them (letta/agents/helpers.py). */
const NOTHING_PENDING_WORDS = /no tool call is currently awaiting approval|invalid tool call ids/i

function detailOf(error: unknown): unknown {
  return error instanceof APIError
    ? (error.error as { detail?: unknown } | undefined)?.detail
    : undefined
}

/**
 * Letta refused a message because the thread waits for an approval: a 409 whose detail is
 * `{code: "PENDING_APPROVAL", pending_request_id}` (the messages routes) or the error's sentence
 * (the app's handler), or that sentence in an error event of its stream. Returns the pending request's message id, "" when Letta did not say it,
 * and undefined for any other error.
 */
export function pendingApprovalOf(error: unknown): string | undefined {
  if (!(error instanceof APIError)) return undefined
  if (error.status === undefined) {
    // In a stream, Letta reports it as `event: error` (letta/services/streaming_service.py).
    const message = (error.error as { message?: unknown } | undefined)?.message
    return typeof message === 'string' && PENDING_WORDS.test(message) ? '' : undefined
  }
  if (error.status !== 409) return undefined
  const detail = detailOf(error)
  if (detail && typeof detail === 'object') {
    const { code, pending_request_id: id } = detail as {
      code?: unknown
      pending_request_id?: unknown
    }
    if (code === 'PENDING_APPROVAL') return typeof id === 'string' ? id : ''
  }
  return typeof detail === 'string' && PENDING_WORDS.test(detail) ? '' : undefined
}

/**
 * Letta refused approvals because nothing (or something else) waits for them: a 400 whose detail
 * says so, or an error event with that sentence as its detail.
 */
export function isNothingPending(error: unknown): boolean {
  if (!(error instanceof APIError)) return false
  const body = error.error as { detail?: unknown; message?: unknown } | undefined
  return [body?.detail, body?.message].some(
    (text) => typeof text === 'string' && NOTHING_PENDING_WORDS.test(text),
  )
}

/** Decisions (the person's, or the bridge's refusal) as Letta's approval message. */
export function approvalMessage(
  decisions: Pick<ApprovalDecision, 'id' | 'approve' | 'reason'>[],
): ApprovalCreate {
  return {
    type: 'approval',
    approvals: decisions.map((decision) => ({
      type: 'approval' as const,
      tool_call_id: decision.id,
      approve: decision.approve,
      ...(decision.reason ? { reason: decision.reason } : {}),
    })),
  }
}

type ToolCallLike = { tool_call_id?: string | null }
type ListedMessage = {
  id?: string
  date?: string
  message_type?: string
  tool_calls?: ToolCallLike[] | ToolCallLike | null
  tool_call?: ToolCallLike | null
}

/** Newest first, whatever order the route lists in (Letta's agent route lists oldest first). */
const byDateDescending = (a: ListedMessage, b: ListedMessage) =>
  Date.parse(b.date ?? '') - Date.parse(a.date ?? '')

/**
 * A refusal of everything the thread waits for, to go before the person's new message in the
 * same request (Letta takes an approval followed by messages). The tool call ids come from the
 * thread's newest approval request (the one Letta named, when it did): Letta 0.16.8 ignores a
 * refusal that names the request's message id instead. Undefined when none is found.
 */
export async function denialOfPending(
  letta: Letta,
  target: ThreadTarget,
  requestId: string,
  reason: string = NEW_MESSAGE_REASON,
): Promise<ApprovalCreate | undefined> {
  const query = { limit: NEWEST_MESSAGES, order: 'desc' as const }
  const options = { maxRetries: 0 }
  const page = target.conversationId
    ? await letta.conversations.messages.list(target.conversationId, query, options)
    : await letta.agents.messages.list(target.agentId, query, options)
  const request = (page.items as ListedMessage[])
    .filter(
      (message) =>
        message.message_type === 'approval_request_message' &&
        (!requestId || message.id === requestId),
    )
    .sort(byDateDescending)[0]
  const calls = Array.isArray(request?.tool_calls)
    ? request.tool_calls
    : [request?.tool_calls ?? request?.tool_call]
  const ids = calls.flatMap((call) => (call?.tool_call_id ? [call.tool_call_id] : []))
  if (ids.length === 0) return undefined
  return approvalMessage(ids.map((id) => ({ id, approve: false, reason })))
}
