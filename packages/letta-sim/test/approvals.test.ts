/**
 * Tool approvals, per thread, as Letta 0.16.8 answers them (fixtures/real/approval_*.json):
 * what a waiting thread refuses, and every way of answering it.
 */
import { describe, expect, it } from 'bun:test'
import type Letta from '@letta-ai/letta-client'
import {
  APIError,
  BadRequestError,
  ConflictError,
  UnprocessableEntityError,
} from '@letta-ai/letta-client'
import type { MessageCreate } from '@letta-ai/letta-client/resources/agents/agents'
import type { ApprovalCreate } from '@letta-ai/letta-client/resources/agents/messages'
import type { LettaSim } from '../src/index.ts'
import { afterApproval, approvalRequest, tokenStream } from '../src/index.ts'
import type { Frame } from './helpers.ts'
import { drain, plainTexts, useSim } from './helpers.ts'

let sim: LettaSim
let client: Letta
useSim((started) => ({ sim, client } = started))

const PENDING =
  'CONFLICT: Cannot send a new message: The agent is waiting for approval on a tool call. ' +
  'Please approve or deny the pending request before continuing.'
const SEND_EMAIL = { name: 'send_email', arguments: { to: 'teacher@example.org' } }

type Input = MessageCreate | ApprovalCreate
const hello: MessageCreate = { role: 'user', content: 'Hello?' }
const decide = (toolCallId: string, approve: boolean, reason?: string): ApprovalCreate => ({
  type: 'approval',
  approvals: [
    { type: 'approval', tool_call_id: toolCallId, approve, ...(reason ? { reason } : {}) },
  ],
})

/** A streamed token-mode send to the agent's own thread, or to a conversation. */
async function stream(messages: Input[], target: { agentId: string; conversationId?: string }) {
  const body = { messages, stream_tokens: true, include_pings: true } as const
  const opened = target.conversationId
    ? await client.conversations.messages.create(target.conversationId, body)
    : await client.agents.messages.create(target.agentId, { ...body, streaming: true })
  return drain(opened)
}

/** An agent whose own thread now waits for approval of one send_email call. */
async function waitingAgent() {
  const agentId = sim.createAgent().id
  sim.enqueue(approvalRequest({ tool: SEND_EMAIL }))
  const { frames } = await stream([{ role: 'user', content: 'Email my teacher' }], { agentId })
  const request = frames.find((frame) => frame.message_type === 'approval_request_message')
  const toolCallId = String(
    (request?.tool_call as { tool_call_id?: string } | undefined)?.tool_call_id,
  )
  return { agentId, requestId: String(request?.id), toolCallId, frames }
}

const types = (frames: Frame[]) => [...new Set(frames.map((frame) => frame.message_type))]
const lastRun = () => sim.runs().at(-1)

describe('a thread that waits for approval', () => {
  it('is left waiting by approval_request_message frames ending in requires_approval', async () => {
    const { frames, requestId, toolCallId } = await waitingAgent()
    expect(types(frames)).toEqual([
      'ping',
      'reasoning_message',
      'approval_request_message',
      'stop_reason',
      'usage_statistics',
    ])
    expect(frames.find((frame) => frame.message_type === 'stop_reason')?.stop_reason).toBe(
      'requires_approval',
    )
    expect(requestId).toMatch(/^message-/)
    expect(toolCallId).toMatch(/^toolu_/)
    expect(lastRun()?.stopReason).toBe('requires_approval')
  })

  it('refuses a plain message without streaming: 409 PENDING_APPROVAL naming the request', async () => {
    const { agentId, requestId } = await waitingAgent()
    const refused = await client.agents.messages
      .create(agentId, { messages: [hello] })
      .catch((error: unknown) => error)
    expect(refused).toBeInstanceOf(ConflictError)
    expect((refused as ConflictError).error).toEqual({
      detail: { code: 'PENDING_APPROVAL', message: PENDING, pending_request_id: requestId },
    })
  })

  it('refuses a streamed plain message inside a 200 stream, storing nothing and playing no scenario', async () => {
    const { agentId } = await waitingAgent()
    const before = (await client.agents.messages.list(agentId)).items.length
    sim.enqueue(afterApproval({ answer: 'Kept for the approval.' }))
    const { frames, error } = await stream([hello], { agentId })
    expect(frames.map((frame) => frame.message_type)).toEqual(['ping', 'stop_reason'])
    expect(frames[1]?.stop_reason).toBe('error')
    expect(error).toBeInstanceOf(APIError)
    expect((error as APIError).status).toBeUndefined()
    expect((error as APIError).error).toMatchObject({
      error_type: 'internal_error',
      message: PENDING,
      detail: PENDING,
    })
    expect((await client.agents.messages.list(agentId)).items).toHaveLength(before)
    expect(lastRun()?.status).toBe('failed')
    const { toolCallId } = (await waitingToolCall(agentId)) ?? { toolCallId: '' }
    const answered = await stream([decide(toolCallId, true)], { agentId })
    expect(plainTexts(answered.frames).answer).toBe('Kept for the approval.')
  })

  it('refuses in a conversation with the sentence as detail (no request id), like Letta', async () => {
    const agentId = sim.createAgent().id
    const { id: conversationId } = await client.conversations.create({ agent_id: agentId })
    sim.enqueue(approvalRequest({ tool: SEND_EMAIL }))
    await stream([{ role: 'user', content: 'Email my teacher' }], { agentId, conversationId })
    const refused = await client.conversations.messages
      .create(conversationId, { messages: [hello], streaming: false })
      .catch((error: unknown) => error)
    expect(refused).toBeInstanceOf(ConflictError)
    expect((refused as ConflictError).error).toEqual({ detail: PENDING })
  })

  it('waits per thread: the agent’s own thread answers while its conversation waits', async () => {
    const agentId = sim.createAgent().id
    const { id: conversationId } = await client.conversations.create({ agent_id: agentId })
    sim.enqueue(approvalRequest({ tool: SEND_EMAIL }))
    await stream([{ role: 'user', content: 'Email my teacher' }], { agentId, conversationId })
    sim.enqueue(tokenStream({ tokens: 2 }))
    const { error } = await stream([hello], { agentId })
    expect(error).toBeUndefined()
    expect(lastRun()?.stopReason).toBe('end_turn')
  })

  it('lists the pending request with its tool call ids among the newest messages, oldest first', async () => {
    const { agentId, requestId, toolCallId } = await waitingAgent()
    const page = await client.agents.messages.list(agentId, { limit: 10, order: 'desc' })
    const listed = page.items as unknown as Frame[]
    expect(listed.map((message) => message.message_type)).toEqual([
      'system_message',
      'user_message',
      'reasoning_message',
      'approval_request_message',
    ])
    expect(listed.at(-1)).toMatchObject({
      id: requestId,
      otid: requestId,
      tool_calls: [{ name: 'send_email', tool_call_id: toolCallId }],
    })
  })
})

/** The pending request's tool call id, found the way a client finds it. */
async function waitingToolCall(agentId: string) {
  const page = await client.agents.messages.list(agentId, { limit: 10, order: 'desc' })
  const request = (page.items as unknown as Frame[]).findLast(
    (message) => message.message_type === 'approval_request_message',
  )
  const calls = request?.tool_calls as Array<{ tool_call_id: string }> | undefined
  return calls?.[0] ? { toolCallId: calls[0].tool_call_id } : undefined
}

describe('answering the request', () => {
  it('approve: streams the tool’s return under the asking step, then the enqueued answer', async () => {
    const { agentId, toolCallId, frames: asked } = await waitingAgent()
    sim.enqueue(afterApproval({ result: 'Sent.', answer: 'Your email is on its way.' }))
    const { frames, error } = await stream([decide(toolCallId, true)], { agentId })
    expect(error).toBeUndefined()
    expect(types(frames)).toEqual([
      'ping',
      'tool_return_message',
      'assistant_message',
      'stop_reason',
      'usage_statistics',
    ])
    const toolReturn = frames.find((frame) => frame.message_type === 'tool_return_message')
    expect(toolReturn).toMatchObject({
      name: 'send_email',
      tool_call_id: toolCallId,
      tool_return: 'Sent.',
      status: 'success',
      step_id: asked.find((frame) => frame.message_type === 'approval_request_message')?.step_id,
    })
    expect(lastRun()).toMatchObject({
      approvals: [{ tool_call_id: toolCallId, approve: true, reason: null }],
      toolReturns: [{ toolCallId, name: 'send_email', status: 'success', text: 'Sent.' }],
      stopReason: 'end_turn',
    })
    sim.enqueue(tokenStream({ tokens: 1 }))
    expect((await stream([hello], { agentId })).error).toBeUndefined()
  })

  it('approve with nothing enqueued: the default continuation, the tool’s return then a short answer', async () => {
    const { agentId, toolCallId } = await waitingAgent()
    const { frames } = await stream([decide(toolCallId, true)], { agentId })
    expect(frames.find((frame) => frame.message_type === 'tool_return_message')?.tool_return).toBe(
      'OK',
    )
    expect(frames.find((frame) => frame.message_type === 'assistant_message')?.content).toBe(
      'Done.',
    )
  })

  it('deny: the denial is stored as the tool’s error in Letta’s words, not streamed; the agent answers', async () => {
    const { agentId, toolCallId } = await waitingAgent()
    const { frames } = await stream([decide(toolCallId, false, 'Not now.')], { agentId })
    expect(types(frames)).toEqual(['ping', 'assistant_message', 'stop_reason', 'usage_statistics'])
    const denial = 'Error: request to call tool denied. User reason: Not now.'
    expect(lastRun()?.toolReturns).toEqual([
      { toolCallId, name: null, status: 'error', text: denial },
    ])
    const listed = (await client.agents.messages.list(agentId, { limit: 3 }))
      .items as unknown as Frame[]
    expect(listed.map((message) => message.message_type)).toEqual([
      'approval_response_message',
      'tool_return_message',
      'assistant_message',
    ])
    expect(listed[0]).toMatchObject({
      approvals: [
        { type: 'approval', tool_call_id: toolCallId, approve: false, reason: 'Not now.' },
      ],
      approve: false,
      approval_request_id: toolCallId,
      reason: 'Not now.',
    })
    expect(listed[1]).toMatchObject({
      tool_return: denial,
      status: 'error',
      tool_call_id: toolCallId,
    })
  })

  it('deny without a reason: Letta says "User reason: None"', async () => {
    const { agentId, toolCallId } = await waitingAgent()
    await stream([decide(toolCallId, false)], { agentId })
    expect(lastRun()?.toolReturns[0]?.text).toBe(
      'Error: request to call tool denied. User reason: None',
    )
  })

  it('deny then a message in one request: one run, the message after the denial', async () => {
    const { agentId, toolCallId } = await waitingAgent()
    sim.enqueue(tokenStream({ tokens: 1, text: () => 'Hi!' }))
    const { error } = await stream(
      [
        decide(toolCallId, false, 'The person sent a new message instead.'),
        { role: 'user', content: 'Just say hi.' },
      ],
      { agentId },
    )
    expect(error).toBeUndefined()
    const run = lastRun()
    expect(run?.messages.at(-1)).toEqual({ role: 'user', text: 'Just say hi.' })
    expect(run?.approvals).toEqual([
      {
        tool_call_id: toolCallId,
        approve: false,
        reason: 'The person sent a new message instead.',
      },
    ])
    const listed = (await client.agents.messages.list(agentId, { limit: 4 }))
      .items as unknown as Frame[]
    expect(listed.map((message) => message.message_type)).toEqual([
      'approval_response_message',
      'tool_return_message',
      'user_message',
      'assistant_message',
    ])
  })

  it('answers in a conversation like on the agent’s own thread', async () => {
    const agentId = sim.createAgent().id
    const { id: conversationId } = await client.conversations.create({ agent_id: agentId })
    sim.enqueue(approvalRequest({ tool: SEND_EMAIL }))
    const asked = await stream([{ role: 'user', content: 'Email' }], { agentId, conversationId })
    const request = asked.frames.find((frame) => frame.message_type === 'approval_request_message')
    const toolCallId = String(
      (request?.tool_call as { tool_call_id?: string } | undefined)?.tool_call_id,
    )
    const { frames } = await stream([decide(toolCallId, true)], { agentId, conversationId })
    expect(types(frames)).toContain('tool_return_message')
    expect(lastRun()).toMatchObject({ conversationId, stopReason: 'end_turn' })
  })

  it('takes the deprecated flat form naming the tool call id as a denial', async () => {
    const { agentId, toolCallId } = await waitingAgent()
    const flat = {
      type: 'approval',
      approval_request_id: toolCallId,
      approve: false,
      reason: 'No.',
    }
    await stream([flat as ApprovalCreate], { agentId })
    expect(lastRun()?.toolReturns[0]?.text).toBe(
      'Error: request to call tool denied. User reason: No.',
    )
  })

  it('ends the flat form naming the request message with invalid_tool_call, storing nothing, still waiting', async () => {
    const { agentId, requestId } = await waitingAgent()
    const flat = { type: 'approval', approval_request_id: requestId, approve: false, reason: 'No.' }
    const { frames } = await stream([flat as ApprovalCreate], { agentId })
    expect(frames.map((frame) => frame.message_type)).toEqual([
      'ping',
      'stop_reason',
      'usage_statistics',
    ])
    expect(frames[1]?.stop_reason).toBe('invalid_tool_call')
    expect(frames[2]).toMatchObject({ step_count: 0, total_tokens: 0 })
    const refused = await client.agents.messages
      .create(agentId, { messages: [hello] })
      .catch((error: unknown) => error)
    expect(refused).toBeInstanceOf(ConflictError)
  })
})

describe('answers Letta refuses', () => {
  it('refuses ids other than the pending ones with Letta’s error, and keeps waiting', async () => {
    const { agentId, toolCallId } = await waitingAgent()
    const refused = await client.agents.messages
      .create(agentId, { messages: [decide('call_other', true)] })
      .catch((error: unknown) => error)
    expect(refused).toBeInstanceOf(BadRequestError)
    expect((refused as BadRequestError).error).toEqual({
      detail: `Invalid tool call IDs. Expected '['${toolCallId}']', but received '['call_other']'.`,
    })
    expect((await stream([decide(toolCallId, true)], { agentId })).error).toBeUndefined()
  })

  it('refuses an approval when nothing waits: 400 without streaming, an error event in a stream', async () => {
    const agentId = sim.createAgent().id
    const nothing =
      'Cannot process approval response: No tool call is currently awaiting approval. ' +
      'Please send a regular message to interact with the agent.'
    const refused = await client.agents.messages
      .create(agentId, { messages: [decide('call_other', true)] })
      .catch((error: unknown) => error)
    expect((refused as BadRequestError).error).toEqual({ detail: nothing })
    const { error } = await stream([decide('call_other', true)], { agentId })
    expect((error as APIError).error).toMatchObject({
      error_type: 'internal_error',
      message: 'An unknown error occurred with the LLM streaming request.',
      detail: nothing,
    })
  })

  it('takes an answer sent twice as Letta does: the thread goes on with a keep-alive message', async () => {
    const { agentId, toolCallId } = await waitingAgent()
    await stream([decide(toolCallId, true)], { agentId })
    sim.enqueue(tokenStream({ tokens: 1 }))
    const { error } = await stream([decide(toolCallId, true)], { agentId })
    expect(error).toBeUndefined()
    expect(lastRun()?.messages.at(-1)?.text).toBe(
      '<system-alert>Automated keep-alive ping. Ignore this message and continue from where you stopped.</system-alert>',
    )
  })
})

describe('marking a tool', () => {
  it('keeps requires_approval as the agent’s tool rule, answering SDK clients with null', async () => {
    const agentId = sim.createAgent().id
    const mark = (requires: boolean) =>
      client.patch(`/v1/agents/${agentId}/tools/approval/send_email`, {
        body: { requires_approval: requires },
      })
    expect(await mark(true)).toBeNull()
    expect(sim.agents.get(agentId)?.tool_rules).toEqual([
      { type: 'requires_approval', tool_name: 'send_email' },
    ])
    await mark(false)
    expect(sim.agents.get(agentId)?.tool_rules).toEqual([])
  })

  it('refuses the body SDK 1.12.1’s updateApproval sends, like Letta 0.16.8', async () => {
    const agentId = sim.createAgent().id
    const refused = await client.agents.tools
      .updateApproval('send_email', { agent_id: agentId, body_requires_approval: true })
      .catch((error: unknown) => error)
    expect(refused).toBeInstanceOf(UnprocessableEntityError)
    expect(sim.agents.get(agentId)?.tool_rules ?? []).toEqual([])
  })
})
