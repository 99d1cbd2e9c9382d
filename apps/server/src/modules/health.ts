import { Health, HealthSummary, PROTOCOL_VERSION, ROUTES } from '@letta-openwebui/events'
import { Elysia, t } from 'elysia'
import type { LettaProbe } from '../letta/probe.ts'

/**
 * Liveness and whether Letta answers and fits the templates: always 200 while the bridge runs;
 * `status` says degraded. Anyone may ask whether it is up; where Letta is, its version and what
 * is wrong are for callers with the bridge's key.
 */
export const health = (probe: LettaProbe, authorized: (headers: Headers) => boolean) =>
  new Elysia({ name: 'health' }).get(
    ROUTES.health,
    async ({ request }) => {
      const letta = await probe.check()
      const status =
        letta.reachable && letta.templates.length === 0 ? ('ok' as const) : ('degraded' as const)
      if (!authorized(request.headers)) return { status }
      return { status, protocolVersion: PROTOCOL_VERSION, letta }
    },
    {
      response: t.Union([Health, HealthSummary]),
      detail: {
        summary: 'Liveness; with the bridge key also Letta reachability, version and template fit',
      },
    },
  )
