/**
 * A throw-away Redis for tests and tiers: Debian's `redis-server` on a free loopback port,
 * nothing persisted, stopped by its owner. Found on PATH, or downloaded once with
 * `apt-get download` and unpacked (not installed: no root needed) into LOCAL_REDIS_DIR.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** Where Debian's packages are unpacked, once per machine. */
export const REDIS_DIR = process.env.LOCAL_REDIS_DIR ?? join(tmpdir(), 'letta-openwebui-redis')
/** Debian's redis-server and the libraries it links that a slim Debian lacks. */
const REDIS_DEBS = ['redis-server', 'redis-tools', 'liblzf1', 'libjemalloc2']
/** redis-server starts in milliseconds; this is for a machine under load. */
const START_TIMEOUT_MS = 10_000

type RedisBinary = { path: string; libraryPath?: string }

export type LocalRedis = {
  url: string
  port: number
  /** SIGTERM; resolves when it is gone. */
  stop(): Promise<void>
  /** SIGKILL at once: Redis crashed. */
  kill(): Promise<void>
}

function logTail(file: string): string {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').slice(-20).join('\n') : ''
}

async function run(command: string[], cwd: string, logFile: string): Promise<boolean> {
  const fd = openSync(logFile, 'a')
  const child = Bun.spawn(command, { cwd, stdin: 'ignore', stdout: fd, stderr: fd })
  closeSync(fd)
  return (await child.exited) === 0
}

/** Debian's redis-server: on PATH, or unpacked into REDIS_DIR (downloaded the first time). */
export async function redisBinary(): Promise<RedisBinary> {
  const onPath = Bun.which('redis-server')
  if (onPath) return { path: onPath }
  const root = join(REDIS_DIR, 'root')
  const binary = {
    path: join(root, 'usr', 'bin', 'redis-server'),
    libraryPath: join(root, 'usr', 'lib', 'x86_64-linux-gnu'),
  }
  if (existsSync(binary.path)) return binary
  const download = join(REDIS_DIR, 'debs')
  mkdirSync(download, { recursive: true })
  const log = join(REDIS_DIR, 'install.log')
  if (!(await run(['apt-get', 'download', ...REDIS_DEBS], download, log))) {
    await run(['apt-get', 'update', '-qq'], download, log)
    if (!(await run(['apt-get', 'download', ...REDIS_DEBS], download, log))) {
      throw new Error(`cannot download redis-server (apt-get download):\n${logTail(log)}`)
    }
  }
  for (const deb of new Bun.Glob('*.deb').scanSync(download)) {
    await run(['dpkg-deb', '-x', join(download, deb), root], download, log)
  }
  if (!existsSync(binary.path)) throw new Error('redis-server is missing from the Debian package')
  return binary
}

function freePort(): number {
  const server = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
  const { port } = server
  server.stop(true)
  return port
}

/** Starts a Redis of its own on a free loopback port; `logFile` gets its output. */
export async function startRedis(logFile = '/dev/null'): Promise<LocalRedis> {
  const binary = await redisBinary()
  const port = freePort()
  const fd = openSync(logFile, 'a')
  const child = Bun.spawn(
    [
      binary.path,
      '--bind',
      '127.0.0.1',
      '--port',
      String(port),
      '--save',
      '',
      '--appendonly',
      'no',
    ],
    {
      env: { ...process.env, LD_LIBRARY_PATH: binary.libraryPath ?? process.env.LD_LIBRARY_PATH },
      stdin: 'ignore',
      stdout: fd,
      stderr: fd,
    },
  )
  closeSync(fd)
  const gone = async (signal: 'SIGTERM' | 'SIGKILL') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal)
    await child.exited
  }
  const deadline = Date.now() + START_TIMEOUT_MS
  while (Date.now() < deadline && child.exitCode === null) {
    try {
      const socket = await Bun.connect({ hostname: '127.0.0.1', port, socket: { data() {} } })
      socket.end()
      return {
        url: `redis://127.0.0.1:${port}`,
        port,
        stop: () => gone('SIGTERM'),
        kill: () => gone('SIGKILL'),
      }
    } catch {
      await Bun.sleep(50)
    }
  }
  await gone('SIGKILL')
  throw new Error(`redis-server did not start:\n${logTail(logFile)}`)
}
