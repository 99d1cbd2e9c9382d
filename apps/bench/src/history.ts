import { appendFileSync, existsSync, readFileSync } from 'node:fs'

/** One case's figure per contender (e.g. events/s of direct, bridge and peer) in one run. */
export type CaseFigures = {
  title: string
  unit: string
  better: 'higher' | 'lower'
  values: Record<string, number>
}

/** One full `bun run bench`: one line of bench/results/history.jsonl. */
export type HistoryEntry = {
  date: string
  commit: string
  /** Whether the work tree had uncommitted changes: the figures are then not the commit's. */
  dirty: boolean
  cores: number
  /**
   * The machine's 1-minute load average as the run began: other work on the same cores (a test
   * run beside the bench) slows every contender, and this tells such a run from a regression.
   */
  loadAtStart: number
  bun: string
  /** The peer's stack as it reported it (versions, event loop, HTTP parser). */
  peer?: Record<string, unknown>
  cases: Record<string, CaseFigures>
}

function git(args: string[]): string {
  const { stdout, success } = Bun.spawnSync(['git', ...args], { cwd: import.meta.dir })
  return success ? stdout.toString().trim() : ''
}

/** The checkout's commit, and whether its work tree differs from it. */
export function gitState(): { commit: string; dirty: boolean } {
  return {
    commit: git(['rev-parse', '--short=12', 'HEAD']) || 'unknown',
    dirty: git(['status', '--porcelain', '--untracked-files=no']) !== '',
  }
}

export function appendHistory(file: string, entry: HistoryEntry): void {
  appendFileSync(file, `${JSON.stringify(entry)}\n`)
}

export function readHistory(file: string): HistoryEntry[] {
  if (!existsSync(file)) return []
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as HistoryEntry)
}
