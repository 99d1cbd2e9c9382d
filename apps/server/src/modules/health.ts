import { Health, PROTOCOL_VERSION, ROUTES } from '@letta-openwebui/events'
import { Elysia } from 'elysia'
import type { LettaProbe } from '../letta/probe.ts'

/** Liveness, and whether Letta answers: always 200 while the bridge runs; `status` says degraded. */
export const health = (probe: LettaProbe) =>
  new Elysia({ name: 'health' }).get(
    ROUTES.health,
    async () => {
      const letta = await probe.check()
      return {
        status: letta.reachable ? ('ok' as const) : ('degraded' as const),
        protocolVersion: PROTOCOL_VERSION,
        letta,
      }
    },
    { response: Health, detail: { summary: 'Liveness and Letta reachability' } },
  )
