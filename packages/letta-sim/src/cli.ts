#!/usr/bin/env bun
/**
 * `bun packages/letta-sim/src/cli.ts --port 8283 [--ping-ms N] [--no-redis] [--redis-flush-ms N]
 * [--no-conversations] [--fork-at-message] [--file-processing error|completed]`: a simulated
 * Letta to point at (the flags are SimOptions).
 */
import { parseArgs } from 'node:util'
import { startLettaSim } from './sim.ts'

/** Real Letta's default port, so LETTA_BASE_URL=http://localhost:8283 works unchanged. */
const DEFAULT_PORT = 8283

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: String(DEFAULT_PORT) },
    'ping-ms': { type: 'string' },
    // A Letta without Redis: no conversation lock, no background runs.
    'no-redis': { type: 'boolean', default: false },
    // Background chunks reach readers in batches, as Letta's Redis writer sends them (500).
    'redis-flush-ms': { type: 'string' },
    // A Letta older than 0.16.2: no /v1/conversations routes.
    'no-conversations': { type: 'boolean', default: false },
    // Letta Cloud's fork, cut at message_id.
    'fork-at-message': { type: 'boolean', default: false },
    // How uploaded files' processing ends: as recorded from the kit (error), or completed.
    'file-processing': { type: 'string', default: 'error' },
  },
})

function integer(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const parsed = Number(value)
  if (!Number.isInteger(parsed) || parsed < 0) {
    console.error(`letta-sim: --${name} must be a non-negative integer, got "${value}"`)
    process.exit(2)
  }
  return parsed
}

const fileProcessing = values['file-processing']
if (fileProcessing !== 'error' && fileProcessing !== 'completed') {
  console.error(`letta-sim: --file-processing must be error or completed, got "${fileProcessing}"`)
  process.exit(2)
}

const sim = startLettaSim({
  port: integer('port', values.port),
  pingIntervalMs: integer('ping-ms', values['ping-ms']),
  redis: !values['no-redis'],
  redisFlushMs: integer('redis-flush-ms', values['redis-flush-ms']),
  conversations: !values['no-conversations'],
  forkAtMessage: values['fork-at-message'],
  fileProcessing,
})

// Registered before the first await, so an early Ctrl-C still stops the server cleanly.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    sim
      .then((running) => running.stop())
      .then(
        () => process.exit(0),
        () => process.exit(1),
      )
  })
}

console.info(
  `letta-sim listening on ${(await sim).url} (simulated Letta V1 API; control API at /_sim/)`,
)
