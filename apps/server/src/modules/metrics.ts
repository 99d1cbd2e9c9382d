import { errorBody } from '@letta-openwebui/events'
import { Elysia } from 'elysia'
import type { BridgeMetrics } from '../metrics.ts'

/** `GET /metrics` in Prometheus' text format; it needs the key unless METRICS_PUBLIC is set. */
export const metricsRoute = (metrics: BridgeMetrics, authorized: (headers: Headers) => boolean) =>
  new Elysia({ name: 'metrics' }).get(
    '/metrics',
    async ({ request, set }) => {
      if (!authorized(request.headers)) {
        set.status = 401
        return errorBody('unauthorized')
      }
      return new Response(await metrics.render(), {
        headers: { 'content-type': metrics.contentType },
      })
    },
    { detail: { summary: 'Prometheus metrics (the bridge key, unless METRICS_PUBLIC=1)' } },
  )
