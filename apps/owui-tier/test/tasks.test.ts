import { describe, expect, test } from 'bun:test'
import { lettaMessages, TUTOR_MODEL } from '../src/stack.ts'
import { adminTab } from './admin-tab.ts'

const tier = adminTab()

const ALL_TASKS = { title_generation: true, tags_generation: true, follow_up_generation: true }
const sentText = (body: unknown) => JSON.stringify(body)

describe("OpenWebUI's background tasks (title, tags, follow-ups)", () => {
  test("title the chat from the user's words, and none of them reaches Letta", async () => {
    const sendsBefore = lettaMessages(tier.stack.sim).length
    const turn = await tier.tab.send({
      model: tier.tutor,
      text: 'How do photosynthesis and respiration differ?',
      backgroundTasks: ALL_TASKS,
    })
    const titled = await tier.tab.waitFor(turn, (event) => event.data.type === 'chat:title')
    await tier.tab.waitFor(turn, (event) => event.data.type === 'chat:message:follow_ups')
    await tier.tab.finished(turn)

    const title = String(titled.data.data)
    expect(title).not.toMatch(/###|Task/)
    expect(title.toLowerCase()).toMatch(/photosynthesis|respiration/)
    const stored = await tier.stack.api.chat(tier.stack.admin.token, turn.chatId)
    expect(stored.title).toBe(title)

    const sends = lettaMessages(tier.stack.sim).slice(sendsBefore)
    expect(sends).toHaveLength(1)
    expect(sentText(sends[0]?.body)).toContain('photosynthesis')
    expect(sends.map((send) => sentText(send.body)).join('\n')).not.toContain('### Task')
  })

  test('a direct title request is answered without Letta', async () => {
    const sendsBefore = lettaMessages(tier.stack.sim).length
    const answer = await tier.stack.api.request<{ choices: { message: { content: string } }[] }>(
      'POST',
      '/api/v1/tasks/title/completions',
      {
        token: tier.stack.adminKey,
        body: {
          model: TUTOR_MODEL,
          messages: [{ role: 'user', content: 'Why is the sky blue at noon?' }],
        },
      },
    )
    const content = answer.choices[0]?.message.content ?? ''
    const title = JSON.parse(content.slice(content.indexOf('{'), content.lastIndexOf('}') + 1))
      .title as string
    expect(title).not.toMatch(/###|Task/)
    expect(title.toLowerCase()).toContain('sky')
    expect(lettaMessages(tier.stack.sim).length).toBe(sendsBefore)
  })
})
