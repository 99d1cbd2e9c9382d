import { describe, expect, it } from 'bun:test'
import type { BridgeEvent } from '../src/index.ts'
import { decodeEvent, encodeEvent, ProtocolError, readEvents, SseParser } from '../src/index.ts'

const sample: BridgeEvent[] = [
  { event: 'reasoning.delta', data: { segment: 0, text: 'Let me think\nabout "this"' } },
  { event: 'reasoning.hidden', data: { segment: 1, state: 'redacted' } },
  { event: 'tool.started', data: { id: 'toolu_1', name: 'archival_memory_search' } },
  {
    event: 'tool.finished',
    data: {
      id: 'toolu_1',
      name: 'archival_memory_search',
      status: 'success',
      arguments: '{}',
      output: 'ok',
    },
  },
  { event: 'answer.delta', data: { text: 'Héllo 👋 wörld\r\n' } },
  { event: 'usage', data: { promptTokens: 10, completionTokens: 5, totalTokens: 15, steps: 2 } },
  { event: 'keepalive', data: {} },
  { event: 'error', data: { code: 'agent_busy', message: 'busy', retryable: true } },
  { event: 'done', data: { stopReason: 'end_turn' } },
]

const wire = sample.map((event, seq) => encodeEvent(seq, event)).join('')

function parseAll(chunks: string[]) {
  const parser = new SseParser()
  const frames = chunks.flatMap((chunk) => parser.push(chunk))
  return [...frames, ...parser.end()]
}

describe('SSE framing', () => {
  it('round-trips every event kind', () => {
    const frames = parseAll([wire])
    expect(frames.map(decodeEvent)).toEqual(sample)
    expect(frames.map((frame) => frame.id)).toEqual(sample.map((_, seq) => String(seq)))
  })

  it('reassembles frames split at any byte boundary', () => {
    for (let cut = 1; cut < wire.length; cut += 7) {
      const frames = parseAll([wire.slice(0, cut), wire.slice(cut)])
      expect(frames.map(decodeEvent)).toEqual(sample)
    }
  })

  it('accepts CRLF and CR line ends, comments and multi-line data', () => {
    const text = ': hello\r\nevent: answer.delta\r\ndata: {"text":\rdata: "a"}\r\r\n'
    const frames = parseAll([text])
    expect(frames).toEqual([{ event: 'answer.delta', data: '{"text":\n"a"}' }])
    expect(decodeEvent(frames[0] as never)).toEqual({ event: 'answer.delta', data: { text: 'a' } })
  })

  it('delivers a last frame that lacks its blank line at end of body', () => {
    expect(parseAll(['event: done\ndata: {"stopReason":"end_turn"}'])).toHaveLength(1)
  })

  it('reads a byte stream with multi-byte characters split across chunks', async () => {
    const bytes = new TextEncoder().encode(wire)
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 3) controller.enqueue(bytes.slice(i, i + 3))
        controller.close()
      },
    })
    const events: BridgeEvent[] = []
    for await (const event of readEvents(body)) events.push(event)
    expect(events).toEqual(sample)
  })
})

describe('event validation', () => {
  it('rejects unknown event names', () => {
    expect(() => decodeEvent({ event: 'answer.delta.v2', data: '{}' })).toThrow(
      'unknown event "answer.delta.v2"',
    )
  })

  it('rejects data that is not JSON', () => {
    expect(() => decodeEvent({ event: 'done', data: '{oops' })).toThrow(ProtocolError)
  })

  it('says which field is wrong', () => {
    expect(() => decodeEvent({ event: 'answer.delta', data: '{"text":42}' })).toThrow(
      /answer\.delta" is invalid: \/text: Expected string/,
    )
    expect(() => decodeEvent({ event: 'done', data: '{"stopReason":"finished"}' })).toThrow(
      /\/stopReason/,
    )
    expect(() =>
      decodeEvent({ event: 'error', data: '{"code":"nope","message":"x","retryable":true}' }),
    ).toThrow(/\/code/)
  })

  it('rejects fields the schema does not know', () => {
    expect(() => decodeEvent({ event: 'keepalive', data: '{"extra":1}' })).toThrow(/keepalive/)
  })
})
