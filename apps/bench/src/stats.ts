/** Percentile of already-sorted numbers (nearest rank). */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[rank] as number
}

export type Distribution = { count: number; p50: number; p99: number; max: number }

export function distribution(values: number[]): Distribution {
  const sorted = [...values].sort((a, b) => a - b)
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? Number.NaN,
  }
}

/** Wall clock in milliseconds with sub-millisecond resolution, comparable across processes. */
export const wallClock = () => performance.timeOrigin + performance.now()

export const round = (value: number, digits = 2) => Number(value.toFixed(digits))
