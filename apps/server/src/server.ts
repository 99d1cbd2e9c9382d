import { join } from 'node:path'
import type { BridgeApp } from './app.ts'
import { createApp } from './app.ts'
import type { Config } from './config.ts'
import {
  CLIENT_STALL_TIMEOUT_DEFAULT_MS,
  ConfigError,
  IDLE_TIMEOUT_DEFAULT_MS,
  MAX_TURN_DEFAULT_MS,
} from './config.ts'
import { createLettaClient } from './letta/client.ts'
import type { Logger } from './log.ts'
import { createLogger } from './log.ts'
import { RedisLeases } from './replicas/leases.ts'
import { RedisThreadStore } from './replicas/redis-thread-store.ts'
import { RedisRunReaders } from './replicas/run-readers.ts'
import { SharedStore } from './replicas/shared-store.ts'
import { loadTemplateCatalog } from './templates.ts'
import type { ThreadStore } from './threads/thread-store.ts'
import { SqliteThreadStore } from './threads/thread-store.ts'

export type ServerOptions = {
  /** 0 = any free port. */
  port?: number
  host?: string
  /** Unset = demo mode with an embedded letta-sim. */
  lettaBaseUrl?: string
  lettaApiKey?: string
  bridgeApiKey?: string
  /** Allows a missing bridgeApiKey: authentication off, for a local dev run only. */
  devNoAuth?: boolean
  idleTimeoutMs?: number
  maxTurnMs?: number
  keepaliveMs?: number
  /** An agent templates JSON file instead of the built-in config/templates.json. */
  templatesFile?: string
  clientStallTimeoutMs?: number
  logLevel?: Config['logLevel']
  metricsPublic?: boolean
  /** Where threads.sqlite (chat → conversation) lives; unset = in memory, lost on restart. */
  dataDir?: string
  /** Chats unused this long are forgotten (checked at start and daily); default 365. */
  threadRetentionDays?: number
  /** Replicas sharing this Redis share threads, thread guards, agent creation and resumes. */
  redisUrl?: string
  /** Ask Letta to keep runs so that a broken answer can be resumed (default true). */
  resumableStreams?: boolean
  /** How long a kept run whose client left waits for it to come back (RESUME_WINDOW_MS). */
  resumeWindowMs?: number
  logger?: Logger
}

export type RunningServer = BridgeApp & {
  url: string
  port: number
  mode: 'letta' | 'demo'
  /**
   * Graceful shutdown: no new connections or turns; running turns may finish within `graceMs`,
   * then end with a sentence and their runs are cancelled. Call `stop` after it.
   */
  shutdown(graceMs: number): Promise<void>
  stop(): Promise<void>
}

/** After the grace, how long cancelling the turns still running may take. */
const CANCEL_GRACE_MS = 10_000

const DAY_MS = 24 * 60 * 60 * 1000

export const DEMO_BANNER =
  'demo mode: simulated Letta — set LETTA_BASE_URL / LETTA_API_KEY for real agents'

/** Demo mode only: the simulation is not loaded when a real Letta is configured. */
async function startDemoLetta() {
  const { startLettaSim } = await import('@letta-openwebui/letta-sim')
  return startLettaSim()
}

/** Starts the bridge (and, in demo mode, the simulated Letta it talks to). */
export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  if (!options.bridgeApiKey && !options.devNoAuth) {
    throw new ConfigError('BRIDGE_API_KEY is required unless this is a local dev run.')
  }
  const logger =
    options.logger ??
    createLogger(options.logLevel ?? 'info', {
      secrets: [options.bridgeApiKey, options.lettaApiKey],
    })
  const sim = options.lettaBaseUrl ? undefined : await startDemoLetta()
  const target = options.lettaBaseUrl
    ? { url: options.lettaBaseUrl, mode: 'letta' as const }
    : { url: sim?.url ?? '', mode: 'demo' as const }
  if (target.mode === 'demo') logger.warn(DEMO_BANNER, { simulatedLetta: target.url })
  if (!options.bridgeApiKey) {
    logger.warn(
      'authentication is OFF (local dev run): set BRIDGE_API_KEY before exposing this server',
    )
  }

  const retentionMs = (options.threadRetentionDays ?? 365) * DAY_MS
  const shared = options.redisUrl ? new SharedStore(options.redisUrl, target.url) : undefined
  if (shared) {
    void shared.reachable().then((reachable) => {
      if (reachable) logger.info('replicas share Redis (REDIS_URL)')
      else logger.error('REDIS_URL does not answer: chats get a sentence until it does')
    })
  }
  const threadStore: ThreadStore = shared
    ? new RedisThreadStore(shared, retentionMs)
    : new SqliteThreadStore(options.dataDir ? join(options.dataDir, 'threads.sqlite') : ':memory:')
  const prune = () =>
    threadStore
      .prune(Date.now() - retentionMs)
      .then((forgotten) => {
        if (forgotten > 0)
          logger.info('forgot chats unused for longer than THREAD_RETENTION_DAYS', { forgotten })
      })
      .catch((error) => logger.error('could not prune the thread store', { cause: String(error) }))
  void prune()
  const pruning = setInterval(prune, DAY_MS)
  pruning.unref()
  const bridge = createApp({
    threadStore,
    ...(shared
      ? {
          leases: new RedisLeases(shared),
          readers: new RedisRunReaders(shared),
          redisReachable: () => shared.reachable(),
        }
      : {}),
    resumable: options.resumableStreams,
    resumeWindowMs: options.resumeWindowMs,
    letta: createLettaClient({ baseUrl: target.url, apiKey: options.lettaApiKey }),
    lettaTarget: target,
    logger,
    bridgeApiKey: options.bridgeApiKey,
    idleTimeoutMs: options.idleTimeoutMs ?? IDLE_TIMEOUT_DEFAULT_MS,
    maxTurnMs: options.maxTurnMs ?? MAX_TURN_DEFAULT_MS,
    metricsPublic: options.metricsPublic ?? false,
    keepaliveMs: options.keepaliveMs ?? 15_000,
    catalog: options.templatesFile ? loadTemplateCatalog(options.templatesFile) : undefined,
    clientStallTimeoutMs: options.clientStallTimeoutMs ?? CLIENT_STALL_TIMEOUT_DEFAULT_MS,
  })
  const host = options.host ?? (options.bridgeApiKey ? '0.0.0.0' : '127.0.0.1')
  bridge.app.listen({ port: options.port ?? 0, hostname: host })
  const port = bridge.app.server?.port
  if (!port) throw new Error('the bridge server did not start listening')
  const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`
  return {
    ...bridge,
    url,
    port,
    mode: target.mode,
    async shutdown(graceMs) {
      // Stop listening (a load balancer sends the next chats elsewhere); open streams go on.
      void bridge.app.server?.stop(false)
      await bridge.drain(graceMs, CANCEL_GRACE_MS)
    },
    async stop() {
      await bridge.app.stop(true)
      clearInterval(pruning)
      threadStore.close()
      shared?.close()
      await sim?.stop()
    },
  }
}
