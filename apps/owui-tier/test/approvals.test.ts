import { describe, expect, test } from 'bun:test'
import { approvalRequest } from '@letta-openwebui/letta-sim'
import type { ChatEvent } from '../src/browser.ts'
import { adminTab } from './admin-tab.ts'

const tier = adminTab()

const asksToEmail = () =>
  approvalRequest({
    tool: {
      name: 'send_email',
      arguments: { to: 'teacher@example.org', subject: 'Extension request' },
    },
  })

/** The answer OpenWebUI stored for a turn. */
async function storedAnswer(chatId: string, messageId: string) {
  const chat = await tier.stack.api.chat(tier.stack.admin.token, chatId)
  return (chat.chat.history.messages[messageId] as { content?: string } | undefined)?.content
}

/** One message whose agent asks to send an email, the dialog answered with `answer`. */
async function askAndAnswer(answer: boolean) {
  const dialogs: ChatEvent[] = []
  tier.tab.answerDialogs((event) => {
    dialogs.push(event)
    return answer
  })
  try {
    tier.stack.sim.enqueue(asksToEmail())
    const turn = await tier.tab.send({ model: tier.tutor, text: 'Email my teacher' })
    await tier.tab.finished(turn)
    return { turn, dialogs, answer: await storedAnswer(turn.chatId, turn.messageId) }
  } finally {
    tier.tab.answerDialogs(undefined)
  }
}

describe('tool approvals in the real OpenWebUI', () => {
  test("the agent's request is OpenWebUI's confirmation dialog; OK lets the tool run and the answer goes on", async () => {
    const { dialogs, answer } = await askAndAnswer(true)
    expect(dialogs.map((event) => event.data)).toEqual([
      {
        type: 'confirmation',
        data: {
          title: 'Allow your agent to use send_email?',
          message: expect.stringContaining('- **to**: teacher@example.org'),
        },
      },
    ])
    expect(answer?.trim()).toBe('Done.')
    expect(tier.stack.sim.runs().at(-1)?.approvals).toEqual([
      expect.objectContaining({ approve: true }),
    ])
  })

  test('Cancel refuses it with a reason the agent reads, and it answers in the same message', async () => {
    const { answer } = await askAndAnswer(false)
    expect(answer?.trim()).toBe('Understood.')
    expect(tier.stack.sim.runs().at(-1)?.approvals).toEqual([
      expect.objectContaining({ approve: false, reason: 'The person declined this tool call.' }),
    ])
  })
})
