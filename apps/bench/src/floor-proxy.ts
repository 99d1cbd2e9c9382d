/**
 * The cheapest possible Bun pass-through: one fetch upstream, its body piped straight back
 * (Bun moves the bytes natively; no JavaScript sees them). Run beside the bridge, it shows how
 * much memory and CPU per stream Bun itself spends on an inbound response plus an outbound fetch.
 *
 * With FLOOR_READS=js it reads each upstream chunk in JavaScript and passes it on unchanged
 * through a stream of its own: the least any proxy that looks at the events (as the bridge must,
 * to turn Letta's frames into its own) can do. The difference between the two is what reading a
 * fetch body in JavaScript costs in Bun, before any parsing.
 */
const upstream = process.env.UPSTREAM_URL ?? ''
const readsInJs = process.env.FLOOR_READS === 'js'

function passedOnInJs(body: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  const reader = body.getReader()
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const read = await reader.read()
      if (read.done) controller.close()
      else controller.enqueue(read.value)
    },
    cancel: (reason) => reader.cancel(reason),
  })
}

const server = Bun.serve({
  hostname: '127.0.0.1',
  port: 0,
  idleTimeout: 0,
  async fetch(request) {
    const response = await fetch(`${upstream}${new URL(request.url).pathname}`, {
      method: request.method,
      headers: request.headers,
      body: await request.arrayBuffer(),
    })
    const body = readsInJs && response.body ? passedOnInJs(response.body) : response.body
    return new Response(body, { status: response.status, headers: response.headers })
  },
})
process.stdout.write(`${JSON.stringify({ floorUrl: server.url.href.replace(/\/$/, '') })}\n`)
process.on('SIGTERM', () => process.exit(0))
