import { join } from 'node:path'
import { tokenStream } from '@letta-openwebui/letta-sim'
import { enqueue } from './clients.ts'
import type { Child } from './processes.ts'

const ROOT = join(import.meta.dir, '../../..')
const TOKENS = 20_000

export type PipeCost = {
  tokens: number
  pipeMicrosPerToken: number
  baselineMicrosPerToken: number
}

/** One phase of case 5b: answer events of all its streams, per second of wall time and in CPU. */
export type PhaseRate = { events: number; eventsPerSecond: number; cpuMicrosPerEvent: number }
export type ConcurrentPipes = { streams: number; raw: PhaseRate; pipe: PhaseRate }

/** Runs a Python script with the pipe's Python (scripts/with-python.sh); its last line is JSON. */
async function runPython<T>(script: string, args: string[]): Promise<T> {
  const child = Bun.spawn([join(ROOT, 'scripts/with-python.sh'), 'python3', script, ...args], {
    stdout: 'pipe',
    stderr: 'inherit',
  })
  const output = await new Response(child.stdout).text()
  if ((await child.exited) !== 0) throw new Error(`${script} failed`)
  return JSON.parse(output.trim().split('\n').at(-1) ?? '{}') as T
}

/**
 * Case 5: CPU the generated pipe spends per token under the OpenWebUI harness, against a bare
 * aiohttp SSE reader of the same bridge stream (both measured by the Python process itself).
 */
export async function measurePipeCost(sim: Child, bridge: Child, key: string): Promise<PipeCost> {
  // Streams left over from earlier cases must not be played to this one.
  await fetch(`${sim.url}/_sim/reset`, { method: 'POST' })
  await enqueue(sim.url, tokenStream({ tokens: TOKENS }), 2)
  return runPython(join(ROOT, 'apps/pipe/bench/pipe_cost.py'), [
    '--server',
    bridge.url,
    '--key',
    key,
    '--tokens',
    String(TOKENS),
  ])
}

/**
 * Case 5b: `streams` chats at once at full speed, read by bare aiohttp readers and then by the
 * generated pipe under the harness, in one Python process as OpenWebUI runs them. The users
 * named `users-0…` must already have their agents.
 */
export async function measureConcurrentPipes(
  sim: Child,
  bridge: Child,
  key: string,
  options: { streams: number; tokens: number; users: string },
): Promise<ConcurrentPipes> {
  // One answer per stream of each phase, readers first, in the order the phases ask.
  await enqueue(sim.url, tokenStream({ tokens: options.tokens }), 2 * options.streams)
  return runPython(join(import.meta.dir, '../pipe/concurrent_pipes.py'), [
    '--server',
    bridge.url,
    '--key',
    key,
    '--streams',
    String(options.streams),
    '--users',
    options.users,
  ])
}
