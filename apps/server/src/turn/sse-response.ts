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
  // Events that arrive in the same turn of the event loop (one upstream chunk often carries
  // many frames) go out in one write; the flush runs right after, so nothing waits.
  let pending = ''
  let flushScheduled = false
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      const flush = () => {
        flushScheduled = false
        if (!open || !pending) return
        controller.enqueue(encoder.encode(pending))
        pending = ''
      }
      const send = (event: BridgeEvent) => {
        if (!open) return
        pending += encodeEvent(seq++, event)
        keepalive?.touch()
        if (!flushScheduled) {
          flushScheduled = true
          setImmediate(flush)
        }
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
          flush()
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
