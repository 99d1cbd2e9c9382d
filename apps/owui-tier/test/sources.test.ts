import { describe, expect, test } from 'bun:test'
import { webSearchAnswer } from '@letta-openwebui/letta-sim'
import { adminTab } from './admin-tab.ts'

const tier = adminTab()

describe('sources in the real OpenWebUI', () => {
  test('what a web search found is stored with the answer as its sources', async () => {
    tier.stack.sim.enqueue(
      webSearchAnswer(
        'comets',
        [
          {
            title: 'Comets — NASA',
            url: 'https://science.nasa.gov/solar-system/comets/',
            highlights: ['Comets are cosmic snowballs.'],
          },
        ],
        'Comets are icy bodies.',
      ),
    )
    const turn = await tier.tab.send({ model: tier.tutor, text: 'What is a comet?' })
    await tier.tab.finished(turn)
    const stored = (await tier.stack.api.chat(tier.stack.admin.token, turn.chatId)).chat.history
      .messages[turn.messageId] as { sources?: unknown[]; content?: string } | undefined
    expect(stored?.content).toContain('Comets are icy bodies.')
    expect(stored?.sources).toEqual([
      {
        source: { name: 'Searching the web' },
        document: ['Comets are cosmic snowballs.'],
        metadata: [
          {
            source: 'https://science.nasa.gov/solar-system/comets/',
            name: 'Comets — NASA',
            url: 'https://science.nasa.gov/solar-system/comets/',
          },
        ],
      },
    ])
  })
})
