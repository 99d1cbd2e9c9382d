import type { LettaStreamingResponse } from '@letta-ai/letta-client/resources/agents/messages'
import type { BridgeEvent, RunPoint } from '@letta-openwebui/events'
import { eventIdOf, isAfter } from '@letta-openwebui/events'
import { seqOf } from '../letta/seq-order.ts'

/**
 * Numbers the events of one Letta background run so that any replica can pick its answer up
 * again: an event's id is the `seq_id` of the Letta frame it came from and its index among
 * that frame's events (RESUMABLE_EVENT_ID). Read again from the run's start, the same frames
 * give the same events under the same ids, so a reader that resumes after `skipThrough` gets
 * the rest: nothing lost, nothing twice.
 */
export class RunCursor {
  /** Set once the run is known to be one Letta keeps (background mode). */
  runId: string | undefined
  /** The `seq_id` of the last frame read: where a reconnect to the run picks up. */
  seq = 0
  private index = 0

  constructor(private readonly skipThrough?: RunPoint) {}

  /** The run was refused before it began: the next one is numbered afresh. */
  restart(): void {
    this.runId = undefined
    this.seq = 0
    this.index = 0
  }

  /** A frame was read: its `seq_id` starts a new group of ids. */
  saw(frame: LettaStreamingResponse): void {
    const seq = seqOf(frame)
    if (seq !== undefined && seq > this.seq) {
      this.seq = seq
      this.index = 0
    }
  }

  /**
   * Gives each event its id, in place, dropping those the client already has. Events after
   * the run's last frame (the turn's error and `done`) continue the last frame's numbering.
   */
  number(events: BridgeEvent[]): BridgeEvent[] {
    const { runId } = this
    if (!runId) return events
    const kept: BridgeEvent[] = []
    for (const event of events) {
      const point = { runId, seq: this.seq, index: this.index++ }
      if (this.skipThrough && !isAfter(point, this.skipThrough)) continue
      event.id = eventIdOf(point)
      kept.push(event)
    }
    return kept
  }
}
