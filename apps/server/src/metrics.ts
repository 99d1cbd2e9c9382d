import { Counter, Gauge, Histogram, Registry } from 'prom-client'

/** Seconds: from a fast first token to a slow multi-tool turn. */
const FIRST_TOKEN_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60]
const TURN_BUCKETS = [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900]

/**
 * The bridge's numbers for an operator, in Prometheus' text format at `GET /metrics`. One
 * instance per app (its own registry), so that tests and several apps in one process never
 * share counts.
 */
export class BridgeMetrics {
  readonly registry = new Registry()

  private readonly turns = new Counter({
    name: 'letta_bridge_turns_total',
    help: 'Turns (one message each) by how they ended; error is the error code or "none".',
    labelNames: ['outcome', 'error'] as const,
    registers: [this.registry],
  })

  private readonly turnSeconds = new Histogram({
    name: 'letta_bridge_turn_duration_seconds',
    help: 'Time from the message to the end of its stream.',
    labelNames: ['outcome'] as const,
    buckets: TURN_BUCKETS,
    registers: [this.registry],
  })

  private readonly firstToken = new Histogram({
    name: 'letta_bridge_time_to_first_token_seconds',
    help: 'Time from the message to the first thinking or answer token sent to the chat.',
    buckets: FIRST_TOKEN_BUCKETS,
    registers: [this.registry],
  })

  private readonly lettaErrors = new Counter({
    name: 'letta_bridge_letta_errors_total',
    help: 'Failures that came from Letta (or the way to it), by the error code the chat saw.',
    labelNames: ['code'] as const,
    registers: [this.registry],
  })

  private readonly agentsCreated = new Counter({
    name: 'letta_bridge_agents_created_total',
    help: 'Letta agents created for a person and template seen for the first time.',
    registers: [this.registry],
  })

  private readonly cancels = new Counter({
    name: 'letta_bridge_cancels_total',
    help: 'Letta runs the bridge cancelled (stop button, stall, turn limit), by what Letta did.',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  })

  private readonly threads = new Counter({
    name: 'letta_bridge_threads_total',
    help: 'Where turns went: default (the agent thread), new (first message of a chat), continue, fork or restart (a regenerate or edit moved the chat to a new thread).',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  })

  private readonly approvals = new Counter({
    name: 'letta_bridge_approvals_total',
    help: 'Tool approvals handed to Letta: approved or refused by the person (or the pipe for them), or refused by the bridge because a new message found them unanswered.',
    labelNames: ['decision'] as const,
    registers: [this.registry],
  })

  constructor(activeTurns: () => number) {
    new Gauge({
      name: 'letta_bridge_active_turns',
      help: 'Turns streaming now (or having their run cancelled).',
      registers: [this.registry],
      collect() {
        this.set(activeTurns())
      },
    })
    new Gauge({
      name: 'process_resident_memory_bytes',
      help: 'Resident memory of the bridge process.',
      registers: [this.registry],
      collect() {
        this.set(process.memoryUsage().rss)
      },
    })
  }

  turnEnded(outcome: string, errorCode: string | undefined, seconds: number): void {
    this.turns.inc({ outcome, error: errorCode ?? 'none' })
    this.turnSeconds.observe({ outcome }, seconds)
  }

  firstTokenAfter(seconds: number): void {
    this.firstToken.observe(seconds)
  }

  lettaFailed(code: string): void {
    this.lettaErrors.inc({ code })
  }

  agentCreated(): void {
    this.agentsCreated.inc()
  }

  cancelled(outcome: string): void {
    this.cancels.inc({ outcome })
  }

  approvalDecided(decision: 'approved' | 'refused' | 'left_open'): void {
    this.approvals.inc({ decision })
  }

  threadPrepared(kind: string): void {
    this.threads.inc({ kind })
  }

  render(): Promise<string> {
    return this.registry.metrics()
  }

  get contentType(): string {
    return this.registry.contentType
  }
}
