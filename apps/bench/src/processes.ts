import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Subprocess } from 'bun'

export type Child = {
  url: string
  pid: number
  /** The JSON line that announced the URL: what else the process said about itself. */
  announced: Record<string, unknown>
  stop(): Promise<void>
}

/** Spawns a process that logs JSON lines and waits for the line that carries its URL. */
async function spawnService(
  command: string[],
  env: Record<string, string>,
  urlOf: (entry: Record<string, unknown>) => string | undefined,
  /** Runs once the process has exited (e.g. removing its scratch directory). */
  cleanUp: () => void = () => {},
): Promise<Child> {
  // Raise the child's open-file limit as far as this user may: each bridged stream needs two.
  const child: Subprocess<'pipe', 'pipe', 'inherit'> = Bun.spawn(
    ['sh', '-c', 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"', 'sh', ...command],
    { env: { ...process.env, ...env }, stdin: 'pipe', stdout: 'pipe', stderr: 'inherit' },
  )
  const reader = child.stdout.getReader()
  const decoder = new TextDecoder()
  let buffer = ''
  let url: string | undefined
  let announced: Record<string, unknown> = {}
  while (!url) {
    const { value, done } = await reader.read()
    if (done) throw new Error(`${command.join(' ')} exited before it was ready`)
    buffer += decoder.decode(value)
    const lines = buffer.split('\n')
    buffer = lines.pop() ?? ''
    for (const line of lines) {
      try {
        const entry = JSON.parse(line)
        if (url) continue
        url = urlOf(entry)
        if (url) announced = entry
      } catch {}
    }
  }
  // Keep draining the child's log so it never blocks on a full pipe.
  const drain = async () => {
    while (!(await reader.read()).done) {}
  }
  drain().catch(() => {})
  return {
    url,
    pid: child.pid,
    announced,
    async stop() {
      child.kill('SIGTERM')
      await child.exited
      cleanUp()
    },
  }
}

const ROOT = join(import.meta.dir, '../../..')

export function startSimProcess(pingMs: number): Promise<Child> {
  return spawnService(
    ['bun', join(import.meta.dir, 'sim-process.ts')],
    { SIM_PING_MS: String(pingMs) },
    (entry) => (typeof entry.simUrl === 'string' ? entry.simUrl : undefined),
  )
}

export function startBridgeProcess(env: Record<string, string>): Promise<Child> {
  // Its thread store: one per bridge, removed when the bridge stops.
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-bridge-data-'))
  return spawnService(
    // As `bun run start` runs it: --smol collects garbage sooner, which keeps idle streams small.
    ['bun', '--smol', join(ROOT, 'apps/server/src/index.ts')],
    {
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      // Bun's fetch allows 256 concurrent connections per process unless told otherwise.
      BUN_CONFIG_MAX_HTTP_REQUESTS: '65535',
      // A file on disk, as in production; not the checkout's apps/server/data.
      DATA_DIR: dataDir,
      // BENCH_PROFILE_DIR=dir: each bridge writes a CPU profile there as it stops (Chrome's
      // .cpuprofile and Bun's markdown summary), to read what a case's time is spent on.
      ...(process.env.BENCH_PROFILE_DIR
        ? {
            BUN_OPTIONS: `--cpu-prof --cpu-prof-md --cpu-prof-interval=250 --cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`,
          }
        : {}),
      ...env,
    },
    (entry) => (entry.message === 'bridge listening' ? String(entry.url) : undefined),
    () => rmSync(dataDir, { recursive: true, force: true }),
  )
}

/**
 * The barest Bun pass-through to `upstream`: the floor the bridge is compared with. `readsInJs`:
 * the floor of a proxy that reads what it passes on (see floor-proxy.ts).
 */
export function startFloorProxy(upstream: string, readsInJs = false): Promise<Child> {
  return spawnService(
    ['bun', '--smol', join(import.meta.dir, 'floor-proxy.ts')],
    {
      UPSTREAM_URL: upstream,
      BUN_CONFIG_MAX_HTTP_REQUESTS: '65535',
      FLOOR_READS: readsInJs ? 'js' : 'native',
    },
    (entry) => (typeof entry.floorUrl === 'string' ? entry.floorUrl : undefined),
  )
}

/**
 * The peer: the classic Python proxy users would otherwise pick (peer/peer.py), speaking the
 * bridge's protocol to letta-sim, run with the Python scripts/bench-python-env.sh provides.
 */
export function startPeerProcess(lettaUrl: string, key: string): Promise<Child> {
  return spawnService(
    [
      join(ROOT, 'scripts/bench-python-env.sh'),
      'python3',
      join(import.meta.dir, '../peer/peer.py'),
    ],
    { LETTA_BASE_URL: lettaUrl, BRIDGE_API_KEY: key },
    (entry) => (typeof entry.peerUrl === 'string' ? entry.peerUrl : undefined),
  )
}
