import type { LettaSim } from '@letta-openwebui/letta-sim'
import { startLettaSim } from '@letta-openwebui/letta-sim'
import { startRedis } from '@letta-openwebui/local-redis'
import { startRoundRobinProxy } from './round-robin-proxy.ts'
import type { BridgeProcess } from './utils.ts'
import { startBridgeProcess } from './utils.ts'

/**
 * Two bridge processes on one Redis, in front of a Letta that keeps runs (letta-sim with Redis:
 * background mode), behind a round-robin load balancer.
 */
export async function startReplicaSet(dataDir: string) {
  const redis = await startRedis()
  const sim: LettaSim = await startLettaSim({ pingIntervalMs: 20_000 })
  const start = () => startBridgeProcess({ LETTA_BASE_URL: sim.url, REDIS_URL: redis.url }, dataDir)
  const replicas: BridgeProcess[] = await Promise.all([start(), start()])
  const backends = replicas.map((replica) => replica.url)
  const proxy = startRoundRobinProxy(backends)
  return {
    sim,
    proxy,
    replicas,
    /** SIGTERM for replica `index`; once it has exited (its status), a fresh one in its place. */
    async restart(index: number): Promise<number> {
      const old = replicas[index] as BridgeProcess
      old.process.kill('SIGTERM')
      const status = await old.process.exited
      const fresh = await start()
      replicas[index] = fresh
      backends[index] = fresh.url
      return status
    },
    async stop(): Promise<void> {
      proxy.stop()
      for (const replica of replicas) replica.process.kill()
      await Promise.all(replicas.map((replica) => replica.process.exited))
      await sim.stop()
      await redis.stop()
    },
  }
}
