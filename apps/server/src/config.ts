import { resolve } from 'node:path'
import { DEFAULT_PORT } from '@letta-openwebui/events'
import type { Static } from '@sinclair/typebox'
import { Type } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'

/** Letta Cloud, used when only LETTA_API_KEY is given. */
export const LETTA_CLOUD_URL = 'https://api.letta.com'

/** apps/server/data, wherever the server is started from (`bun run dev` and `bun run start` agree). */
export const DEFAULT_DATA_DIR = resolve(import.meta.dir, '../data')

/** Default stall timeout: see LETTA_IDLE_TIMEOUT_MS. */
export const IDLE_TIMEOUT_DEFAULT_MS = 120_000
/** Default turn limit: see MAX_TURN_MS. */
export const MAX_TURN_DEFAULT_MS = 900_000

// Slow readers: what one client that stops reading may cost (the per-stream byte bound is a
// constant: BODY_HIGH_WATER_BYTES in turn/bounded-body.ts).
/**
 * Default for CLIENT_STALL_TIMEOUT_MS. A live reader takes something within seconds; a minute of
 * nothing means it is stuck, and it still holds its agent's Letta run.
 */
export const CLIENT_STALL_TIMEOUT_DEFAULT_MS = 60_000

const Milliseconds = (fallback: number, description: string) =>
  Type.Integer({ minimum: 100, maximum: 3_600_000, default: fallback, description })

/** The environment the server reads at start-up; each variable is explained in the README. */
export const Env = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65_535, default: DEFAULT_PORT }),
  HOST: Type.String({ minLength: 1, default: '0.0.0.0', description: 'Interface to listen on.' }),
  LETTA_BASE_URL: Type.Optional(Type.String({ pattern: '^https?://[^\\s]+$' })),
  LETTA_API_KEY: Type.Optional(Type.String({ minLength: 1 })),
  BRIDGE_API_KEY: Type.Optional(
    Type.String({ minLength: 16, description: 'The bearer token the pipe must send.' }),
  ),
  /**
   * Letta pings after every keepalive_interval of silence while a run is alive: 20 s in its
   * settings, but 0.16.8 ships conf.yaml with 50 s (the Docker image reads it). Two missed 50 s
   * pings and some margin mean it stalled; less would cancel a model that is quietly thinking.
   */
  LETTA_IDLE_TIMEOUT_MS: Milliseconds(
    IDLE_TIMEOUT_DEFAULT_MS,
    'Upstream silence that ends a stream.',
  ),
  /** Pings reset the idle timer, so only this ends a run that never finishes. */
  MAX_TURN_MS: Milliseconds(MAX_TURN_DEFAULT_MS, 'Longest a turn may take before it is stopped.'),
  /** Under the 30 s+ proxy and OpenWebUI read timeouts, so long tool calls never time out. */
  KEEPALIVE_MS: Milliseconds(15_000, 'Client silence after which a keepalive event is sent.'),
  /** The built-in catalog names OpenAI's handles; a self-hosted Letta may call models differently. */
  TEMPLATES_FILE: Type.Optional(
    Type.String({
      minLength: 1,
      description: 'Agent templates JSON file (config/templates.json).',
    }),
  ),
  /** Why a minute: see CLIENT_STALL_TIMEOUT_DEFAULT_MS. */
  CLIENT_STALL_TIMEOUT_MS: Milliseconds(
    CLIENT_STALL_TIMEOUT_DEFAULT_MS,
    'A client that takes nothing from a full stream buffer for this long is dropped and its Letta run cancelled.',
  ),
  /** Chat → conversation map (threads.sqlite); a volume in Docker. */
  DATA_DIR: Type.String({
    minLength: 1,
    default: 'data',
    description: 'Where the bridge keeps its data.',
  }),
  /** A chat unused this long loses its thread: its next message starts a new one, carrying what it shows. */
  THREAD_RETENTION_DAYS: Type.Integer({ minimum: 1, maximum: 3650, default: 365 }),
  /**
   * Replicas sharing one Redis behave as one service: they share chat → conversation, the
   * one-run-per-thread guard and agent creation. Unset: all of it in this process.
   */
  REDIS_URL: Type.Optional(
    Type.String({
      pattern: '^rediss?://',
      description: 'redis://host:port (or rediss:// for TLS) shared by all replicas.',
    }),
  ),
  /**
   * On: Letta is asked to keep each run's stream (background mode; only a Letta with Redis
   * can, others are asked once), so an answer whose connection breaks is picked up again.
   * Off: tokens come exactly as the model writes them (Letta writes kept streams in batches,
   * every 0.5 s), and a broken connection ends the answer.
   */
  RESUMABLE_STREAMS: Type.Boolean({ default: true }),
  /** A client that reconnects does so within seconds; the rest covers a slow restart. */
  RESUME_WINDOW_MS: Milliseconds(
    30_000,
    'How long an answer whose client left goes on, waiting for it to come back, before its run is cancelled.',
  ),
  /** Under the 30 s a container gets between SIGTERM and SIGKILL (Docker, Kubernetes defaults). */
  SHUTDOWN_GRACE_MS: Milliseconds(
    25_000,
    'On SIGTERM, how long running answers may take to finish before they are ended.',
  ),
  /** Off: /metrics needs the bridge key like /v1. On: for a scraper inside a trusted network. */
  METRICS_PUBLIC: Type.Boolean({ default: false }),
  LOG_LEVEL: Type.Union(
    [Type.Literal('debug'), Type.Literal('info'), Type.Literal('warn'), Type.Literal('error')],
    { default: 'info' },
  ),
})
export type Env = Static<typeof Env>

export type Config = {
  port: number
  host: string
  /** undefined = demo mode: an embedded letta-sim instead of a real Letta. */
  letta: { baseUrl: string; apiKey?: string } | undefined
  /** undefined = authentication disabled (only allowed for an explicit local dev run). */
  bridgeApiKey: string | undefined
  idleTimeoutMs: number
  maxTurnMs: number
  keepaliveMs: number
  /** undefined = the built-in config/templates.json. */
  templatesFile: string | undefined
  clientStallTimeoutMs: number
  logLevel: Env['LOG_LEVEL']
  metricsPublic: boolean
  dataDir: string
  threadRetentionDays: number
  /** undefined = one replica: nothing shared. */
  redisUrl: string | undefined
  resumableStreams: boolean
  resumeWindowMs: number
  shutdownGraceMs: number
}

export class ConfigError extends Error {
  override name = 'ConfigError'
}

const HINTS: Record<string, string> = {
  PORT: 'a port number between 0 and 65535',
  LETTA_BASE_URL: 'an http(s) URL such as http://localhost:8283',
  BRIDGE_API_KEY: 'a random secret of at least 16 characters (e.g. `openssl rand -hex 24`)',
  LETTA_IDLE_TIMEOUT_MS: 'milliseconds between 100 and 3600000',
  MAX_TURN_MS: 'milliseconds between 100 and 3600000',
  KEEPALIVE_MS: 'milliseconds between 100 and 3600000',
  CLIENT_STALL_TIMEOUT_MS: 'milliseconds between 100 and 3600000',
  SHUTDOWN_GRACE_MS: 'milliseconds between 100 and 3600000',
  RESUME_WINDOW_MS: 'milliseconds between 100 and 3600000',
  RESUMABLE_STREAMS: 'true or false (or 1 or 0)',
  LOG_LEVEL: 'one of debug, info, warn, error',
  METRICS_PUBLIC: 'true or false (or 1 or 0)',
  THREAD_RETENTION_DAYS: 'whole days between 1 and 3650',
  REDIS_URL: 'a redis:// or rediss:// URL',
}

/**
 * Validates the environment. Throws a ConfigError with one line per bad variable;
 * never echoes a secret's value.
 */
export function loadConfig(
  environment: Record<string, string | undefined>,
  options: { devRun?: boolean } = {},
): Config {
  const raw: Record<string, unknown> = {}
  for (const key of Object.keys(Env.properties)) {
    const value = environment[key]?.trim()
    if (value) raw[key] = value
  }
  const env = Value.Default(Env, Value.Convert(Env, raw)) as Env
  const problems = [...Value.Errors(Env, env)].map((error) => {
    const name = error.path.slice(1)
    return `${name}: expected ${HINTS[name] ?? error.message}`
  })
  if (!env.BRIDGE_API_KEY && !options.devRun) {
    problems.push(
      'BRIDGE_API_KEY: not set. Set it to the secret the pipe sends, or run `bun run dev` for a local run without authentication.',
    )
  }
  if (problems.length > 0)
    throw new ConfigError(`Invalid configuration:\n  ${problems.join('\n  ')}`)

  const baseUrl = env.LETTA_BASE_URL ?? (env.LETTA_API_KEY ? LETTA_CLOUD_URL : undefined)
  return {
    port: env.PORT,
    host: env.HOST,
    letta: baseUrl
      ? { baseUrl: baseUrl.replace(/\/+$/, ''), apiKey: env.LETTA_API_KEY }
      : undefined,
    bridgeApiKey: env.BRIDGE_API_KEY,
    idleTimeoutMs: env.LETTA_IDLE_TIMEOUT_MS,
    maxTurnMs: env.MAX_TURN_MS,
    keepaliveMs: env.KEEPALIVE_MS,
    templatesFile: env.TEMPLATES_FILE,
    clientStallTimeoutMs: env.CLIENT_STALL_TIMEOUT_MS,
    logLevel: env.LOG_LEVEL,
    metricsPublic: env.METRICS_PUBLIC,
    dataDir: env.DATA_DIR,
    threadRetentionDays: env.THREAD_RETENTION_DAYS,
    redisUrl: env.REDIS_URL,
    resumableStreams: env.RESUMABLE_STREAMS,
    resumeWindowMs: env.RESUME_WINDOW_MS,
    shutdownGraceMs: env.SHUTDOWN_GRACE_MS,
  }
}
