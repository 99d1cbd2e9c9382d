import { APIError } from '@letta-ai/letta-client'
import type { LettaStreamingResponse } from '@letta-ai/letta-client/resources/agents/messages'
import type { SseFrame } from '@letta-openwebui/events'
import { SseParser } from '@letta-openwebui/events'

/** What the frames of one network read amount to: messages, then perhaps the stream's end. */
type Batch = { messages: LettaStreamingResponse[]; ended: boolean; error?: APIError }

/**
 * Letta's messages from a streaming response the SDK opened (`.asResponse()`), one batch per
 * network read: a read often carries many frames, and passing them on together lets the bridge
 * write them in one go. Read by the SDK's own rules: `[DONE]` ends the stream, `event: error`
 * throws an APIError carrying Letta's error body (after the messages before it), a frame that is
 * not JSON throws a SyntaxError, other named events are ignored.
 *
 * Why not iterate the SDK's Stream: its chunk splitter copies the rest of the buffer after every
 * frame, so a read that brings hundreds of frames costs quadratic time; at full speed that was
 * the largest item in the bridge's CPU profile. The shared SseParser is linear.
 */
export async function* lettaFrames(response: Response): AsyncGenerator<LettaStreamingResponse[]> {
  if (!response.body) throw new Error('Letta answered a streaming request without a body')
  const parser = new SseParser()
  const decoder = new TextDecoder()
  const batch = (frames: SseFrame[]): Batch => {
    const messages: LettaStreamingResponse[] = []
    for (const frame of frames) {
      if (frame.data.startsWith('[DONE]')) return { messages, ended: true }
      if (frame.event === 'error') {
        return { messages, ended: true, error: streamError(frame.data, response.headers) }
      }
      if (frame.event === 'message') messages.push(JSON.parse(frame.data))
    }
    return { messages, ended: false }
  }
  for await (const chunk of response.body) {
    const { messages, ended, error } = batch(parser.push(decoder.decode(chunk, { stream: true })))
    if (messages.length > 0) yield messages
    if (error) throw error
    if (ended) return
  }
  // A last frame without its closing blank line still counts.
  const { messages, error } = batch([...parser.push(decoder.decode()), ...parser.end()])
  if (messages.length > 0) yield messages
  if (error) throw error
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
