import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import type {
  ApprovalDecision,
  BridgeEvent,
  ChatRequest,
  HistoryMessage,
} from '@letta-openwebui/events'
import { fingerprint, ROUTES } from '@letta-openwebui/events'
import {
  afterApproval,
  approvalRequest,
  threadSends,
  tokenStream,
} from '@letta-openwebui/letta-sim'
import { NEW_MESSAGE_REASON } from '../src/letta/pending-approval.ts'
import type { Stack } from './utils.ts'
import { chatBody, json, post, startStack, streamChat, summarize } from './utils.ts'

let stack: Stack
beforeAll(async () => {
  stack = await startStack()
})
afterAll(() => stack.stop())

const EMAIL = { to: 'teacher@example.org', subject: 'Extension request' }
const asksToEmail = () => approvalRequest({ tool: { name: 'send_email', arguments: EMAIL } })
const says = (text: string) => tokenStream({ tokens: 1, text: () => text })

const requested = (events: BridgeEvent[]) =>
  events.flatMap((event) => (event.event === 'approval.requested' ? [event.data] : []))

/** One chat of its own per test: its first message makes the agent ask to send an email. */
async function askedInChat(chatId: string, message = 'Email my teacher') {
  stack.sim.enqueue(asksToEmail())
  const body = chatBody({ chatId, message, user: { id: `approvals-${chatId}` } })
  const events = await streamChat(stack.server, body)
  const [asked] = requested(events)
  if (!asked) throw new Error('no approval requested')
  return { body, events, asked }
}

const decide = (body: ChatRequest, decisions: ApprovalDecision[]) =>
  streamChat(stack.server, { ...body, approvals: decisions })

describe('tool approvals', () => {
  it("stop the turn with the request; the person's yes runs the tool and the answer goes on", async () => {
    const { body, events, asked } = await askedInChat('yes')
    expect(summarize(events).stopReason).toBe('requires_approval')
    expect(asked.name).toBe('send_email')
    expect(JSON.parse(asked.arguments)).toEqual(EMAIL)
    stack.sim.enqueue(afterApproval({ result: 'Sent.', answer: 'Your email is on its way.' }))
    const after = await decide(body, [{ id: asked.id, name: 'send_email', approve: true }])
    const seen = summarize(after)
    expect(seen.tools).toEqual(['start send_email', 'finish send_email success'])
    expect(seen.answer).toBe('Your email is on its way.')
    expect(seen.stopReason).toBe('end_turn')
    expect(stack.sim.runs().at(-1)).toMatchObject({
      approvals: [{ tool_call_id: asked.id, approve: true }],
      toolReturns: [{ name: 'send_email', status: 'success', text: 'Sent.' }],
    })
    // The chat's next message continues the same thread: the answer was recorded whole.
    const history: HistoryMessage[] = [
      { role: 'user', fp: fingerprint(body.message) },
      { role: 'assistant', fp: fingerprint(seen.answer) },
    ]
    stack.sim.enqueue(says('Anything else?'))
    const since = stack.sim.requests.length
    await streamChat(stack.server, { ...body, message: 'Thanks', history })
    const [next] = threadSends(stack.sim.requests.slice(since))
    expect(next?.messages).toEqual(['user: Thanks'])
  })

  it('a refusal reaches the agent with its reason, and the agent answers it', async () => {
    const { body, asked } = await askedInChat('no')
    stack.sim.enqueue(afterApproval({ answer: 'All right, I will not send it.' }))
    const after = summarize(
      await decide(body, [
        { id: asked.id, name: 'send_email', approve: false, reason: 'The person declined.' },
      ]),
    )
    expect(after.answer).toBe('All right, I will not send it.')
    expect(stack.sim.runs().at(-1)?.toolReturns).toEqual([
      expect.objectContaining({
        status: 'error',
        text: 'Error: request to call tool denied. User reason: The person declined.',
      }),
    ])
  })

  it('left unanswered, are refused before the next message, in the same run (a conversation and the agent thread)', async () => {
    const { body } = await askedInChat('left')
    stack.sim.enqueue(says('Here is something else.'))
    const next = summarize(await streamChat(stack.server, { ...body, message: 'Never mind' }))
    expect(next.errors).toEqual([])
    expect(next.answer).toBe('Here is something else.')
    expect(stack.sim.runs().at(-1)?.approvals).toEqual([
      expect.objectContaining({ approve: false, reason: NEW_MESSAGE_REASON }),
    ])
    // The agent's own thread (no chat): Letta refuses with a 409 there when not streaming, in
    // the stream when streaming; the bridge always streams.
    const user = { id: 'approvals-agent-thread' }
    stack.sim.enqueue(asksToEmail())
    await streamChat(stack.server, chatBody({ chatId: undefined, user }))
    stack.sim.enqueue(says('Moving on.'))
    const own = summarize(
      await streamChat(stack.server, chatBody({ chatId: undefined, user, message: 'Hello?' })),
    )
    expect(own.answer).toBe('Moving on.')
    expect(stack.sim.runs().at(-1)?.approvals).toEqual([
      expect.objectContaining({ approve: false, reason: NEW_MESSAGE_REASON }),
    ])
  })

  it('answered when nothing waits any more: a sentence, nothing run', async () => {
    const { body, asked } = await askedInChat('twice')
    stack.sim.enqueue(afterApproval())
    await decide(body, [{ id: asked.id, name: 'send_email', approve: true }])
    const again = summarize(
      await decide(body, [{ id: asked.id, name: 'send_email', approve: true }]),
    )
    expect(again.errors).toEqual(['approval_gone'])
    expect(again.doneCount).toBe(1)
    // The agent's own thread has no record: Letta's refusal says so.
    const user = { id: 'approvals-nothing' }
    const stray = summarize(
      await streamChat(
        stack.server,
        chatBody({
          chatId: undefined,
          user,
          approvals: [{ id: 'call-x', name: 't', approve: true }],
        }),
      ),
    )
    expect(stray.errors).toEqual(['approval_gone'])
  })

  it('are listed in the folded answer of /v1/chat', async () => {
    stack.sim.enqueue(asksToEmail())
    const response = await post(
      stack.server,
      ROUTES.chat,
      chatBody({ chatId: 'folded', user: { id: 'approvals-folded' } }),
    )
    const result = await json<{ stopReason: string; approvals?: Array<{ name: string }> }>(response)
    expect(result.stopReason).toBe('requires_approval')
    expect(result.approvals?.map((item) => item.name)).toEqual(['send_email'])
  })
})
