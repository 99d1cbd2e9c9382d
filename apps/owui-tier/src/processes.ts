import { closeSync, openSync } from 'node:fs'
import type { Subprocess } from 'bun'

/** A child in its own process group (setsid), so stopping it also stops whatever it started. */
export type GroupProcess = { pid: number; exited: Promise<number>; child: Subprocess }

export function spawnGroup(
  command: string[],
  options: { cwd?: string; env?: Record<string, string | undefined>; logFile: string },
): GroupProcess {
  const log = openSync(options.logFile, 'a')
  const child = Bun.spawn(['setsid', ...command], {
    cwd: options.cwd,
    env: options.env,
    stdin: 'ignore',
    stdout: log,
    stderr: log,
  })
  closeSync(log)
  return { pid: child.pid, exited: child.exited, child }
}

/** Signals the whole group; safe to call twice, or after the group has gone. */
export function signalGroup(pid: number, signal: NodeJS.Signals) {
  try {
    process.kill(-pid, signal)
  } catch {
    // already gone
  }
}

/** SIGTERM, then SIGKILL if the group is still there after `graceMs`. */
export async function stopGroup(process: GroupProcess, graceMs = 5_000) {
  signalGroup(process.pid, 'SIGTERM')
  await Promise.race([process.exited, Bun.sleep(graceMs)])
  // Whatever is left of the group (a stuck server, its workers) goes now.
  signalGroup(process.pid, 'SIGKILL')
}

/** A loopback port nobody listens on right now. */
export function freePort(): number {
  const server = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
  const port = server.port
  server.stop(true)
  return port
}

/** Polls `check` until it is true; fails with `what` after `timeoutMs`. */
export async function until(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
) {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    if (await check()) return
    if (performance.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`)
    await Bun.sleep(100)
  }
}
