import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { errorBeforeOutput } from '@letta-openwebui/letta-sim'
import type { Stack } from './utils.ts'
import { BRIDGE_KEY, chatBody, LETTA_KEY, startStack, streamChat } from './utils.ts'

const SECRET_TEXT = 'my-private-question-about-grades'

describe('request logs', () => {
  let stack: Stack
  beforeAll(async () => {
    stack = await startStack({ logLevel: 'info' })
  })
  afterAll(() => stack.stop())

  it('writes one structured line per chat with ids, duration and outcome', async () => {
    stack.logs.length = 0
    await streamChat(stack.server, chatBody({ user: { id: 'u-log' }, message: SECRET_TEXT }))
    const chats = stack.logs
      .map((line) => JSON.parse(line))
      .filter((entry) => entry.message === 'chat')
    expect(chats).toHaveLength(1)
    expect(chats[0]).toMatchObject({
      level: 'info',
      userId: 'u-log',
      template: 'tutor',
      outcome: 'ok',
    })
    expect(chats[0].agentId).toMatch(/^agent-/)
    expect(chats[0].runId).toMatch(/^run-/)
    expect(typeof chats[0].durationMs).toBe('number')
  })

  it('records a failed turn with its error code', async () => {
    stack.logs.length = 0
    stack.sim.enqueue(errorBeforeOutput({}))
    await streamChat(stack.server, chatBody({ user: { id: 'u-log' } }))
    const chat = stack.logs
      .map((line) => JSON.parse(line))
      .find((entry) => entry.message === 'chat')
    expect(chat).toMatchObject({ outcome: 'error', error: 'rate_limited' })
  })

  it('never logs the API keys or the message text', () => {
    const all = stack.logs.join('\n')
    expect(all).not.toContain(BRIDGE_KEY)
    expect(all).not.toContain(LETTA_KEY)
    expect(all).not.toContain(SECRET_TEXT)
  })
})
