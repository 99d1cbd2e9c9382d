import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ROUTES } from '@letta-openwebui/events'
import type { LettaSim } from '@letta-openwebui/letta-sim'
import { startLettaSim, tokenStream } from '@letta-openwebui/letta-sim'
import {
  chatBody,
  eventually,
  eventuallyAsync,
  startBridgeProcess,
  streamChat,
  summarize,
} from './utils.ts'

const dataDir = mkdtempSync(join(tmpdir(), 'bridge-shutdown-'))
let sim: LettaSim

beforeAll(async () => {
  sim = await startLettaSim({ pingIntervalMs: 20_000 })
})
afterAll(async () => {
  await sim.stop()
  rmSync(dataDir, { recursive: true, force: true })
})

/** A slow answer of `tokens` words; waits until Letta is streaming it. */
async function slowAnswer(url: string, user: string, tokens: number) {
  sim.enqueue(tokenStream({ tokens, tokensPerSecond: 20 }))
  const running = sim.runs().filter((run) => run.status === 'running').length
  const turn = streamChat({ url }, chatBody({ user: { id: user } }))
  await eventually(
    () => sim.runs().filter((run) => run.status === 'running').length > running,
    5_000,
  )
  // Wrapped: an async function returning the promise itself would wait for the whole answer.
  return { turn }
}

// Answers Letta does not keep (no Redis, or RESUMABLE_STREAMS=false); resume.test.ts hands kept
// ones over to another replica.
describe('SIGTERM, answers Letta does not keep', () => {
  it('lets a running answer finish, takes nothing new, and exits', async () => {
    const bridge = await startBridgeProcess(
      { LETTA_BASE_URL: sim.url, SHUTDOWN_GRACE_MS: '20000', RESUMABLE_STREAMS: 'false' },
      dataDir,
    )
    const { turn } = await slowAnswer(bridge.url, 'shutdown-finish', 20)
    bridge.process.kill('SIGTERM')
    // Draining once the signal is handled: /health says so (a load balancer stops sending), or
    // the port is closed already.
    const draining = await eventuallyAsync(async () => {
      const health = await fetch(`${bridge.url}${ROUTES.health}`).then(
        (response) => response.status,
        () => 'closed',
      )
      return health === 503 || health === 'closed'
    }, 5_000)
    expect(draining).toBe(true)
    const seen = summarize(await turn)
    expect(seen.errors).toEqual([])
    expect(seen.answer.trim().split(' ')).toHaveLength(20)
    expect(seen.stopReason).toBe('end_turn')
    expect(await bridge.process.exited).toBe(0)
  }, 30_000)

  it('ends an answer still running after the grace with a sentence, and cancels its run', async () => {
    const bridge = await startBridgeProcess(
      { LETTA_BASE_URL: sim.url, SHUTDOWN_GRACE_MS: '300', RESUMABLE_STREAMS: 'false' },
      dataDir,
    )
    const cancels = sim.cancels.length
    const { turn } = await slowAnswer(bridge.url, 'shutdown-cut', 400)
    bridge.process.kill('SIGTERM')
    const seen = summarize(await turn)
    expect(seen.errors).toEqual(['bridge_restarting'])
    expect(seen.doneCount).toBe(1)
    expect(await bridge.process.exited).toBe(0)
    expect(sim.cancels.length).toBe(cancels + 1)
  }, 30_000)
})
