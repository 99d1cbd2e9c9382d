import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startLettaSim, tokenStream } from '@letta-openwebui/letta-sim'
import { startRedis } from '@letta-openwebui/local-redis'
import { startRoundRobinProxy } from '../../server/test/round-robin-proxy.ts'
import { BRIDGE_KEY, startBridgeProcess } from '../../server/test/utils.ts'

/**
 * Two bridge processes on one Redis, in front of a Letta that keeps runs (with Redis), behind a
 * round-robin load balancer: for the pipe's test of a replica killed mid-answer. Prints one JSON
 * line (the proxy's and the sim's URLs, the key, each replica's URL and pid, a slow answer's
 * steps) and stops everything when stdin closes.
 */
const dataDir = mkdtempSync(join(tmpdir(), 'pipe-replicas-'))
const redis = await startRedis()
const sim = await startLettaSim({ pingIntervalMs: 20_000 })
const replicas = await Promise.all(
  [1, 2].map(() => startBridgeProcess({ LETTA_BASE_URL: sim.url, REDIS_URL: redis.url }, dataDir)),
)
const proxy = startRoundRobinProxy(replicas.map((replica) => replica.url))

process.stdout.write(
  `${JSON.stringify({
    proxyUrl: proxy.url,
    simUrl: sim.url,
    apiKey: BRIDGE_KEY,
    replicas: replicas.map((replica) => ({ url: replica.url, pid: replica.process.pid })),
    slowAnswer: tokenStream({ tokens: 80, tokensPerSecond: 20 }),
  })}\n`,
)

for await (const _ of Bun.stdin.stream()) {
  // Runs until the test closes stdin.
}
proxy.stop()
for (const replica of replicas) replica.process.kill()
await Promise.all(replicas.map((replica) => replica.process.exited))
await sim.stop()
await redis.stop()
rmSync(dataDir, { recursive: true, force: true })
