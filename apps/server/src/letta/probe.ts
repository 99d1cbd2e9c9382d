import type { Letta } from './client.ts'

/** How long /health waits for Letta, and how long an answer is reused. */
const PROBE_TIMEOUT_MS = 2_000
const PROBE_CACHE_MS = 5_000

export type LettaStatus = {
  url: string
  mode: 'letta' | 'demo'
  reachable: boolean
  problem?: string
}

/** Asks Letta's health endpoint whether it is up, without ever throwing. */
export class LettaProbe {
  private last: { at: number; status: Promise<LettaStatus> } | undefined

  constructor(
    private readonly letta: Letta,
    private readonly url: string,
    private readonly mode: 'letta' | 'demo',
  ) {}

  check(): Promise<LettaStatus> {
    const now = performance.now()
    if (this.last && now - this.last.at < PROBE_CACHE_MS) return this.last.status
    const status = this.probe()
    this.last = { at: now, status }
    return status
  }

  private async probe(): Promise<LettaStatus> {
    const base = { url: this.url, mode: this.mode }
    try {
      await this.letta.health({ timeout: PROBE_TIMEOUT_MS, maxRetries: 0 })
      return { ...base, reachable: true }
    } catch (error) {
      const status = (error as { status?: number }).status
      const problem =
        status === 401 || status === 403
          ? 'Letta rejected the API key (check LETTA_API_KEY)'
          : status
            ? `Letta answered HTTP ${status}`
            : `no answer from ${this.url} (is Letta running?)`
      return { ...base, reachable: false, problem }
    }
  }
}
