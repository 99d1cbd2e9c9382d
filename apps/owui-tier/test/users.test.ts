import { beforeAll, describe, expect, test } from 'bun:test'
import { BrowserSession } from '../src/browser.ts'
import type { Account } from '../src/openwebui-api.ts'
import type { TierStack } from '../src/stack.ts'
import { listedModel, TUTOR_MODEL, tierStack } from '../src/stack.ts'

let stack: TierStack
let student: Account
beforeAll(async () => {
  stack = await tierStack()
  const email = `student-${crypto.randomUUID().slice(0, 8)}@owui-tier.test`
  await stack.api.addUser(stack.admin.token, {
    name: 'Sam Student',
    email,
    password: 'student-pass-123',
    role: 'user',
  })
  student = await stack.api.signin(email, 'student-pass-123')
}, 180_000)

describe('a user who is not an admin', () => {
  test('sees the Letta models (publish made them public) and chats with their own agent', async () => {
    const models = await stack.api.models(student.token, true)
    expect(models.map((model) => model.id)).toContain(TUTOR_MODEL)

    const tab = await BrowserSession.open(stack.api, student.token)
    try {
      const turn = await tab.send({
        model: await listedModel(stack, student.token),
        text: 'I am Sam and I like chemistry.',
      })
      await tab.finished(turn)
      const stored = await stack.api.chat(student.token, turn.chatId)
      expect(stored.chat.history.messages[turn.messageId]?.content).toContain(
        'I am Sam and I like chemistry.',
      )
    } finally {
      tab.close()
    }
    const agents = [...stack.sim.agents.values()].map((agent) => JSON.stringify(agent))
    expect(agents.some((agent) => agent.includes(`owui-user:${student.id}`))).toBe(true)
  })
})
