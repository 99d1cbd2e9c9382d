import type { TemplateCatalog } from '../templates.ts'
import { NO_CONVERSATIONS_WARNING } from '../threads/threads.ts'
import type { Letta } from './client.ts'
import { templateProblems } from './template-check.ts'

/** How long /health waits for Letta, and how long an answer is reused. */
const PROBE_TIMEOUT_MS = 2_000
const PROBE_CACHE_MS = 5_000

export type LettaStatus = {
  url: string
  mode: 'letta' | 'demo'
  reachable: boolean
  /** Letta's own version, from its health answer. */
  version?: string
  problem?: string
  /** Templates whose model or embedding this Letta does not offer, one line each. */
  templates: string[]
  /** Whether Letta has conversations (each chat its own thread); unknown until it answers. */
  conversations?: boolean
  /** What works, but not fully, with this Letta. */
  warnings: string[]
}

/** Asks Letta whether it is up and whether it fits the templates, without ever throwing. */
export class LettaProbe {
  private last: { at: number; status: Promise<LettaStatus> } | undefined

  constructor(
    private readonly letta: Letta,
    private readonly target: { url: string; mode: 'letta' | 'demo' },
    private readonly catalog: TemplateCatalog,
    private readonly conversations: () => Promise<boolean | undefined>,
  ) {}

  check(): Promise<LettaStatus> {
    const now = performance.now()
    if (this.last && now - this.last.at < PROBE_CACHE_MS) return this.last.status
    const status = this.probe()
    this.last = { at: now, status }
    return status
  }

  private async probe(): Promise<LettaStatus> {
    const base = { url: this.target.url, mode: this.target.mode }
    try {
      const health = await this.letta.health({ timeout: PROBE_TIMEOUT_MS, maxRetries: 0 })
      const templates = await templateProblems(this.letta, this.catalog)
      const conversations = await this.conversations()
      const warnings = conversations === false ? [NO_CONVERSATIONS_WARNING] : []
      return {
        ...base,
        reachable: true,
        version: health.version,
        templates,
        conversations,
        warnings,
      }
    } catch (error) {
      const status = (error as { status?: number }).status
      const problem =
        status === 401 || status === 403
          ? 'Letta rejected the API key (check LETTA_API_KEY)'
          : status
            ? `Letta answered HTTP ${status}`
            : `no answer from ${this.target.url} (is Letta running?)`
      return { ...base, reachable: false, problem, templates: [], warnings: [] }
    }
  }
}
