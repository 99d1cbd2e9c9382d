import { readFileSync } from 'node:fs'

/** Resident memory of a process, in bytes (Linux /proc). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0)
  return kb * 1024
}

/** The hard limit on open files, which bounds how many streams one process can hold. */
export function openFileHardLimit(): number {
  const { stdout } = Bun.spawnSync(['sh', '-c', 'ulimit -Hn'])
  const limit = Number(stdout.toString().trim())
  return Number.isFinite(limit) ? limit : Number.POSITIVE_INFINITY
}

const TICKS_PER_SECOND = 100

/** CPU time (user + system) a process has used so far, in milliseconds. */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const ticks = Number(fields[11]) + Number(fields[12])
  return (ticks * 1000) / TICKS_PER_SECOND
}

/** CPU use of a process over a window, as a percentage of one core. */
export async function cpuPercent(pid: number, windowMs: number): Promise<number> {
  const before = cpuMs(pid)
  const started = performance.now()
  await Bun.sleep(windowMs)
  return ((cpuMs(pid) - before) / (performance.now() - started)) * 100
}
