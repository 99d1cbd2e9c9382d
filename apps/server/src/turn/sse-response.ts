import type { BridgeEvent } from '@letta-openwebui/events'
import { encodeEvent } from '@letta-openwebui/events'
import type { CloseReason } from './bounded-body.ts'
import { BoundedBody } from './bounded-body.ts'
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
 * Streams bridge events to the client as they come, each with its id (events of a run Letta
 * keeps bring theirs; others are numbered from 0), with a keepalive event (no id)
 * whenever nothing was sent for `keepaliveMs`. Each batch (the events of one upstream read) goes
 * out in one write. When the client reads slower than Letta writes, the next batch is taken only
 * once the client's connection has taken the bounded body's queue, so Letta's stream waits too.
 * `onClose` runs when the client goes away or is dropped (its queue not taken for
 * `stallTimeoutMs`), so the turn can stop Letta; the turn is still read to its end, to nobody, so
 * that it can clean up.
 */
export function sseResponse(
  batches: AsyncIterable<BridgeEvent[]>,
  options: { keepaliveMs: number; stallTimeoutMs: number; onClose: (reason: CloseReason) => void },
): Response {
  let seq = 0
  const body = new BoundedBody({
    stallTimeoutMs: options.stallTimeoutMs,
    onClose: (reason) => {
      keepalive.stop()
      options.onClose(reason)
    },
  })
  const send = (batch: BridgeEvent[]) => {
    let text = ''
    for (const event of batch) text += encodeEvent(event.id ?? seq++, event)
    body.write(encoder.encode(text))
    keepalive.touch()
  }
  // A client with bytes still queued has no silence to fill: keepalives never pile up behind them.
  const keepalive = new IdleWatchdog(
    options.keepaliveMs,
    () => {
      if (body.isDrained) {
        body.write(encoder.encode(encodeEvent(undefined, { event: 'keepalive', data: {} })))
        keepalive.touch()
      }
    },
    { repeat: true },
  )
  const pump = async () => {
    try {
      for await (const batch of batches) {
        if (!body.isOpen) continue
        send(batch)
        if (!body.hasRoom) await body.drained()
      }
    } finally {
      keepalive.stop()
      body.end()
    }
  }
  pump().catch(() => {})
  return new Response(body.stream, { headers: SSE_HEADERS })
}
