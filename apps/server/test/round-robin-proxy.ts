/**
 * A load balancer in front of bridge replicas, as small as the tests need: each request goes to
 * the next backend in turn, one that cannot be reached is skipped (like nginx's
 * proxy_next_upstream), and answers stream through unbuffered. `backends` may be changed while
 * it runs (a replica replaced in a rolling restart). `GET /_proxy/open` says how many answers
 * each backend is streaming now.
 */
export function startRoundRobinProxy(backends: string[]) {
  let next = 0
  const open = new Map<string, number>()
  const count = (backend: string, by: number) => open.set(backend, (open.get(backend) ?? 0) + by)
  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    idleTimeout: 0,
    async fetch(request) {
      const url = new URL(request.url)
      if (url.pathname === '/_proxy/open') return Response.json(Object.fromEntries(open))
      const headers = new Headers(request.headers)
      headers.delete('host')
      const body = request.method === 'GET' ? undefined : await request.arrayBuffer()
      for (let tried = 0; tried < backends.length; tried++) {
        const backend = backends[next++ % backends.length] as string
        let response: Response
        try {
          response = await fetch(`${backend}${url.pathname}${url.search}`, {
            method: request.method,
            headers,
            body,
            redirect: 'manual',
            signal: request.signal,
          })
        } catch {
          continue
        }
        if (!response.body) return response
        const reader = response.body.getReader()
        count(backend, 1)
        let counted = true
        const done = () => {
          if (counted) count(backend, -1)
          counted = false
        }
        const relayed = new ReadableStream<Uint8Array>({
          async pull(controller) {
            try {
              const read = await reader.read()
              if (read.done) {
                done()
                controller.close()
              } else controller.enqueue(read.value)
            } catch (error) {
              // The replica went away mid-answer: the client's connection breaks too.
              done()
              controller.error(error)
            }
          },
          cancel() {
            done()
            void reader.cancel().catch(() => {})
          },
        })
        return new Response(relayed, { status: response.status, headers: response.headers })
      }
      return new Response('no backend answered', { status: 502 })
    },
  })
  return { url: `http://127.0.0.1:${server.port}`, stop: () => server.stop(true) }
}
