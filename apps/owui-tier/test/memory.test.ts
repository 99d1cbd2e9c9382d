import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { BrowserSession, ChatEvent } from '../src/browser.ts'
import type { ModelEntry } from '../src/openwebui-api.ts'
import type { TierStack } from '../src/stack.ts'
import { lettaMessages, openAdminTab } from '../src/stack.ts'

let stack: TierStack
let tab: BrowserSession
let tutor: ModelEntry
beforeAll(async () => {
  ;({ stack, tab, tutor } = await openAdminTab())
}, 180_000)
afterAll(() => tab?.close())

/** The answer OpenWebUI stored for a turn. */
async function storedAnswer(chatId: string, messageId: string): Promise<string> {
  const chat = await stack.api.chat(stack.admin.token, chatId)
  return chat.chat.history.messages[messageId]?.content ?? ''
}

describe('/memory in a real OpenWebUI', () => {
  test('shows what the agent remembers, without a Letta run', async () => {
    const sendsBefore = lettaMessages(stack.sim).length
    const turn = await tab.send({ model: tutor, text: '/memory' })
    await tab.finished(turn)
    const answer = await storedAnswer(turn.chatId, turn.messageId)
    expect(answer).toContain('human')
    expect(answer).toContain('persona')
    expect(answer).toContain('/memory <label>')
    expect(lettaMessages(stack.sim).length).toBe(sendsBefore)
  })

  test('edits a block in OpenWebUI’s own input dialog, pre-filled with what it holds', async () => {
    const dialogs: ChatEvent[] = []
    tab.answerDialogs((event) => {
      dialogs.push(event)
      return event.data.type === 'input' ? 'Likes comets and short answers.' : false
    })
    try {
      const turn = await tab.send({ model: tutor, text: '/memory human' })
      await tab.finished(turn)
      expect(dialogs).toHaveLength(1)
      const dialog = dialogs[0]?.data as { type: string; data: { value?: string } }
      expect(dialog.type).toBe('input')
      expect(dialog.data.value).toContain('what I know about the student')
      expect(await storedAnswer(turn.chatId, turn.messageId)).toContain('Saved')
    } finally {
      tab.answerDialogs(undefined)
    }
    const agent = [...stack.sim.agents.values()].find((candidate) =>
      candidate.tags.includes(`owui-user:${stack.admin.id}`),
    )
    expect(agent?.blocks.find((block) => block.label === 'human')?.value).toBe(
      'Likes comets and short answers.',
    )
  })
})
