import type { LettaStreamingResponse } from '@letta-ai/letta-client/resources/agents/messages'

/**
 * Frames held waiting for a missing one before the gap is given up (and the held frames go on
 * in order). Letta's writer flushes at most 50 chunks at once, so two flushes that land out of
 * order leave a gap of at most about 100; a gap this wide is chunks Letta no longer has (its
 * copy keeps ~10,000).
 */
export const MAX_HELD_FRAMES = 256

/** A frame's place in its run (Letta's `seq_id`), if it shows one. */
export const seqOf = (frame: LettaStreamingResponse): number | undefined => {
  const seq = (frame as { seq_id?: unknown }).seq_id
  return typeof seq === 'number' ? seq : undefined
}

/**
 * Puts the frames of a run Letta keeps back in `seq_id` order. Letta 0.16.8 numbers a kept
 * run's chunks as they are made but writes them to Redis in batches, and a batch can land before
 * the one flushed just ahead of it (two flushes in flight in `RedisSSEStreamWriter._flush_run`);
 * its reader hands chunks over in the order Redis holds them, so the copy a client reads (the
 * send's own stream in background mode, or a resumed one) can bring a later token before earlier
 * ones. Seen on the real Letta as one word of an answer out of place.
 *
 * Numbers run without gaps from 1, so the next one is known: a frame ahead of it waits, one
 * already passed on (read again) is dropped. A ping stored in the copy has its own number; one
 * the reader adds while nothing comes repeats the last, and goes straight on.
 */
export class SeqOrder {
  /** Numbers passed over: frames Letta's copy never brought (for the turn's log). */
  skipped = 0
  private next: number
  private readonly held = new Map<number, LettaStreamingResponse>()

  /** `startingAfter`: the last number already read (0 for a run read from its start). */
  constructor(startingAfter: number) {
    this.next = startingAfter + 1
  }

  /**
   * The frames still waiting, in order, once the stream has ended: what was missing landed in
   * Letta's copy after its end, where Letta's reader never goes (nor would reading it again).
   */
  drain(): LettaStreamingResponse[] {
    const rest = [...this.held.keys()].sort((a, b) => a - b)
    const last = rest.at(-1)
    if (last !== undefined) this.skipped += last - this.next + 1 - rest.length
    const frames = rest.map((seq) => this.held.get(seq) as LettaStreamingResponse)
    this.held.clear()
    return frames
  }

  /** The frames of one read, in order, with those they freed; later ones are held. */
  take(frames: LettaStreamingResponse[]): LettaStreamingResponse[] {
    const ready: LettaStreamingResponse[] = []
    for (const frame of frames) {
      const seq = seqOf(frame)
      if (seq === this.next) {
        ready.push(frame)
        this.next++
        this.release(ready)
      } else if (seq === undefined || frame.message_type === 'ping') {
        ready.push(frame)
      } else if (seq > this.next) {
        this.held.set(seq, frame)
        if (this.held.size > MAX_HELD_FRAMES) {
          const first = Math.min(...this.held.keys())
          this.skipped += first - this.next
          this.next = first
          this.release(ready)
        }
      }
    }
    return ready
  }

  private release(ready: LettaStreamingResponse[]): void {
    for (let frame = this.held.get(this.next); frame; frame = this.held.get(this.next)) {
      this.held.delete(this.next)
      ready.push(frame)
      this.next++
    }
  }
}
