/**
 * The soak's simulated Letta, in a process of its own: a real Letta keeps every conversation
 * and message, and so does the sim, so in the bridge's process that memory would blur the
 * bridge's own figures. Prints its URL; stops when stdin closes.
 */
import { startLettaSim, tokenStream } from '@letta-openwebui/letta-sim'

const sim = await startLettaSim({
  defaultScenario: tokenStream({ tokens: 4 }),
  // Few finished runs kept: the sim's bookkeeping stays small.
  finishedRunsKept: 100,
  pingIntervalMs: 20_000,
})
process.stdout.write(`${sim.url}\n`)
for await (const _ of Bun.stdin.stream()) {
}
await sim.stop()
