import type { BridgeEvent, EventName } from './events.ts'
import { EVENT_SCHEMAS } from './events.ts'
import type { Validator } from './validation.ts'
import { compileValidator } from './validation.ts'

/** One raw server-sent-events frame, before its data is interpreted. */
export type SseFrame = { id?: string; event: string; data: string }

/**
 * Writes one bridge event as an SSE frame. JSON never contains raw newlines: one data line.
 * Without an id (keepalives) the client's last event id stays what it was.
 */
export function encodeEvent(id: string | number | undefined, event: BridgeEvent): string {
  const frame = `event: ${event.event}\ndata: ${JSON.stringify(event.data)}\n\n`
  return id === undefined ? frame : `id: ${id}\n${frame}`
}

/**
 * Incremental SSE parser (WHATWG rules: \n, \r\n or \r line ends, `:` comments,
 * multi-line data). Feed it chunks as they arrive; it returns the frames completed so far.
 */
export class SseParser {
  private buffer = ''
  private data: string[] = []
  private event = ''
  private id: string | undefined

  push(chunk: string): SseFrame[] {
    this.buffer += chunk
    const frames: SseFrame[] = []
    const { buffer } = this
    // Letta and the bridge end lines with \n; \r is looked for only while the buffer has one.
    const hasCr = buffer.includes('\r')
    let start = 0
    for (;;) {
      const lf = buffer.indexOf('\n', start)
      const cr = hasCr ? buffer.indexOf('\r', start) : -1
      if (lf === -1 && cr === -1) break
      const end = cr !== -1 && (lf === -1 || cr < lf) ? cr : lf
      // A lone \r at the end may be the first half of \r\n: wait for more.
      if (end === cr && cr === buffer.length - 1) break
      const width = end === cr && buffer[cr + 1] === '\n' ? 2 : 1
      const frame = this.line(buffer.slice(start, end))
      start = end + width
      if (frame) frames.push(frame)
    }
    this.buffer = buffer.slice(start)
    return frames
  }

  /** Call at end of body: a frame without its closing blank line is still delivered. */
  end(): SseFrame[] {
    const frames = this.buffer ? this.push('\n') : []
    const last = this.line('')
    return last ? [...frames, last] : frames
  }

  private line(line: string): SseFrame | undefined {
    if (line === '') {
      if (this.data.length === 0) {
        this.event = ''
        return undefined
      }
      const frame: SseFrame = { event: this.event || 'message', data: this.data.join('\n') }
      if (this.id !== undefined) frame.id = this.id
      this.data = []
      this.event = ''
      return frame
    }
    if (line.startsWith(':')) return undefined
    const colon = line.indexOf(':')
    const field = colon === -1 ? line : line.slice(0, colon)
    let value = colon === -1 ? '' : line.slice(colon + 1)
    if (value.startsWith(' ')) value = value.slice(1)
    if (field === 'data') this.data.push(value)
    else if (field === 'event') this.event = value
    else if (field === 'id' && !value.includes('\0')) this.id = value
    return undefined
  }
}

export class ProtocolError extends Error {
  override name = 'ProtocolError'
}

const validators = Object.fromEntries(
  Object.entries(EVENT_SCHEMAS).map(([name, schema]) => [name, compileValidator(schema)]),
) as Record<EventName, Validator<(typeof EVENT_SCHEMAS)[EventName]>>

export function isEventName(name: string): name is EventName {
  return Object.hasOwn(EVENT_SCHEMAS, name)
}

/** Interprets a frame as a bridge event, or throws a ProtocolError that says what is wrong. */
export function decodeEvent(frame: SseFrame): BridgeEvent {
  if (!isEventName(frame.event)) throw new ProtocolError(`unknown event "${frame.event}"`)
  let data: unknown
  try {
    data = JSON.parse(frame.data)
  } catch {
    throw new ProtocolError(`event "${frame.event}" carries data that is not JSON`)
  }
  const validator = validators[frame.event]
  if (!validator.check(data)) {
    const problems = validator.problems(data).join('; ')
    throw new ProtocolError(`event "${frame.event}" is invalid: ${problems}`)
  }
  return { event: frame.event, data } as BridgeEvent
}

/** Reads a whole bridge event stream (e.g. a fetch body) as decoded events. */
export async function* readEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<BridgeEvent> {
  const parser = new SseParser()
  const decoder = new TextDecoder()
  for await (const chunk of body) {
    for (const frame of parser.push(decoder.decode(chunk, { stream: true }))) {
      yield decodeEvent(frame)
    }
  }
  for (const frame of parser.push(decoder.decode())) yield decodeEvent(frame)
  for (const frame of parser.end()) yield decodeEvent(frame)
}
