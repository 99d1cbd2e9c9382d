import type { BridgeEvent } from '@letta-openwebui/events'
import { encodeEvent } from '@letta-openwebui/events'
import { IdleWatchdog } from './idle-watchdog.ts'

/** Shared: encoding is stateless. */
const encoder = new TextEncoder()

export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  connection: 'keep-alive',
  // Stops nginx and similar proxies from buffering the stream.
  'x-accel-buffering': 'no',
}

/**
 * Streams bridge events to the client as they come (no buffering), numbered from 0, with a
 * keepalive event whenever nothing was sent for `keepaliveMs`. Each batch (the events of one
 * upstream read) goes out in one write. `onClose` runs when the client goes away, so the turn
 * can stop Letta.
 */
export function sseResponse(
  batches: AsyncIterable<BridgeEvent[]>,
  options: { keepaliveMs: number; onClose: () => void },
): Response {
  let seq = 0
  let open = true
  let keepalive: IdleWatchdog | undefined
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      const send = (batch: BridgeEvent[]) => {
        if (!open) return
        let text = ''
        for (const event of batch) text += encodeEvent(seq++, event)
        controller.enqueue(encoder.encode(text))
        keepalive?.touch()
      }
      keepalive = new IdleWatchdog(
        options.keepaliveMs,
        () => send([{ event: 'keepalive', data: {} }]),
        { repeat: true },
      )
      const pump = async () => {
        try {
          for await (const batch of batches) send(batch)
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
