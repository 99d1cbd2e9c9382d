import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startServer } from '@letta-openwebui/server/server'
import type { BrowserSession } from '../src/browser.ts'
import type { ModelEntry } from '../src/openwebui-api.ts'
import type { TierStack } from '../src/stack.ts'
import { BRIDGE_API_KEY, FUNCTION_ID, openAdminTab } from '../src/stack.ts'

let stack: TierStack
let tab: BrowserSession
let tutor: ModelEntry
beforeAll(async () => {
  ;({ stack, tab, tutor } = await openAdminTab())
}, 180_000)
afterAll(() => tab?.close())

/**
 * Chats once with the pipe's valves changed as given (the model picker still holds the Tutor
 * model, as an open browser tab does), and returns the answer OpenWebUI stored.
 */
async function answerWithValves(change: Record<string, unknown>) {
  const token = stack.admin.token
  const valves = await stack.api.getValves(token, FUNCTION_ID)
  await stack.api.setValves(token, FUNCTION_ID, { ...valves, ...change })
  try {
    const turn = await tab.send({ model: tutor, text: 'Are you there?' })
    await tab.finished(turn)
    const stored = await stack.api.chat(token, turn.chatId)
    const message = stored.chat.history.messages[turn.messageId]
    return `${message?.content ?? ''}${message?.error?.content ?? ''}`
  } finally {
    await stack.api.setValves(token, FUNCTION_ID, valves)
  }
}

describe('when something is misconfigured or down, the chat says so in a sentence', () => {
  test('a wrong API_KEY valve', async () => {
    const answer = await answerWithValves({ API_KEY: 'not-the-bridge-key-0000' })
    expect(answer).toContain('check the API_KEY valve')
  })

  test('the bridge is down', async () => {
    const doomed = await startServer({
      port: 0,
      host: '127.0.0.1',
      lettaBaseUrl: stack.sim.url,
      bridgeApiKey: BRIDGE_API_KEY,
      logLevel: 'error',
    })
    const url = doomed.url
    await doomed.stop()
    const answer = await answerWithValves({ SERVER_URL: url })
    expect(answer).toContain(`The Letta bridge server cannot be reached at ${url}`)
  })
})
