import { describe, expect, test } from 'bun:test'
import type { ChatEvent } from '../src/browser.ts'
import { lettaMessages } from '../src/stack.ts'
import { adminTab } from './admin-tab.ts'

const tier = adminTab()

/** The answer OpenWebUI stored for a turn. */
async function storedAnswer(chatId: string, messageId: string): Promise<string> {
  const chat = await tier.stack.api.chat(tier.stack.admin.token, chatId)
  return chat.chat.history.messages[messageId]?.content ?? ''
}

describe('/memory in a real OpenWebUI', () => {
  test('shows what the agent remembers, without a Letta run', async () => {
    const sendsBefore = lettaMessages(tier.stack.sim).length
    const turn = await tier.tab.send({ model: tier.tutor, text: '/memory' })
    await tier.tab.finished(turn)
    const answer = await storedAnswer(turn.chatId, turn.messageId)
    expect(answer).toContain('human')
    expect(answer).toContain('persona')
    expect(answer).toContain('/memory <label>')
    expect(lettaMessages(tier.stack.sim).length).toBe(sendsBefore)
  })

  test('edits a block in OpenWebUI’s own input dialog, pre-filled with what it holds', async () => {
    const dialogs: ChatEvent[] = []
    tier.tab.answerDialogs((event) => {
      dialogs.push(event)
      return event.data.type === 'input' ? 'Likes comets and short answers.' : false
    })
    try {
      const turn = await tier.tab.send({ model: tier.tutor, text: '/memory human' })
      await tier.tab.finished(turn)
      expect(dialogs).toHaveLength(1)
      const dialog = dialogs[0]?.data as { type: string; data: { value?: string } }
      expect(dialog.type).toBe('input')
      expect(dialog.data.value).toContain('what I know about the student')
      expect(await storedAnswer(turn.chatId, turn.messageId)).toContain('Saved')
    } finally {
      tier.tab.answerDialogs(undefined)
    }
    const agent = [...tier.stack.sim.agents.values()].find((candidate) =>
      candidate.tags.includes(`owui-user:${tier.stack.admin.id}`),
    )
    expect(agent?.blocks.find((block) => block.label === 'human')?.value).toBe(
      'Likes comets and short answers.',
    )
  })
})
