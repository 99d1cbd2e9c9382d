import type { Query } from './http.ts'
import { queryList, queryValue } from './http.ts'
import type { ThreadMessage } from './threads.ts'

/** Letta's default page of `GET /v1/conversations/{id}/messages`. */
const DEFAULT_LIMIT = 100

type Listed = Record<string, unknown>

/**
 * Letta derives the otids of a message's parts from its id and the part's index
 * (`Message.generate_otid_from_id`); the sim keeps them stable the same way.
 */
function partOtid(message: ThreadMessage, index: number): string {
  const uuid = message.id.slice(message.id.indexOf('-') + 1)
  return `${uuid.slice(0, -2)}${index.toString(16).padStart(2, '0')}`
}

/** The envelope of a listed message, in Letta's key order, then the type's own fields. */
function listed(
  message: ThreadMessage,
  type: string,
  otid: string | null,
  fields: Listed,
  name: unknown = null,
): Listed {
  return {
    id: message.id,
    date: message.date,
    name,
    message_type: type,
    otid,
    sender_id: null,
    step_id: message.stepId,
    is_err: null,
    seq_id: null,
    run_id: message.runId,
    ...fields,
  }
}

/**
 * A stored message as Letta's message list shows it (`Message.to_letta_messages` with
 * `text_is_assistant_message`): an assistant step becomes its reasoning, its text, then its
 * tool calls, all under the message's id.
 */
export function lettaMessages(message: ThreadMessage): Listed[] {
  if (message.role === 'system' || message.role === 'user') {
    const content = message.parts ?? message.text
    return [listed(message, `${message.role}_message`, message.otid, { content })]
  }
  if (message.role === 'approval') {
    // The deprecated flat fields repeat the first decision.
    const [first] = message.decisions ?? []
    const fields = {
      approvals: (message.decisions ?? []).map((decision) => ({ type: 'approval', ...decision })),
      approve: first?.approve ?? null,
      approval_request_id: first?.tool_call_id ?? null,
      reason: first?.reason ?? null,
    }
    return [listed(message, 'approval_response_message', null, fields)]
  }
  if (message.role === 'tool') {
    const { name, ...fields } = message.toolReturn ?? {}
    return [listed(message, 'tool_return_message', partOtid(message, 0), fields, name ?? null)]
  }
  const parts: Listed[] = []
  if (message.reasoning) {
    const fields = { source: 'reasoner_model', reasoning: message.reasoning, signature: null }
    parts.push(listed(message, 'reasoning_message', partOtid(message, parts.length), fields))
  }
  if (message.text) {
    const fields = { content: message.text }
    parts.push(listed(message, 'assistant_message', partOtid(message, parts.length), fields))
  }
  const [first] = message.toolCalls ?? []
  if (first) {
    const fields = { tool_call: first, tool_calls: message.toolCalls }
    // Letta lists an approval request with the message id as its otid.
    if (message.approval)
      parts.push(listed(message, 'approval_request_message', message.id, fields))
    else parts.push(listed(message, 'tool_call_message', partOtid(message, parts.length), fields))
  }
  return parts
}

/**
 * `GET /v1/conversations/{id}/messages` over a thread, as Letta 0.16.8 pages it: `before` and
 * `after` are positions in the thread whatever the order (an unknown cursor is ignored),
 * `order` defaults to newest first, `limit` counts stored messages before they are split into
 * parts, and `include_return_message_types` filters the parts. `oldestFirst`: the agent route
 * (`GET /v1/agents/{id}/messages`) takes the newest page the same way, then lists it oldest
 * first (its `get_agent_recall_async` reverses the page back).
 */
export function listMessages(thread: ThreadMessage[], query: Query, oldestFirst = false): Listed[] {
  const position = (id: string | undefined) =>
    id === undefined ? -1 : thread.findIndex((message) => message.id === id)
  const after = position(queryValue(query, 'after'))
  const before = position(queryValue(query, 'before'))
  let page = thread.filter((_, index) => index > after && (before === -1 || index < before))
  if (queryValue(query, 'order') !== 'asc') page = page.reverse()
  const limit = Number(queryValue(query, 'limit') ?? DEFAULT_LIMIT)
  if (Number.isInteger(limit) && limit >= 0) page = page.slice(0, limit)
  if (oldestFirst && queryValue(query, 'order') !== 'asc') page = page.reverse()
  const types = queryList(query, 'include_return_message_types')
  return page
    .flatMap(lettaMessages)
    .filter((message) => types.length === 0 || types.includes(String(message.message_type)))
}
