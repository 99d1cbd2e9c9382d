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

/**
 * Case 5: CPU the generated pipe spends per token under the OpenWebUI harness, against a bare
 * aiohttp SSE reader of the same bridge stream (both measured by the Python process itself).
 */
export async function measurePipeCost(sim: Child, bridge: Child, key: string): Promise<PipeCost> {
  // Streams left over from earlier cases must not be played to this one.
  await fetch(`${sim.url}/_sim/reset`, { method: 'POST' })
  await enqueue(sim.url, tokenStream({ tokens: TOKENS }), 2)
  const child = Bun.spawn(
    [
      join(ROOT, 'scripts/with-python.sh'),
      'python3',
      join(ROOT, 'apps/pipe/bench/pipe_cost.py'),
      '--server',
      bridge.url,
      '--key',
      key,
      '--tokens',
      String(TOKENS),
    ],
    { stdout: 'pipe', stderr: 'inherit' },
  )
  const output = await new Response(child.stdout).text()
  if ((await child.exited) !== 0) throw new Error('apps/pipe/bench/pipe_cost.py failed')
  return JSON.parse(output.trim().split('\n').at(-1) ?? '{}') as PipeCost
}
