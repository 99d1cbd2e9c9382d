import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { errorBeforeOutput, stallAfter, tokenStream } from '@letta-openwebui/letta-sim'
import type { Stack } from './utils.ts'
import { BRIDGE_KEY, chatBody, eventually, LETTA_KEY, startStack, streamChat } from './utils.ts'

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

  it('never logs the API keys or the message text, whatever the turn does', async () => {
    const all: string[] = []
    const turns = [tokenStream({ tokens: 3 }), errorBeforeOutput({}), stallAfter(1)]
    for (const scenario of turns) {
      stack.logs.length = 0
      stack.sim.enqueue(scenario)
      await streamChat(stack.server, chatBody({ user: { id: 'u-secret' }, message: SECRET_TEXT }))
      // A stalled turn's cancel is logged after its stream ended, before its agent is free.
      expect(await eventually(() => stack.server.service.activeTurns === 0, 3_000)).toBe(true)
      all.push(...stack.logs)
    }
    expect(all.filter((line) => line.includes('"message":"chat"'))).toHaveLength(turns.length)
    const text = all.join('\n')
    expect(text).not.toContain(BRIDGE_KEY)
    expect(text).not.toContain(LETTA_KEY)
    expect(text).not.toContain(SECRET_TEXT)
  })
})
