import { isoSeconds, newId, uuid } from './frames.ts'
import type { ThreadMessage } from './threads.ts'

/**
 * Letta 0.16.8's checks on a send against a thread that may wait for a tool approval
 * (`letta/agents/helpers.py` `_prepare_in_context_messages_no_persist_async`): a plain message
 * meets a pending request with PendingApprovalError; an approval must name exactly the pending
 * tool calls, or repeat an answer already given, or it is refused.
 */

/** One answer to a tool call, as Letta stores it on the approval response. */
export type Decision = { tool_call_id: string; approve: boolean; reason: string | null }

/** What Letta does with a send, given its thread. */
export type SendCheck =
  /** A plain message to a thread that waits for nothing. */
  | { kind: 'message' }
  /** PendingApprovalError: a plain message while the thread waits. */
  | { kind: 'pending'; requestId: string }
  /** A ValueError the agent raises before any step. */
  | { kind: 'invalid'; detail: string }
  /** The pending request answered; `followUp` are the messages sent after the approval. */
  | { kind: 'answer'; request: ThreadMessage; decisions: Decision[]; followUp: unknown[] }
  /**
   * The deprecated flat form naming the request's message id: it passes the id check (a
   * legacy case) but matches no tool call, so the run ends with `invalid_tool_call`, storing
   * nothing (recorded from 0.16.8).
   */
  | { kind: 'unmatched' }
  /** The same answer again: Letta finds its tool return and just continues the thread. */
  | { kind: 'replay'; followUp: unknown[] }

/** What Letta puts in the thread when an approval is re-sent with nothing after it. */
export const KEEP_ALIVE_MESSAGE =
  '<system-alert>Automated keep-alive ping. Ignore this message and continue from where you stopped.</system-alert>'

/** How far back Letta looks for the tool return of an answer sent twice. */
const IDEMPOTENCY_WINDOW = 10

export const PENDING_APPROVAL_MESSAGE =
  'CONFLICT: Cannot send a new message: The agent is waiting for approval on a tool call. ' +
  'Please approve or deny the pending request before continuing.'

const NOTHING_PENDING =
  'Cannot process approval response: No tool call is currently awaiting approval. ' +
  'Please send a regular message to interact with the agent.'

type Fields = Record<string, unknown>

const asFields = (value: unknown): Fields =>
  typeof value === 'object' && value !== null ? (value as Fields) : {}

/** Python's repr of a list of strings, as Letta's f-strings print it. */
const pythonList = (items: string[]) => `[${items.map((item) => `'${item}'`).join(', ')}]`

/**
 * The decisions of an approval message (`ApprovalCreate`): its `approvals`, or the deprecated
 * flat fields migrated the way Letta's validator does (`approval_request_id` becomes the tool
 * call id). Undefined when the message is not an approval.
 */
export function decisionsOf(message: unknown): Decision[] | undefined {
  const fields = asFields(message)
  if (fields.type !== 'approval') return undefined
  const listed = Array.isArray(fields.approvals) ? fields.approvals.map(asFields) : []
  if (listed.length > 0) {
    return listed.map((item) => ({
      tool_call_id: String(item.tool_call_id ?? ''),
      approve: item.approve === true,
      reason: typeof item.reason === 'string' ? item.reason : null,
    }))
  }
  if (typeof fields.approve === 'boolean' && typeof fields.approval_request_id === 'string') {
    return [
      {
        tool_call_id: fields.approval_request_id,
        approve: fields.approve,
        reason: typeof fields.reason === 'string' ? fields.reason : null,
      },
    ]
  }
  return []
}

/** Whether a thread's message is a request that waits for approval. */
export const isApprovalRequest = (message: ThreadMessage | undefined): message is ThreadMessage =>
  message?.role === 'assistant' && message.approval === true

const toolCallIds = (message: ThreadMessage) =>
  (message.toolCalls ?? []).map((call) => call.tool_call_id)

const sameIds = (left: string[], right: string[]) => {
  const a = new Set(left)
  const b = new Set(right)
  return a.size === b.size && [...a].every((id) => b.has(id))
}

/** The ids a stored tool message returned for. */
function returnedIds(message: ThreadMessage): string[] {
  const returns = message.toolReturn?.tool_returns
  return Array.isArray(returns)
    ? returns.map((item) => String(asFields(item).tool_call_id ?? ''))
    : []
}

/** The messages after an approval: only plain messages go on (Letta drops and logs others). */
const followUpOf = (input: unknown[]) =>
  input.slice(1).filter((message) => asFields(message).type !== 'approval')

/** Letta's decision about a send (`input`) to `thread`, before anything is stored. */
export function checkSend(thread: ThreadMessage[], input: unknown[]): SendCheck {
  const last = thread.at(-1)
  const decisions = decisionsOf(input[0])
  if (!decisions) {
    return isApprovalRequest(last) ? { kind: 'pending', requestId: last.id } : { kind: 'message' }
  }
  const answered = decisions.map((decision) => decision.tool_call_id)
  if (!isApprovalRequest(last)) {
    const replayed = thread
      .slice(-IDEMPOTENCY_WINDOW)
      .some((message) => message.role === 'tool' && sameIds(returnedIds(message), answered))
    if (replayed && decisions.length > 0) return { kind: 'replay', followUp: followUpOf(input) }
    return { kind: 'invalid', detail: NOTHING_PENDING }
  }
  const requested = toolCallIds(last)
  if (requested.length === 0) {
    return {
      kind: 'invalid',
      detail: `Invalid tool call IDs. Approval request message '${last.id}' does not contain any tool calls.`,
    }
  }
  if (decisions.length === 0) {
    return {
      kind: 'invalid',
      detail:
        'Invalid approval response. Approval response message does not contain any approvals.',
    }
  }
  if (!sameIds(requested, answered)) {
    if (requested.length === 1 && answered[0] === last.id) return { kind: 'unmatched' }
    return {
      kind: 'invalid',
      detail: `Invalid tool call IDs. Expected '${pythonList(requested)}', but received '${pythonList(answered)}'.`,
    }
  }
  return { kind: 'answer', request: last, decisions, followUp: followUpOf(input) }
}

/** What a denied tool call returns to the model (`create_tool_returns_for_denials`). */
export const denialText = (reason: string | null) =>
  `Error: request to call tool denied. User reason: ${reason ?? 'None'}`

/** The tool return Letta stores for a denied call: an error the model reads, never streamed. */
function denial(request: ThreadMessage, decision: Decision): ThreadMessage {
  const result = denialText(decision.reason)
  const fields = {
    tool_call_id: decision.tool_call_id,
    stdout: null,
    stderr: null,
  }
  return {
    id: newId('message'),
    role: 'tool',
    text: result,
    date: isoSeconds(),
    otid: uuid(),
    stepId: request.stepId,
    runId: null,
    toolReturn: {
      tool_return: result,
      status: 'error',
      ...fields,
      tool_returns: [{ type: 'tool', tool_return: result, status: 'error', ...fields }],
      name: null,
    },
  }
}

/**
 * What an answer to a pending request adds to the thread before the agent goes on: the
 * approval message, then a tool return for each denied call. Approved calls run in the
 * continuation, whose scenario streams their results.
 */
export function answerMessages(request: ThreadMessage, decisions: Decision[]): ThreadMessage[] {
  const answer: ThreadMessage = {
    id: newId('message'),
    role: 'approval',
    text: '',
    date: isoSeconds(),
    otid: null,
    stepId: null,
    runId: null,
    decisions,
  }
  return [
    answer,
    ...decisions
      .filter((decision) => !decision.approve)
      .map((decision) => denial(request, decision)),
  ]
}
