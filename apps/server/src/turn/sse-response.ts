import type { BridgeEvent } from '@letta-openwebui/events'
import { encodeEvent } from '@letta-openwebui/events'
import { IdleWatchdog } from './idle-watchdog.ts'

export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  connection: 'keep-alive',
  // Stops nginx and similar proxies from buffering the stream.
  'x-accel-buffering': 'no',
}

/**
 * Streams bridge events to the client as they come (no buffering), numbered from 0, with a
 * keepalive event whenever nothing was sent for `keepaliveMs`. `onClose` runs when the client
 * goes away, so the turn can stop Letta.
 */
export function sseResponse(
  events: AsyncIterable<BridgeEvent>,
  options: { keepaliveMs: number; onClose: () => void },
): Response {
  const encoder = new TextEncoder()
  let seq = 0
  let open = true
  let keepalive: IdleWatchdog | undefined
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      const send = (event: BridgeEvent) => {
        if (!open) return
        controller.enqueue(encoder.encode(encodeEvent(seq++, event)))
        keepalive?.touch()
      }
      keepalive = new IdleWatchdog(
        options.keepaliveMs,
        () => send({ event: 'keepalive', data: {} }),
        {
          repeat: true,
        },
      )
      const pump = async () => {
        try {
          for await (const event of events) send(event)
        } finally {
          keepalive?.stop()
          if (open) {
            open = false
            controller.close()
          }
        }
      }
      pump().catch(() => {})
    },
    cancel() {
      open = false
      keepalive?.stop()
      options.onClose()
    },
  })
  return new Response(body, { headers: SSE_HEADERS })
}
