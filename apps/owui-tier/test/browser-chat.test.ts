import { describe, expect, test } from 'bun:test'
import { tokenStream } from '@letta-openwebui/letta-sim'
import type { BrowserTurn, ChatEvent } from '../src/browser.ts'
import { until } from '../src/processes.ts'
import { adminTab } from './admin-tab.ts'

const tier = adminTab()

type Status = { description: string; done: boolean; hidden?: boolean }
const statuses = (events: ChatEvent[]) =>
  events.filter((event) => event.data.type === 'status').map((event) => event.data.data as Status)

type OutputItem = { type: string; content?: { text?: string }[] }
/** The text of every `output` item of a type, as the browser renders it. */
const outputText = (output: unknown, type: string) =>
  ((output as OutputItem[] | undefined) ?? [])
    .filter((item) => item.type === type)
    .flatMap((item) => item.content ?? [])
    .map((part) => part.text ?? '')
    .join('')

describe('a chat in the browser', () => {
  test('shows tool status lines, the Thinking block and the answer, and OpenWebUI stores them', async () => {
    const turn = await tier.tab.send({ model: tier.tutor, text: 'What is a derivative?' })
    await tier.tab.finished(turn)

    const shown = statuses(turn.events)
    expect(shown.filter((status) => !status.hidden).map((s) => s.description)).toContain(
      'Searching memory…',
    )
    expect(shown.at(-1)?.done).toBe(true)
    const live = turn.events.filter((event) => event.data.type === 'chat:completion')
    const thinking = live.map((event) =>
      outputText((event.data.data as { output?: unknown })?.output, 'reasoning'),
    )
    expect(thinking.some((text) => text.includes('derivative'))).toBe(true)

    const stored = (await tier.stack.api.chat(tier.stack.admin.token, turn.chatId)).chat.history
      .messages[turn.messageId]
    expect(stored?.done).toBe(true)
    expect(stored?.content).toContain('Good question: “What is a derivative?”')
    expect(outputText(stored?.output, 'reasoning')).toContain('Let me check my notes')
    expect(stored?.statusHistory?.map((status) => status.description)).toContain(
      'Searching memory…',
    )
    expect(stored?.statusHistory?.at(-1)?.done).toBe(true)
  })

  const stops = [
    [
      'the stop button',
      (turn: BrowserTurn) => tier.stack.api.stopChat(tier.stack.admin.token, turn.chatId),
    ],
    [
      'stopping the task by id',
      (turn: BrowserTurn) => tier.stack.api.stopTask(tier.stack.admin.token, turn.taskIds[0] ?? ''),
    ],
  ] as const
  test.each(stops)('%s cancels the Letta run', async (_, stop) => {
    tier.stack.sim.enqueue(tokenStream({ tokens: 200, tokensPerSecond: 40 }))
    const cancelsBefore = tier.stack.sim.cancels.length
    const turn = await tier.tab.send({ model: tier.tutor, text: 'Tell me a very long story.' })
    await tier.tab.waitFor(turn, (event) =>
      outputText((event.data.data as { output?: unknown })?.output, 'message').includes('token3'),
    )
    expect(turn.taskIds).toHaveLength(1)
    await stop(turn)
    await until(
      'Letta to be asked to cancel the run',
      () => tier.stack.sim.cancels.length > cancelsBefore,
      10_000,
    )
    await tier.tab.finished(turn, 10_000)
    const stored = (await tier.stack.api.chat(tier.stack.admin.token, turn.chatId)).chat.history
      .messages[turn.messageId]
    expect(stored?.content ?? '').not.toContain('token199')
  })
})
