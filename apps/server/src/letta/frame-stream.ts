import { APIError } from '@letta-ai/letta-client'
import type { LettaStreamingResponse } from '@letta-ai/letta-client/resources/agents/messages'
import type { SseFrame } from '@letta-openwebui/events'
import { SseParser } from '@letta-openwebui/events'
import type { SeqOrder } from './seq-order.ts'

/**
 * Letta answered a streaming request with something else (an HTML page from a proxy, a login
 * page): the bridge is pointed at the wrong address.
 */
export class NotAnEventStream extends Error {
  override name = 'NotAnEventStream'
  constructor(readonly contentType: string) {
    super(`Letta answered with ${contentType || 'no content type'} instead of an event stream`)
  }
}

/** The body broke off: a network error while reading, or a last frame cut in the middle. */
export class StreamInterrupted extends Error {
  override name = 'StreamInterrupted'
}

/** What the frames of one network read amount to: messages, then perhaps the stream's end. */
type Batch = { messages: LettaStreamingResponse[]; ended: boolean; error?: APIError }

/**
 * Letta's messages from a streaming response the SDK opened (`.asResponse()`), one batch per
 * network read (possibly empty): a read often carries many frames, and passing them on together lets the bridge
 * write them in one go. Read by the SDK's own rules: `[DONE]` ends the stream, `event: error`
 * throws an APIError carrying Letta's error body (after the messages before it), a frame that is
 * not JSON throws a SyntaxError, other named events are ignored.
 *
 * Why not iterate the SDK's Stream: its chunk splitter copies the rest of the buffer after every
 * frame, so a read that brings hundreds of frames costs quadratic time; at full speed that was
 * the largest item in the bridge's CPU profile. The shared SseParser is linear.
 */
export async function* lettaFrames(
  response: Response,
  /** For a run Letta keeps: its frames in `seq_id` order (see SeqOrder). */
  order?: SeqOrder,
): AsyncGenerator<LettaStreamingResponse[]> {
  const contentType = response.headers.get('content-type') ?? ''
  if (!contentType.startsWith('text/event-stream')) {
    await response.body?.cancel()
    throw new NotAnEventStream(contentType.split(';')[0] ?? '')
  }
  if (!response.body) throw new StreamInterrupted('Letta answered a stream without a body')
  const parser = new SseParser()
  const decoder = new TextDecoder()
  const inOrder = (messages: LettaStreamingResponse[], ended: boolean) => {
    if (!order) return messages
    const ready = order.take(messages)
    if (ended) ready.push(...order.drain())
    return ready
  }
  const batch = (frames: SseFrame[], last = false): Batch => {
    const messages: LettaStreamingResponse[] = []
    for (const frame of frames) {
      if (frame.data.startsWith('[DONE]')) return { messages: inOrder(messages, true), ended: true }
      if (frame.event === 'error') {
        const error = streamError(frame.data, response.headers)
        return { messages: inOrder(messages, true), ended: true, error }
      }
      if (frame.event === 'message') messages.push(JSON.parse(frame.data))
    }
    return { messages: inOrder(messages, last), ended: false }
  }
  // The body is read here rather than through a generator of its own: at 20 tokens/s every
  // token is a read, and each generator it passes through costs promises per read.
  const reader = response.body.getReader()
  try {
    for (;;) {
      let read: Awaited<ReturnType<typeof reader.read>>
      try {
        read = await reader.read()
      } catch (error) {
        // A read that fails (reset, socket closed) is an interruption, not a Letta error.
        throw new StreamInterrupted(`reading Letta's stream failed: ${String(error)}`)
      }
      if (read.done) break
      const { messages, ended, error } = batch(
        parser.push(decoder.decode(read.value, { stream: true })),
      )
      // Even a read that completes no frame (a large frame arriving in parts) is a sign of life.
      yield messages
      if (error) throw error
      if (ended) return
    }
  } finally {
    // Stopping early (e.g. at [DONE]) must still close the connection to Letta.
    reader.cancel().catch(() => {})
  }
  // A last frame without its closing blank line still counts, unless it was cut mid-way.
  let last: Batch
  try {
    last = batch([...parser.push(decoder.decode()), ...parser.end()], true)
  } catch (error) {
    if (error instanceof SyntaxError) throw new StreamInterrupted('the last frame was cut off')
    throw error
  }
  if (last.messages.length > 0) yield last.messages
  if (last.error) throw last.error
}

/** The APIError the SDK raises for `event: error`: no status, Letta's error frame as its body. */
function streamError(data: string, headers: Headers): APIError {
  let body: object | undefined
  try {
    body = JSON.parse(data)
  } catch {
    body = { message: data }
  }
  return new APIError(undefined, body, undefined, headers)
}
