import { Health, HealthSummary, PROTOCOL_VERSION, ROUTES } from '@letta-openwebui/events'
import { Elysia, t } from 'elysia'
import type { LettaProbe } from '../letta/probe.ts'

/**
 * Liveness and whether Letta answers and fits the templates: always 200 while the bridge runs;
 * `status` says degraded. Anyone may ask whether it is up; where Letta is, its version and what
 * is wrong are for callers with the bridge's key.
 */
export const health = (
  probe: LettaProbe,
  authorized: (headers: Headers) => boolean,
  /** With REDIS_URL: whether the shared Redis answers now. */
  redisReachable?: () => Promise<boolean>,
  /** Shutting down: a load balancer should send nothing new here. */
  draining: () => boolean = () => false,
) =>
  new Elysia({ name: 'health' }).get(
    ROUTES.health,
    async ({ request, set }) => {
      if (draining()) {
        set.status = 503
        return { status: 'draining' as const }
      }
      const [letta, redis] = await Promise.all([
        probe.check(),
        redisReachable ? redisReachable().then((reachable) => ({ reachable })) : undefined,
      ])
      const status =
        letta.reachable && letta.templates.length === 0 && redis?.reachable !== false
          ? ('ok' as const)
          : ('degraded' as const)
      if (!authorized(request.headers)) return { status }
      return { status, protocolVersion: PROTOCOL_VERSION, letta, ...(redis ? { redis } : {}) }
    },
    {
      response: t.Union([Health, HealthSummary]),
      detail: {
        summary: 'Liveness; with the bridge key also Letta reachability, version and template fit',
      },
    },
  )
