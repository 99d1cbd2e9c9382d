import {
  dropAfter,
  errorAfterOutput,
  errorBeforeOutput,
  LETTA_FIXTURES_DIR,
  lettaFixtures,
  replayTranscript,
  startLettaSim,
  tokenStream,
} from '@letta-openwebui/letta-sim'
import { startServer } from '@letta-openwebui/server/server'

/**
 * The real bridge + letta-sim on free loopback ports, for the Python end-to-end tests.
 * Prints one JSON line (URLs, key, scenarios as JSON steps) and stops when stdin closes.
 */
const apiKey = 'pipe-e2e-bridge-key-0123456789'
const sim = await startLettaSim()
const server = await startServer({
  port: 0,
  host: '127.0.0.1',
  lettaBaseUrl: sim.url,
  bridgeApiKey: apiKey,
  idleTimeoutMs: 2_000,
  logLevel: 'warn',
})
// The same bridge code pointed at a Letta that is not running.
const lettaDown = await startServer({
  port: 0,
  host: '127.0.0.1',
  lettaBaseUrl: 'http://127.0.0.1:9',
  bridgeApiKey: apiKey,
  logLevel: 'error',
})
const fixtures = Object.fromEntries(
  lettaFixtures().map(({ name, transcript }) => [
    name,
    replayTranscript(transcript, { delayMs: 2 }),
  ]),
)
const scenarios = {
  errorBeforeOutput: errorBeforeOutput(),
  errorAfterOutput: errorAfterOutput(),
  dropAfter: dropAfter(5),
  slowAnswer: tokenStream({ tokens: 200, tokensPerSecond: 40 }),
  fullSpeed: tokenStream({ tokens: 20_000 }),
}
process.stdout.write(
  `${JSON.stringify({ serverUrl: server.url, lettaDownUrl: lettaDown.url, simUrl: sim.url, apiKey, fixtures, scenarios, fixtureDir: LETTA_FIXTURES_DIR })}\n`,
)
for await (const _ of Bun.stdin.stream()) {
}
await server.stop()
await lettaDown.stop()
await sim.stop()
process.exit(0)
