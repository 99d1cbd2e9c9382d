/**
 * The cheapest possible Bun pass-through: one fetch upstream, its body piped straight back.
 * Run beside the bridge in the idle-streams case, it shows how much of the bridge's memory per
 * stream Bun itself spends on an inbound response plus an outbound fetch.
 */
const upstream = process.env.UPSTREAM_URL ?? ''
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
    return new Response(response.body, { status: response.status, headers: response.headers })
  },
})
process.stdout.write(`${JSON.stringify({ floorUrl: server.url.href.replace(/\/$/, '') })}\n`)
process.on('SIGTERM', () => process.exit(0))
