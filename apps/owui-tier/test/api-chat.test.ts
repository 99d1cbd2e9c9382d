import { beforeAll, describe, expect, test } from 'bun:test'
import { SseParser } from '@letta-openwebui/events'
import type { TierStack } from '../src/stack.ts'
import { listedModel, TUTOR_MODEL, tierStack } from '../src/stack.ts'

let stack: TierStack
beforeAll(async () => {
  stack = await tierStack()
  await listedModel(stack, stack.admin.token)
}, 180_000)

const ask = (stream: boolean, content: string) =>
  stack.api.raw('POST', '/api/chat/completions', {
    token: stack.adminKey,
    body: { model: TUTOR_MODEL, stream, messages: [{ role: 'user', content }] },
  })

type Chunk = {
  id?: unknown
  object?: unknown
  created?: unknown
  model?: unknown
  choices?: { index?: unknown; finish_reason?: unknown; delta?: { content?: string } }[]
}

describe('an API client (OpenAI-compatible, with an API key)', () => {
  test('streams chunks of the full OpenAI shape, ending with [DONE]', async () => {
    const response = await ask(true, 'What is an integral?')
    expect(response.status).toBe(200)
    // OpenWebUI ends with `data: [DONE]` and no blank line: the end of the body ends that event.
    const text = `${await response.text()}\n\n`
    const data = new SseParser().push(text).map((frame) => frame.data)
    expect(data.at(-1)).toBe('[DONE]')
    const chunks = data.slice(0, -1).map((line) => JSON.parse(line) as Chunk)
    expect(chunks.length).toBeGreaterThan(1)
    const answer = chunks.map((chunk) => chunk.choices?.[0]?.delta?.content ?? '').join('')
    expect(answer).toContain('Good question: “What is an integral?”')
    for (const chunk of chunks) {
      expect(chunk).toMatchObject({
        id: expect.any(String),
        object: 'chat.completion.chunk',
        created: expect.any(Number),
        model: TUTOR_MODEL,
      })
      expect(chunk.choices?.[0]?.index).toBe(0)
      expect(chunk.choices?.[0]).toHaveProperty('finish_reason')
    }
    expect(chunks.at(-1)?.choices?.[0]?.finish_reason).toBe('stop')
  })

  test('stream: false answers one chat.completion JSON', async () => {
    const response = await ask(false, 'What is a limit?')
    expect(response.status).toBe(200)
    const body = (await response.json()) as {
      object: string
      choices: { message: { role: string; content: string } }[]
    }
    expect(body.object).toBe('chat.completion')
    expect(body.choices[0]?.message.role).toBe('assistant')
    expect(body.choices[0]?.message.content).toContain('Good question: “What is a limit?”')
  })
})
