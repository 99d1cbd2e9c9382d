import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { tokenStream } from '@letta-openwebui/letta-sim'
import { startReplicaSet } from '../../server/test/replica-set.ts'
import { BRIDGE_KEY } from '../../server/test/utils.ts'

/**
 * Two bridge processes on one Redis, in front of a Letta that keeps runs (with Redis), behind a
 * round-robin load balancer: for the pipe's test of a replica killed mid-answer. Prints one JSON
 * line (the proxy's and the sim's URLs, the key, each replica's URL and pid, a slow answer's
 * steps) and stops everything when stdin closes.
 */
const dataDir = mkdtempSync(join(tmpdir(), 'pipe-replicas-'))
const set = await startReplicaSet(dataDir)

process.stdout.write(
  `${JSON.stringify({
    proxyUrl: set.proxy.url,
    simUrl: set.sim.url,
    apiKey: BRIDGE_KEY,
    replicas: set.replicas.map((replica) => ({ url: replica.url, pid: replica.process.pid })),
    slowAnswer: tokenStream({ tokens: 80, tokensPerSecond: 20 }),
  })}\n`,
)

for await (const _ of Bun.stdin.stream()) {
  // Runs until the test closes stdin.
}
await set.stop()
rmSync(dataDir, { recursive: true, force: true })
