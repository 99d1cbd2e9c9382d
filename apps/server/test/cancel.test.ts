import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import type { LettaSim } from '@letta-openwebui/letta-sim'
import { stallAfter, startLettaSim, tokenStream } from '@letta-openwebui/letta-sim'
import { RunCanceller } from '../src/letta/cancel.ts'
import { createLettaClient } from '../src/letta/client.ts'
import { createLogger } from '../src/log.ts'

/** Starts a message on the agent through the SDK; returns its run id (from Letta's first ping). */
async function startRun(sim: LettaSim, agentId: string, finish: boolean): Promise<string> {
  sim.enqueue(finish ? tokenStream({ tokens: 2 }) : stallAfter(1))
  const response = await fetch(`${sim.url}/v1/agents/${agentId}/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-stainless-package-version': '1.12.1' },
    body: JSON.stringify({
      messages: [{ role: 'user', content: 'hi' }],
      streaming: true,
      include_pings: true,
    }),
  })
  const text = finish
    ? await response.text()
    : new TextDecoder().decode((await response.body?.getReader().read())?.value)
  const runId = /"run_id":"(run-[^"]+)"/.exec(text)?.[1]
  if (!runId) throw new Error('no run id in the first frame')
  return runId
}

describe('cancelling a run', () => {
  let sim: LettaSim
  const logs: string[] = []
  let canceller: RunCanceller
  beforeAll(async () => {
    sim = await startLettaSim()
    canceller = new RunCanceller(
      createLettaClient({ baseUrl: sim.url }),
      createLogger('debug', { write: (line) => logs.push(line) }),
      { attempts: 3, intervalMs: 20 },
    )
  })
  afterAll(() => sim.stop())

  it('cancels a running run by its id and says so', async () => {
    const agentId = sim.createAgent().id
    const runId = await startRun(sim, agentId, false)
    expect(await canceller.cancel({ agentId, runId, sentAt: new Date() })).toBe('cancelled')
    expect(sim.cancels.at(-1)?.requested).toEqual([runId])
    expect(logs.at(-1)).toContain('"message":"run cancelled"')
  })

  it('does not claim to have cancelled a run that had already finished', async () => {
    const agentId = sim.createAgent().id
    const runId = await startRun(sim, agentId, true)
    expect(await canceller.cancel({ agentId, runId, sentAt: new Date() })).toBe('already_finished')
    expect(logs.at(-1)).toContain('run had already finished')
    expect(logs.at(-1)).toContain('"runStatus":"completed"')
  })

  it('finds the active run when the id never arrived, and names it', async () => {
    const agentId = sim.createAgent().id
    const sentAt = new Date()
    const runId = await startRun(sim, agentId, false)
    expect(await canceller.cancel({ agentId, runId: undefined, sentAt })).toBe('cancelled')
    expect(sim.cancels.at(-1)?.requested).toEqual([runId])
  })

  it('leaves alone an older run that is still listed as active (an orphan, or not ours)', async () => {
    const agentId = sim.createAgent().id
    const orphan = await startRun(sim, agentId, false)
    const sentAt = new Date(Date.now() + 60_000)
    expect(await canceller.cancel({ agentId, runId: undefined, sentAt })).toBe('no_run')
    const run = (await (await fetch(`${sim.url}/v1/runs/${orphan}`)).json()) as { status: string }
    expect(run.status).toBe('running')
  })

  it('gives up after a bounded search when the message never started a run', async () => {
    const agentId = sim.createAgent().id
    const before = sim.cancels.length
    expect(await canceller.cancel({ agentId, runId: undefined, sentAt: new Date() })).toBe('no_run')
    expect(sim.cancels.length).toBe(before)
    expect(
      sim.requests.filter(
        (request) => request.path === '/v1/runs' && request.query.agent_id === agentId,
      ),
    ).toHaveLength(3)
    expect(logs.at(-1)).toContain('no run to cancel')
  })
})
