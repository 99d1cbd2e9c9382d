/**
 * What a message send plays: Letta's checks of the input against its thread (a pending
 * approval, an approval's ids, an image URL), then the scenario that answers it.
 */
import type { Decision } from './approvals.ts'
import {
  answerMessages,
  checkSend,
  KEEP_ALIVE_MESSAGE,
  PENDING_APPROVAL_MESSAGE,
} from './approvals.ts'
import { unsupportedImageUrl } from './content.ts'
import { json } from './http.ts'
import type { AnsweredCall, Step } from './scenarios.ts'
import { afterApproval, endedBeforeAnyStep, refusedInStream, resolveScenario } from './scenarios.ts'
import type { SimState } from './state.ts'
import type { ThreadMessage } from './threads.ts'

export type Target = { agentId: string; conversationId?: string; lockKey?: string }

export type Mode = {
  streaming: boolean
  streamTokens: boolean
  includePings: boolean
  /** `background: true`: the run is decoupled from this response and can be resumed. */
  background: boolean
  /** Which route was called: a refused message is answered differently by each (recorded). */
  route: 'agents' | 'conversations'
}

const asRecord = (value: unknown): Record<string, unknown> | undefined =>
  typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined

/** A send's input messages (`input` is one user message). */
export const inputMessages = (body: Record<string, unknown>): unknown[] =>
  Array.isArray(body.messages)
    ? body.messages
    : typeof body.input === 'string'
      ? [{ role: 'user', content: body.input }]
      : []

/** The text of the last user message among `messages`, for scenarios that answer it. */
function userText(messages: unknown[]): string {
  const last = messages.map(asRecord).findLast((message) => message?.role === 'user')
  const content = last?.content
  if (typeof content === 'string') return content
  if (!Array.isArray(content)) return ''
  return content
    .map((part) => asRecord(part))
    .map((part) => (part?.type === 'text' && typeof part.text === 'string' ? part.text : ''))
    .join('')
}

/** What a send amounts to once Letta has looked at its thread. */
type Turn = {
  steps: Step[]
  /** Stored before the input messages: an approval's answer and its tool returns. */
  before: ThreadMessage[]
  /** The input messages the thread keeps (none when the send is refused). */
  input: unknown[]
}

/** The pending tool calls an approval answered, with the answers, for the continuation. */
function answeredCalls(request: ThreadMessage, decisions: Decision[]): AnsweredCall[] {
  return decisions.map((decision) => {
    const call = request.toolCalls?.find((item) => item.tool_call_id === decision.tool_call_id)
    return {
      toolCallId: decision.tool_call_id,
      name: call?.name ?? '',
      arguments: call?.arguments ?? '',
      approve: decision.approve,
      reason: decision.reason,
      stepId: request.stepId,
    }
  })
}

/** Letta's generic message for a ValueError in a streaming run (its detail says what). */
const STREAM_VALUE_ERROR = 'An unknown error occurred with the LLM streaming request.'

/**
 * The turn a send plays, or the HTTP answer that refuses it: Letta's approval checks against
 * the thread (approvals.ts), its image URL check, then the next scenario (for an answered
 * approval, the default is afterApproval). Streaming refusals still start a run: Letta raises
 * them after the ping.
 */
export function planTurn(
  state: SimState,
  target: Target,
  mode: Mode,
  thread: ThreadMessage[],
  input: unknown[],
): Turn | Response {
  const check = checkSend(thread, input)
  const refuse = (status: number, detail: unknown, stream: Step[]): Turn | Response =>
    mode.streaming ? { steps: stream, before: [], input: [] } : json({ detail }, status)
  if (check.kind === 'pending') {
    return refuse(
      409,
      mode.route === 'agents'
        ? {
            code: 'PENDING_APPROVAL',
            message: PENDING_APPROVAL_MESSAGE,
            pending_request_id: check.requestId,
          }
        : PENDING_APPROVAL_MESSAGE,
      refusedInStream(PENDING_APPROVAL_MESSAGE),
    )
  }
  if (check.kind === 'invalid') {
    return refuse(400, check.detail, refusedInStream(check.detail, STREAM_VALUE_ERROR))
  }
  if (check.kind === 'unmatched') {
    return { steps: endedBeforeAnyStep('invalid_tool_call'), before: [], input: [] }
  }
  const badUrl = unsupportedImageUrl(input)
  if (badUrl) return refuse(400, badUrl, refusedInStream(badUrl))
  const queued = state.queue.take(target.agentId)
  const request = { agentId: target.agentId, conversationId: target.conversationId }
  if (check.kind === 'answer') {
    const steps = resolveScenario(queued ?? afterApproval(), {
      ...request,
      text: userText(check.followUp),
      approvals: answeredCalls(check.request, check.decisions),
    })
    return { steps, before: answerMessages(check.request, check.decisions), input: check.followUp }
  }
  const sent =
    check.kind === 'replay'
      ? check.followUp.length > 0
        ? check.followUp
        : [{ role: 'user', content: KEEP_ALIVE_MESSAGE }]
      : input
  const scenario = queued ?? state.settings.defaultScenario
  return {
    steps: resolveScenario(scenario, { ...request, text: userText(sent) }),
    before: [],
    input: sent,
  }
}
