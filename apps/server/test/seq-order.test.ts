import { describe, expect, it } from 'bun:test'
import type { LettaStreamingResponse } from '@letta-ai/letta-client/resources/agents/messages'
import { MAX_HELD_FRAMES, SeqOrder } from '../src/letta/seq-order.ts'

const delta = (seq: number) =>
  ({
    message_type: 'assistant_message',
    content: `w${seq} `,
    seq_id: seq,
  }) as LettaStreamingResponse
const ping = (seq: number | null) =>
  ({ message_type: 'ping', seq_id: seq }) as unknown as LettaStreamingResponse
const seqs = (frames: LettaStreamingResponse[]) =>
  frames.map((frame) => (frame as { seq_id?: number | null }).seq_id)

describe("a kept run's frames, as Letta's copy hands them over", () => {
  it('go on in order when a batch landed before the one ahead of it', () => {
    const order = new SeqOrder(0)
    // Letta's copy: 1–3, then the chunk numbered 6 (its own flush), then 4–5, then 7.
    expect(seqs(order.take([delta(1), delta(2), delta(3), delta(6)]))).toEqual([1, 2, 3])
    expect(seqs(order.take([delta(4)]))).toEqual([4])
    expect(seqs(order.take([delta(5), delta(7)]))).toEqual([5, 6, 7])
    expect(order.drain()).toEqual([])
    expect(order.skipped).toBe(0)
  })

  it("end with the frames still waiting, in order, when what they wait for landed after the copy's end", () => {
    const order = new SeqOrder(0)
    expect(seqs(order.take([delta(1), delta(4), delta(3)]))).toEqual([1])
    expect(seqs(order.drain())).toEqual([3, 4])
    expect(order.skipped).toBe(1)
  })

  it('start after the last number already read, and drop frames read again', () => {
    const order = new SeqOrder(10)
    expect(seqs(order.take([delta(9), delta(10), delta(11), delta(12)]))).toEqual([11, 12])
  })

  it('let pings through at once, whatever number they repeat', () => {
    const order = new SeqOrder(0)
    expect(seqs(order.take([ping(null), delta(2), ping(0), delta(1)]))).toEqual([null, 0, 1, 2])
  })

  it('give up a gap no flush explains, rather than hold the answer back for ever', () => {
    const order = new SeqOrder(0)
    const later = Array.from({ length: MAX_HELD_FRAMES + 1 }, (_, index) => delta(index + 2))
    expect(seqs(order.take(later))).toEqual(later.map((_, index) => index + 2))
    expect(order.drain()).toEqual([])
    expect(order.skipped).toBe(1)
  })
})
