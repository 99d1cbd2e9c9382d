/**
 * Calls `onIdle` when `touch()` was not called for `idleMs`. One timer per watchdog, re-armed
 * lazily, so touching it on every token costs a clock read, not a timer.
 */
export class IdleWatchdog {
  /** Live watchdogs in this process; fault tests check it returns to zero (no leaked timers). */
  static live = 0

  private last = performance.now()
  private held = false
  private timer: ReturnType<typeof setTimeout> | undefined

  constructor(
    private readonly idleMs: number,
    private readonly onIdle: () => void,
    private readonly options: { repeat?: boolean } = {},
  ) {
    IdleWatchdog.live++
    this.arm(idleMs)
  }

  touch(): void {
    this.last = performance.now()
    this.held = false
  }

  /** Stops counting until the next `touch()`: the silence meanwhile is not the watched side's. */
  hold(): void {
    this.held = true
  }

  stop(): void {
    if (this.timer === undefined) return
    clearTimeout(this.timer)
    this.timer = undefined
    IdleWatchdog.live--
  }

  private arm(delay: number): void {
    this.timer = setTimeout(() => {
      const idle = performance.now() - this.last
      if (this.held) return this.arm(this.idleMs)
      if (idle < this.idleMs) return this.arm(this.idleMs - idle)
      if (!this.options.repeat) {
        this.stop()
        return this.onIdle()
      }
      this.last = performance.now()
      this.arm(this.idleMs)
      this.onIdle()
    }, delay)
  }
}
