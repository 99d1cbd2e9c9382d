import { closeSync, openSync, readFileSync } from 'node:fs'
import type { Subprocess } from 'bun'

/** Every child this run started, so an early exit (failure, Ctrl-C) still stops them all. */
const children = new Set<Subprocess>()

/** Grace for a child to stop on SIGTERM before it is killed; Letta waits for open streams. */
const STOP_GRACE_MS = 5_000

export type Child = {
  name: string
  process: Subprocess
  logFile: string
  /** SIGTERM, then SIGKILL after a grace period; resolves when the process is gone. */
  stop(): Promise<void>
  /** SIGKILL at once: a crash. */
  kill(): Promise<void>
  exited: Promise<number>
}

/** Starts a command with stdout+stderr appended to `logFile`. */
export function spawnLogged(
  name: string,
  command: string[],
  options: { env?: Record<string, string | undefined>; cwd?: string; logFile: string },
): Child {
  const fd = openSync(options.logFile, 'a')
  const child = Bun.spawn(command, {
    cwd: options.cwd,
    env: options.env as Record<string, string>,
    stdin: 'ignore',
    stdout: fd,
    stderr: fd,
  })
  closeSync(fd)
  children.add(child)
  void child.exited.then(() => children.delete(child))
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS)
    await child.exited
    clearTimeout(timer)
  }
  const kill = async () => {
    child.kill('SIGKILL')
    await child.exited
  }
  return { name, process: child, logFile: options.logFile, stop, kill, exited: child.exited }
}

/** Kills whatever is still running: the last line of defence on exit. */
export function killAll(): void {
  for (const child of children) child.kill('SIGKILL')
}

/**
 * Runs a run's clean-up steps, last registered first, each even if one before it failed; then
 * kills whatever child is still alive.
 */
export async function cleanUp(steps: Array<() => unknown>): Promise<void> {
  for (const step of [...steps].reverse()) {
    try {
      await step()
    } catch {
      // keep stopping the rest
    }
  }
  killAll()
}

/** The end of a log file, for error messages. */
export function logTail(file: string, lines = 25): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')
  } catch {
    return '(no log)'
  }
}

/** A free TCP port on 127.0.0.1 (asked from the OS, released at once for the child to take). */
export function freePort(): number {
  const server = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
  const { port } = server
  server.stop(true)
  return port
}

/** Polls `url` until it answers 2xx; fails early when `child` exits, or at the deadline. */
export async function waitForHttp(url: string, child: Child | undefined, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs
  let exited = false
  void child?.exited.then(() => {
    exited = true
  })
  while (Date.now() < deadline) {
    if (exited) {
      throw new Error(`${child?.name} exited while starting:\n${logTail(child?.logFile ?? '')}`)
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) })
      if (response.ok) return
    } catch {
      // not listening yet
    }
    await Bun.sleep(250)
  }
  throw new Error(
    `${child?.name ?? url} did not answer within ${timeoutMs / 1000} s:\n${logTail(child?.logFile ?? '')}`,
  )
}
