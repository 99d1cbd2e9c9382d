import type { Logger } from '../log.ts'
import type { Letta } from './client.ts'
import { lettaErrorBody } from './errors.ts'

/**
 * A stop pressed before Letta's first frame leaves the bridge without a run id, and Letta may not
 * have registered the run yet. Look for it this many times, this far apart (3 s in all), before
 * concluding that the message never started a run.
 */
const FIND_ATTEMPTS = 10
const FIND_INTERVAL_MS = 300
/**
 * A run Letta lists as active but created before the message was sent is not this turn's: it is
 * another client's, or an orphan that a Letta crash left `running`. Letta's clock may run a
 * little behind the bridge's, hence the allowance.
 */
const CLOCK_SKEW_ALLOWANCE_MS = 30_000

/** Active runs looked at per search: orphans may sit beside the one being looked for. */
const RUNS_LOOKED_AT = 10

/** What a cancel really did, checked against the run's status afterwards. */
export type CancelOutcome = 'cancelled' | 'already_finished' | 'no_run' | 'failed'

export type CancelTarget = {
  agentId: string
  /** The conversation the run is in; undefined for the agent's own thread. */
  conversationId?: string
  /** Known once Letta's first frame (a ping) arrived. */
  runId: string | undefined
  /** When the message was sent: the run to look for was created after it. */
  sentAt: Date
}

/**
 * Cancels one Letta run by id, never "every run of the agent" (a cancel naming no run does
 * that), and logs what happened: Letta answers "cancelled" even for a run that had already
 * finished, so the run's status is read back before the log says it was cancelled.
 */
export class RunCanceller {
  constructor(
    private readonly letta: Letta,
    private readonly logger: Logger,
    private readonly timing = { attempts: FIND_ATTEMPTS, intervalMs: FIND_INTERVAL_MS },
  ) {}

  async cancel(target: CancelTarget): Promise<CancelOutcome> {
    const { agentId } = target
    try {
      const runId = target.runId ?? (await this.findActiveRun(target))
      if (!runId) {
        this.logger.info('no run to cancel: the message never started one', { agentId })
        return 'no_run'
      }
      const answer = (await this.letta.agents.messages.cancel(
        agentId,
        { run_ids: [runId] },
        { maxRetries: 0 },
      )) as Record<string, unknown>
      if (answer[runId] !== 'cancelled') {
        this.logger.warn('cancel failed: Letta did not cancel the run', { agentId, runId })
        return 'failed'
      }
      const run = await this.letta.runs.retrieve(runId, { maxRetries: 0 })
      if (run.status === 'cancelled') {
        this.logger.info('run cancelled', { agentId, runId })
        return 'cancelled'
      }
      this.logger.info('run had already finished; nothing to cancel', {
        agentId,
        runId,
        runStatus: run.status,
      })
      return 'already_finished'
    } catch (error) {
      this.logger.warn('cancel failed', {
        agentId,
        runId: target.runId,
        error: lettaErrorBody(error).code,
      })
      return 'failed'
    }
  }

  /**
   * The thread's newest active run created since the message was sent. The bridge runs one
   * message at a time per thread, so that is the turn being cancelled; another chat's run on
   * the same agent is in another conversation.
   */
  private async findActiveRun(target: CancelTarget): Promise<string | undefined> {
    const { agentId, conversationId } = target
    const since = target.sentAt.getTime() - CLOCK_SKEW_ALLOWANCE_MS
    for (let attempt = 1; attempt <= this.timing.attempts; attempt++) {
      const page = await this.letta.runs.list(
        {
          agent_id: agentId,
          ...(conversationId ? { conversation_id: conversationId } : {}),
          active: true,
          order: 'desc',
          limit: RUNS_LOOKED_AT,
        },
        { maxRetries: 0 },
      )
      const run = page
        .getPaginatedItems()
        .find(
          (candidate) =>
            Date.parse(candidate.created_at ?? '') >= since &&
            (candidate.conversation_id ?? undefined) === conversationId,
        )
      if (run) return run.id
      if (attempt < this.timing.attempts) await Bun.sleep(this.timing.intervalMs)
    }
    return undefined
  }
}
