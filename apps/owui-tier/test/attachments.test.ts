import { describe, expect, test } from 'bun:test'
import { lettaMessages } from '../src/stack.ts'
import { adminTab } from './admin-tab.ts'

const tier = adminTab()

// The smallest PNG: one transparent pixel.
const PIXEL = Uint8Array.from(
  Buffer.from(
    '89504e470d0a1a0a0000000d4948445200000001000000010806000000' +
      '1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082',
    'hex',
  ),
)

type Part = { type: string; text?: string; source?: { media_type: string; data: string } }
type Sent = { path: string; body: { messages: Array<{ content: string | Part[] }> } }

/** What the bridge sent Letta for each message since `since`. */
const sentSince = (since: number): Sent[] =>
  lettaMessages(tier.stack.sim).slice(since) as unknown as Sent[]

describe('images and files in the real OpenWebUI', () => {
  test('an image attached in the browser reaches the agent as an image after the words', async () => {
    const image = await tier.stack.api.upload(tier.stack.admin.token, {
      name: 'pixel.png',
      bytes: PIXEL,
      contentType: 'image/png',
    })
    const since = lettaMessages(tier.stack.sim).length
    const turn = await tier.tab.send({
      model: tier.tutor,
      text: 'What is in this picture?',
      attach: [image],
    })
    await tier.tab.finished(turn)
    const [sent] = sentSince(since)
    const content = sent?.body.messages.at(-1)?.content as Part[]
    // OpenWebUI puts its list of the message's files first (user_prompt is only that list):
    // the agent gets the person's words, then the image, which OpenWebUI read from its store.
    expect(content[0]).toEqual({ type: 'text', text: 'What is in this picture?' })
    expect(content.slice(1)).toEqual([
      {
        type: 'image',
        source: {
          type: 'base64',
          media_type: 'image/png',
          data: Buffer.from(PIXEL).toString('base64'),
        },
      } as Part,
    ])
  })

  test("a document's text reaches the agent once, from OpenWebUI's store, and the chat goes on", async () => {
    const notes = await tier.stack.api.upload(tier.stack.admin.token, {
      name: 'notes.txt',
      bytes: new TextEncoder().encode('placeholder'),
      contentType: 'text/plain',
      text: 'Mitochondria make ATP.',
    })
    const since = lettaMessages(tier.stack.sim).length
    const first = await tier.tab.send({
      model: tier.tutor,
      text: 'Summarise my notes',
      attach: [notes],
    })
    await tier.tab.finished(first)
    // The frontend sends the chat's files again with every message.
    const second = await tier.tab.send({
      model: tier.tutor,
      text: 'In one word?',
      after: first,
      chatFiles: [notes],
    })
    await tier.tab.finished(second)
    const [one, two] = sentSince(since)
    expect(one?.body.messages.at(-1)?.content).toEqual([
      { type: 'text', text: 'Summarise my notes' },
      {
        type: 'text',
        text: '<attached_file name="notes.txt">\nMitochondria make ATP.\n</attached_file>',
      },
    ])
    // Same conversation, nothing carried, the file not given again.
    expect(two?.path).toBe(one?.path as string)
    expect(two?.body.messages.map((message) => message.content)).toEqual(['In one word?'])
  })
})
