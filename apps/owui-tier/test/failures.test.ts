import { describe, expect, test } from 'bun:test'
import { startServer } from '@letta-openwebui/server/server'
import { BRIDGE_API_KEY, FUNCTION_ID } from '../src/stack.ts'
import { adminTab } from './admin-tab.ts'

const tier = adminTab()

/**
 * Chats once with the pipe's valves changed as given (the model picker still holds the Tutor
 * model, as an open browser tab does), and returns the answer OpenWebUI stored.
 */
async function answerWithValves(change: Record<string, unknown>) {
  const token = tier.stack.admin.token
  const valves = await tier.stack.api.getValves(token, FUNCTION_ID)
  await tier.stack.api.setValves(token, FUNCTION_ID, { ...valves, ...change })
  try {
    const turn = await tier.tab.send({ model: tier.tutor, text: 'Are you there?' })
    await tier.tab.finished(turn)
    const stored = await tier.stack.api.chat(token, turn.chatId)
    const message = stored.chat.history.messages[turn.messageId]
    return `${message?.content ?? ''}${message?.error?.content ?? ''}`
  } finally {
    await tier.stack.api.setValves(token, FUNCTION_ID, valves)
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
      lettaBaseUrl: tier.stack.sim.url,
      bridgeApiKey: BRIDGE_API_KEY,
      logLevel: 'error',
    })
    const url = doomed.url
    await doomed.stop()
    const answer = await answerWithValves({ SERVER_URL: url })
    expect(answer).toContain(`The Letta bridge server cannot be reached at ${url}`)
  })
})
