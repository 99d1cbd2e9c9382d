/**
 * Tool approvals on the real Letta 0.16.8: a tool marked `requires_approval`, the request the
 * agent streams, what a thread refuses while it waits, and every way of answering it (list and
 * flat forms, approve, deny with and without a reason, deny with a message after it, a second
 * answer, an answer with nothing pending) — on the agent's own thread and in a conversation.
 */
import { recordedPendingRequest, recordedSend } from '@letta-openwebui/letta-sim'
import type { Session } from './record-session.ts'
import { newAgent, post } from './record-session.ts'
import type { Exchange } from './recording.ts'

/** A tool every letta_v1_agent has, so no custom tool is needed to ask for approval. */
const TOOL = 'conversation_search'

/** A thread the bridge sends to: the agent's own (`/v1/agents/…`) or a conversation. */
type Thread = { prefix: string; messages: string }

const { streamed, unstreamed, user, decision } = recordedSend
const pendingRequest = (exchange: Exchange) => recordedPendingRequest(exchange.sse)

/** Scripts the model to call the tool (then to answer `after`), sends, and returns the request. */
async function askForApproval(s: Session, thread: Thread, after: string) {
  const marker = s.script([
    { reasoning: 'Let me search.', toolCalls: [{ name: TOOL, arguments: { query: 'tea' } }] },
    { content: after },
  ])
  const exchange = await s.exchange({
    method: 'POST',
    path: thread.messages,
    body: streamed([user(`What did I say about tea? ${marker}`)]),
  })
  return { exchange, ...pendingRequest(exchange) }
}

/** What a thread answers while it waits, and an approve that then runs the tool. */
async function pendingThenApprove(s: Session, thread: Thread) {
  const { prefix, messages } = thread
  const asked = await askForApproval(s, thread, 'Found nothing about tea.')
  s.keep(`${prefix}_request_stream`, asked.exchange)
  s.keep(
    `${prefix}_pending_messages`,
    await s.exchange({ method: 'GET', path: `${messages}?order=desc&limit=10` }),
    "how a client finds the pending request's tool call ids: the thread's newest messages",
  )
  s.keep(
    `${prefix}_pending_plain_stream`,
    await s.exchange(post(messages, streamed([user('Hello?')]))),
    'a plain message while the thread waits, streaming',
  )
  s.keep(
    `${prefix}_pending_plain_nonstream`,
    await s.exchange(post(messages, unstreamed([user('Hello?')]))),
    'a plain message while the thread waits, not streaming',
  )
  s.keep(
    `${prefix}_approve_stream`,
    await s.watched(post(messages, streamed([decision(asked.toolCallId, true)]))),
  )
  s.keep(
    `${prefix}_nothing_pending_stream`,
    await s.exchange(post(messages, streamed([decision('call_unknown', true)]))),
    'an approval for a tool call nobody asked about, with nothing pending',
  )
  return asked
}

async function recordAgentThread(s: Session, agentId: string) {
  const thread = { prefix: 'approval', messages: `/v1/agents/${agentId}/messages` }
  const { messages } = thread
  const asked = await pendingThenApprove(s, thread)
  s.keep(
    'approval_resend_answered_stream',
    await s.watched(post(messages, streamed([decision(asked.toolCallId, true)]))),
    "the same approval again: Letta's idempotency check finds the tool return and continues",
  )
  s.keep(
    'approval_nothing_pending_nonstream',
    await s.exchange(post(messages, unstreamed([decision('call_unknown', true)]))),
  )

  const wrong = await askForApproval(s, thread, 'Ok, I will not search.')
  s.keep(
    'approval_wrong_ids_stream',
    await s.exchange(post(messages, streamed([decision('call_unknown', true)]))),
    'an approval naming another tool call id while a request waits',
  )
  s.keep(
    'approval_wrong_ids_nonstream',
    await s.exchange(post(messages, unstreamed([decision('call_unknown', true)]))),
  )
  s.keep(
    'approval_deny_stream',
    await s.watched(post(messages, streamed([decision(wrong.toolCallId, false, 'Not now.')]))),
  )

  const noReason = await askForApproval(s, thread, 'Alright.')
  s.keep(
    'approval_deny_no_reason_stream',
    await s.watched(post(messages, streamed([decision(noReason.toolCallId, false)]))),
  )

  const interrupted = await askForApproval(s, thread, 'No search then. Hi!')
  s.keep(
    'approval_deny_then_message_stream',
    await s.watched(
      post(
        messages,
        streamed([
          decision(interrupted.toolCallId, false, 'The person sent a new message instead.'),
          user('Actually, just say hi.'),
        ]),
      ),
    ),
    'a refusal and a new message in one request (what the bridge sends over a pending request)',
  )

  const flat = await askForApproval(s, thread, 'Skipping it.')
  const flatForm = (id: string) => ({
    type: 'approval',
    approval_request_id: id,
    approve: false,
    reason: 'Flat no.',
  })
  s.keep(
    'approval_flat_message_id_stream',
    await s.watched(post(messages, streamed([flatForm(flat.messageId)]))),
    'the deprecated flat form naming the request message: accepted, yet nothing runs or is stored',
  )
  s.keep(
    'approval_flat_tool_call_id_stream',
    await s.watched(post(messages, streamed([flatForm(flat.toolCallId)]))),
    'the deprecated flat form naming the tool call id: a denial like the list form',
  )

  const quiet = await askForApproval(s, thread, 'Nothing about tea.')
  s.keep(
    'approval_approve_nonstream',
    await s.watched(post(messages, unstreamed([decision(quiet.toolCallId, true)]))),
  )
  s.keep(
    'approval_messages_after',
    await s.exchange({ method: 'GET', path: `${messages}?order=desc&limit=6` }),
    'an answered request: approval_response_message, the tool return, the answer',
  )
}

async function recordConversation(s: Session, agentId: string) {
  const created = await s.exchange(post(`/v1/conversations/?agent_id=${agentId}`, {}))
  const conversationId = (created.json as { id?: string }).id
  const thread = {
    prefix: 'conversation_approval',
    messages: `/v1/conversations/${conversationId}/messages`,
  }
  await pendingThenApprove(s, thread)
  const interrupted = await askForApproval(s, thread, 'No search then. Hi!')
  s.keep(
    'conversation_approval_other_thread_nonstream',
    await s.exchange(post(`/v1/agents/${agentId}/messages`, unstreamed([user('Hi there')]))),
    "the agent's own thread while one of its conversations waits",
  )
  s.keep(
    'conversation_approval_deny_then_message_stream',
    await s.watched(
      post(
        thread.messages,
        streamed([
          decision(interrupted.toolCallId, false, 'The person sent a new message instead.'),
          user('Actually, just say hi.'),
        ]),
      ),
    ),
  )
}

/** Returns the agent, whose threads now hold answered approvals (see recordImages). */
export async function recordApprovals(s: Session): Promise<string> {
  const agent = await newAgent(s, 'rec-approval')
  s.keep(
    'approval_tool_mark_sdk_body',
    await s.exchange({
      method: 'PATCH',
      path: `/v1/agents/${agent.id}/tools/approval/${TOOL}`,
      body: { body_requires_approval: true },
    }),
    "the body SDK 1.12.1's agents.tools.updateApproval sends: refused",
  )
  s.keep(
    'approval_tool_mark',
    await s.exchange({
      method: 'PATCH',
      path: `/v1/agents/${agent.id}/tools/approval/${TOOL}`,
      body: { requires_approval: true },
    }),
  )
  await recordAgentThread(s, agent.id)
  await recordConversation(s, agent.id)
  return agent.id
}
