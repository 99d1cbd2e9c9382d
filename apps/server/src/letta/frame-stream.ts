import { APIError } from '@letta-ai/letta-client'
import type { LettaStreamingResponse } from '@letta-ai/letta-client/resources/agents/messages'
import type { SseFrame } from '@letta-openwebui/events'
import { SseParser } from '@letta-openwebui/events'

const END = Symbol('end of stream')

/**
 * Letta's message frames from a streaming response the SDK opened (`.asResponse()`), read by the
 * SDK's own rules: `[DONE]` ends the stream, `event: error` throws an APIError carrying Letta's
 * error body, a frame that is not JSON throws a SyntaxError, other named events are ignored.
 *
 * Why not iterate the SDK's Stream: its chunk splitter copies the rest of the buffer after every
 * frame, so a read that brings hundreds of frames costs quadratic time; at full speed that was
 * the largest item in the bridge's CPU profile. The shared SseParser is linear.
 */
export async function* lettaFrames(response: Response): AsyncGenerator<LettaStreamingResponse> {
  if (!response.body) throw new Error('Letta answered a streaming request without a body')
  const parser = new SseParser()
  const decoder = new TextDecoder()
  const interpret = (frame: SseFrame): LettaStreamingResponse | typeof END | undefined => {
    if (frame.data.startsWith('[DONE]')) return END
    if (frame.event === 'error') throw streamError(frame.data, response.headers)
    return frame.event === 'message' ? JSON.parse(frame.data) : undefined
  }
  for await (const chunk of response.body) {
    for (const frame of parser.push(decoder.decode(chunk, { stream: true }))) {
      const message = interpret(frame)
      if (message === END) return
      if (message) yield message
    }
  }
  for (const frame of [...parser.push(decoder.decode()), ...parser.end()]) {
    const message = interpret(frame)
    if (message === END) return
    if (message) yield message
  }
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
