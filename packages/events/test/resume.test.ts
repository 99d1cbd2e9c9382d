import { describe, expect, it } from 'bun:test'
import { encodeEvent, eventIdOf, isAfter, runPointOf, SseParser } from '../src/index.ts'

const runId = 'run-5f0c2b1e-8d7a-4c3e-9b6f-0a1b2c3d4e5f'

describe('event ids that name a Letta run', () => {
  it('round-trip through the id line of an SSE frame', () => {
    const id = eventIdOf({ runId, seq: 42, index: 3 })
    const [frame] = new SseParser().push(
      encodeEvent(id, { event: 'answer.delta', data: { text: 'x' } }),
    )
    expect(runPointOf(frame?.id)).toEqual({ runId, seq: 42, index: 3 })
  })

  it('are ordered by the frame, then by the event within it', () => {
    const at = (seq: number, index: number) => ({ runId, seq, index })
    expect(isAfter(at(5, 0), at(4, 9))).toBe(true)
    expect(isAfter(at(5, 2), at(5, 1))).toBe(true)
    expect(isAfter(at(5, 1), at(5, 1))).toBe(false)
    expect(isAfter(at(4, 9), at(5, 0))).toBe(false)
  })

  it('name nothing for plain numbers, other prefixes or anything around the id', () => {
    for (const id of ['7', '', 'agent-1:2:3', `${runId}:2`, `${runId}:2:3\n`, ` ${runId}:2:3`]) {
      expect(runPointOf(id)).toBeUndefined()
    }
    expect(runPointOf(null)).toBeUndefined()
  })

  it('are left out for events without one, so the client keeps its last', () => {
    const frames = new SseParser().push(
      encodeEvent('7', { event: 'answer.delta', data: { text: 'a' } }) +
        encodeEvent(undefined, { event: 'keepalive', data: {} }),
    )
    expect(frames.map((frame) => frame.id)).toEqual(['7', '7'])
  })
})
