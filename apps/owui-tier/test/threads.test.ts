import { describe, expect, test } from 'bun:test'
import { reasoningToolAnswer, threadSends } from '@letta-openwebui/letta-sim'
import type { BrowserTurn } from '../src/browser.ts'
import { adminTab } from './admin-tab.ts'

const tier = adminTab()

/** Every message the bridge sent to Letta since `from`: which thread, and what it carried. */
const sendsSince = (from: number) => threadSends(tier.stack.sim.requests.slice(from))

/** What OpenWebUI stored as the answer of a turn (what the person sees, and what it sends back). */
async function storedAnswer(turn: BrowserTurn): Promise<string> {
  const chat = await tier.stack.api.chat(tier.stack.admin.token, turn.chatId)
  return chat.chat.history.messages[turn.messageId]?.content ?? ''
}

/** What the agent was given in the newest Letta run: its thread, as `role: text`. */
const lastContext = () =>
  (tier.stack.sim.runs().at(-1)?.messages ?? []).map(
    (message) => `${message.role}: ${message.text}`,
  )

async function say(
  text: string,
  options: { after?: BrowserTurn; regenerate?: BrowserTurn; editFirstOf?: BrowserTurn } = {},
) {
  const from = tier.stack.sim.requests.length
  const turn = await tier.tab.send({ model: tier.tutor, text, ...options })
  await tier.tab.finished(turn)
  return { turn, sends: sendsSince(from) }
}

describe('a chat in the real OpenWebUI is one Letta conversation', () => {
  test('a follow-up continues it; regenerate and edit move the chat to a thread of what it shows', async () => {
    const first = await say('What is a vector?')
    const [firstSend] = first.sends
    expect(firstSend?.thread).toStartWith('conv-')
    expect(firstSend?.messages).toEqual(['user: What is a vector?'])

    // OpenWebUI sends the chat's branch from its database: the pipe's fingerprints of it must
    // match what the bridge recorded, or every follow-up would start a new thread.
    const second = await say('And a matrix?', { after: first.turn })
    expect(second.sends).toEqual([
      { thread: firstSend?.thread as string, messages: ['user: And a matrix?'] },
    ])

    const firstAnswer = await storedAnswer(first.turn)
    const regenerated = await say('And a matrix?', { regenerate: second.turn })
    const [regenSend] = regenerated.sends
    expect(regenSend?.thread).toStartWith('conv-')
    expect(regenSend?.thread).not.toBe(firstSend?.thread as string)
    expect(regenSend?.messages).toEqual([
      'user: What is a vector?',
      `assistant: ${firstAnswer.trim()}`,
      'user: And a matrix?',
    ])

    // The chat goes on in the new thread from the regenerated answer.
    const third = await say('Thanks!', { after: regenerated.turn })
    expect(third.sends).toEqual([
      { thread: regenSend?.thread as string, messages: ['user: Thanks!'] },
    ])

    // Editing "And a matrix?" into another question: a sibling after the first answer.
    const edited = await say('And a tensor?', { after: first.turn })
    const [editSend] = edited.sends
    expect(editSend?.thread).not.toBe(regenSend?.thread as string)
    expect(editSend?.messages).toEqual([
      'user: What is a vector?',
      `assistant: ${firstAnswer.trim()}`,
      'user: And a tensor?',
    ])
  })

  test('an edit of the first message starts the chat over: the agent reads that message alone', async () => {
    const first = await say('I study physics.')
    const second = await say('Explain momentum.', { after: first.turn })
    const edited = await say('I study chemistry.', { editFirstOf: first.turn })
    expect(edited.turn.chatId).toBe(first.turn.chatId)
    const [editSend] = edited.sends
    expect(editSend?.thread).not.toBe(second.sends[0]?.thread as string)
    expect(editSend?.messages).toEqual(['user: I study chemistry.'])
    expect(lastContext()).toEqual(['user: I study chemistry.'])
  })

  test('regenerating an answer that wrote memory shows OpenWebUI’s toast, once', async () => {
    const first = await say('Hello there.')
    tier.stack.sim.enqueue(
      reasoningToolAnswer({
        reasoning: 'Noting it.',
        tool: { name: 'core_memory_append', arguments: { content: 'Likes tea' }, result: 'ok' },
        answer: 'Noted: you like tea.',
      }),
    )
    const wrote = await say('I like tea.', { after: first.turn })
    const toasts = (turn: BrowserTurn) =>
      turn.events
        .filter((event) => event.data.type === 'notification')
        .map((event) => event.data.data)
    expect(toasts(wrote.turn)).toEqual([])
    const again = await say('I like tea.', { regenerate: wrote.turn })
    expect(toasts(again.turn)).toEqual([
      { type: 'info', content: expect.stringContaining('/memory') },
    ])
    // The answer OpenWebUI stored is the agent's alone.
    expect(await storedAnswer(again.turn)).not.toContain('/memory')
  })
})
