import { ConfigError, loadConfig } from './config.ts'
import { createLogger } from './log.ts'
import { startServer } from './server.ts'

/** `bun run dev` passes --dev: a local run that may go without BRIDGE_API_KEY. */
const devRun = process.argv.includes('--dev')

try {
  const config = loadConfig(process.env, { devRun })
  const logger = createLogger(config.logLevel, {
    secrets: [config.bridgeApiKey, config.letta?.apiKey],
  })
  const server = await startServer({
    port: config.port,
    host: process.env.HOST ? config.host : undefined,
    lettaBaseUrl: config.letta?.baseUrl,
    lettaApiKey: config.letta?.apiKey,
    bridgeApiKey: config.bridgeApiKey,
    devNoAuth: devRun,
    idleTimeoutMs: config.idleTimeoutMs,
    maxTurnMs: config.maxTurnMs,
    metricsPublic: config.metricsPublic,
    keepaliveMs: config.keepaliveMs,
    templatesFile: config.templatesFile,
    clientStallTimeoutMs: config.clientStallTimeoutMs,
    dataDir: config.dataDir,
    threadRetentionDays: config.threadRetentionDays,
    redisUrl: config.redisUrl,
    resumableStreams: config.resumableStreams,
    resumeWindowMs: config.resumeWindowMs,
    logger,
  })
  logger.info('bridge listening', {
    url: server.url,
    mode: server.mode,
    docs: `${server.url}/docs`,
  })
  // Bun reads this once at start-up; without it, fetch queues the 257th concurrent Letta stream.
  if (!process.env.BUN_CONFIG_MAX_HTTP_REQUESTS)
    logger.warn(
      'BUN_CONFIG_MAX_HTTP_REQUESTS is not set: at most 256 chats can stream at once; start with `bun run start` or set it to 65535',
    )
  const letta = await server.probe.check()
  if (letta.reachable)
    logger.info('Letta is reachable', { letta: letta.url, version: letta.version })
  else
    logger.warn('Letta is NOT reachable; chats will fail until it is', {
      letta: letta.url,
      problem: letta.problem,
    })
  // Said now, not when the first student's agent cannot be created.
  for (const problem of letta.templates) {
    logger.error('a template does not fit this Letta: fix it in TEMPLATES_FILE', { problem })
  }
  for (const warning of letta.warnings) logger.warn(warning)
  // The first SIGTERM (or Ctrl-C) drains: running answers may finish within SHUTDOWN_GRACE_MS;
  // a second one stops at once.
  let stopping = false
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) {
        void server.stop().finally(() => process.exit(0))
        return
      }
      stopping = true
      logger.info('shutting down: finishing running answers', { graceMs: config.shutdownGraceMs })
      server
        .shutdown(config.shutdownGraceMs)
        .then(() => server.stop())
        .finally(() => process.exit(0))
    })
  }
} catch (error) {
  if (!(error instanceof ConfigError)) throw error
  console.error(error.message)
  process.exit(1)
}
