import { openapi } from '@elysiajs/openapi'
import { PROTOCOL_VERSION } from '@letta-openwebui/events'
import { Elysia } from 'elysia'
import { AgentFolders } from './letta/agent-folders.ts'
import { AgentDirectory } from './letta/agents.ts'
import type { Letta } from './letta/client.ts'
import { MemoryService } from './letta/memory.ts'
import { LettaProbe } from './letta/probe.ts'
import type { Logger } from './log.ts'
import { BridgeMetrics } from './metrics.ts'
import { auth, keyChecker } from './modules/auth.ts'
import { chat } from './modules/chat.ts'
import { errors, MAX_CHAT_BODY_BYTES } from './modules/errors.ts'
import { health } from './modules/health.ts'
import { memory } from './modules/memory.ts'
import { metricsRoute } from './modules/metrics.ts'
import { pipeFile } from './modules/pipe-file.ts'
import { templates } from './modules/templates.ts'
import type { Leases } from './replicas/leases.ts'
import { LocalLeases } from './replicas/leases.ts'
import type { RunReaders } from './replicas/run-readers.ts'
import { LocalRunReaders } from './replicas/run-readers.ts'
import { TemplateCatalog } from './templates.ts'
import type { ThreadStore } from './threads/thread-store.ts'
import { SqliteThreadStore } from './threads/thread-store.ts'
import { ThreadDirectory } from './threads/threads.ts'
import { ChatService } from './turn/chat-service.ts'

export type AppDeps = {
  letta: Letta
  /** Where `letta` points, for /health; demo = the embedded simulation. */
  lettaTarget: { url: string; mode: 'letta' | 'demo' }
  logger: Logger
  bridgeApiKey: string | undefined
  idleTimeoutMs: number
  maxTurnMs: number
  keepaliveMs: number
  /** METRICS_PUBLIC: /metrics without the key (for a scraper inside a trusted network). */
  metricsPublic?: boolean
  clientStallTimeoutMs: number
  catalog?: TemplateCatalog
  /** Chat → conversation; default: SQLite in memory (nothing survives the process). */
  threadStore?: ThreadStore
  /** Who may run a thread or create an agent now; default: this process alone. */
  leases?: Leases
  /** With REDIS_URL: whether the shared Redis answers, for /health. */
  redisReachable?: () => Promise<boolean>
  /** Who read each run Letta keeps; default: this process alone. */
  readers?: RunReaders
  /** RESUMABLE_STREAMS (default on): ask Letta to keep runs so a broken answer can be resumed. */
  resumable?: boolean
  /** RESUME_WINDOW_MS: how long a kept run whose client left waits for it to come back. */
  resumeWindowMs?: number
}

/** Default for RESUME_WINDOW_MS: a client that reconnects does so within seconds. */
export const RESUME_WINDOW_DEFAULT_MS = 30_000

/** The bridge as an Elysia app: one plugin per concern, no port (tests call `app.handle`). */
export function createApp(deps: AppDeps) {
  const catalog = deps.catalog ?? new TemplateCatalog()
  // Read at scrape time only, when `service` exists.
  const metrics: BridgeMetrics = new BridgeMetrics((): number => service.activeTurns)
  const leases = deps.leases ?? new LocalLeases()
  const agents = new AgentDirectory(deps.letta, catalog, deps.logger, leases, () =>
    metrics.agentCreated(),
  )
  const threads = new ThreadDirectory(
    deps.letta,
    deps.threadStore ?? new SqliteThreadStore(':memory:'),
    deps.logger,
  )
  const service: ChatService = new ChatService({
    letta: deps.letta,
    agents,
    threads,
    templates: catalog,
    folders: new AgentFolders(deps.letta, deps.logger),
    leases,
    logger: deps.logger,
    idleTimeoutMs: deps.idleTimeoutMs,
    maxTurnMs: deps.maxTurnMs,
    metrics,
    resumable: deps.resumable ?? true,
    readers: deps.readers ?? new LocalRunReaders(),
    resumeWindowMs: deps.resumeWindowMs ?? RESUME_WINDOW_DEFAULT_MS,
  })
  const memoryService = new MemoryService(deps.letta, agents, catalog, (agentId) =>
    threads.memoryChanged(agentId),
  )
  const probe = new LettaProbe(deps.letta, deps.lettaTarget, catalog, () => threads.probe())
  // Bun's own hard cap (a bare 413) sits above ours, so honest clients get the JSON 413 below it.
  // The key first, before the body is even looked at; then its size, depth and shape.
  const app = new Elysia({ serve: { maxRequestBodySize: 2 * MAX_CHAT_BODY_BYTES } })
    .use(auth(deps.bridgeApiKey))
    .use(errors(deps.logger))
    .use(
      openapi({
        path: '/docs',
        documentation: {
          info: {
            title: 'letta-openwebui bridge',
            version: PROTOCOL_VERSION,
            description: 'Streams per-user Letta agents into OpenWebUI. Events: packages/events.',
          },
          components: {
            securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
          },
        },
      }),
    )
    .use(health(probe, keyChecker(deps.bridgeApiKey), deps.redisReachable, () => draining))
    .use(templates(catalog))
    .use(
      chat({
        service,
        catalog,
        keepaliveMs: deps.keepaliveMs,
        clientStallTimeoutMs: deps.clientStallTimeoutMs,
      }),
    )
    .use(pipeFile())
    .use(memory({ service: memoryService, catalog, logger: deps.logger }))
    .use(metricsRoute(metrics, deps.metricsPublic ? () => true : keyChecker(deps.bridgeApiKey)))
  let draining = false
  return {
    app,
    service,
    agents,
    threads,
    probe,
    metrics,
    /** Shutdown: /health answers 503 and new turns are refused; see ChatService.drain. */
    drain(graceMs: number, cancelMs: number) {
      draining = true
      return service.drain(graceMs, cancelMs)
    },
  }
}

export type BridgeApp = ReturnType<typeof createApp>
