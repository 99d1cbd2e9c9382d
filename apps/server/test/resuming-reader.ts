import type { BridgeEvent, ChatRequest } from '@letta-openwebui/events'
import { decodeEvent, ROUTES, SseParser } from '@letta-openwebui/events'
import { BRIDGE_KEY } from './utils.ts'

/** Opens the answer stream; with `lastEventId`, picks an answer up after that event. */
export function openAnswer(
  url: string,
  body: ChatRequest,
  init: { lastEventId?: string; signal?: AbortSignal } = {},
): Promise<Response> {
  return fetch(`${url}${ROUTES.chatStream}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${BRIDGE_KEY}`,
      ...(init.lastEventId ? { 'last-event-id': init.lastEventId } : {}),
    },
    body: JSON.stringify(body),
    signal: init.signal,
  })
}

/** The stream's events with their ids, until it ends or breaks (then it throws). */
export async function* eventsWithIds(response: Response): AsyncGenerator<BridgeEvent> {
  if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`)
  const parser = new SseParser()
  const decoder = new TextDecoder()
  for await (const chunk of response.body) {
    for (const frame of parser.push(decoder.decode(chunk, { stream: true }))) {
      yield { ...decodeEvent(frame), ...(frame.id ? { id: frame.id } : {}) }
    }
  }
}

/**
 * Reads one answer as the pipe does: a stream that breaks or ends without `done` is sent again
 * with the last event id read, up to `attempts` times. The events of all connections in order.
 */
export async function readResuming(
  url: () => string,
  body: ChatRequest,
  attempts = 5,
): Promise<{ events: BridgeEvent[]; connections: number }> {
  const events: BridgeEvent[] = []
  let lastEventId: string | undefined
  for (let connection = 1; ; connection++) {
    try {
      for await (const event of eventsWithIds(await openAnswer(url(), body, { lastEventId }))) {
        if (event.event === 'keepalive' && !event.id) continue
        events.push(event)
        if (event.id) lastEventId = event.id
        if (event.event === 'done') return { events, connections: connection }
      }
    } catch {
      // Broken: picked up again below.
    }
    if (connection >= attempts) return { events, connections: connection }
    await Bun.sleep(100 * connection)
  }
}
