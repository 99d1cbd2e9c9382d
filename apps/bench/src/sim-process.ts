import type { Step } from '@letta-openwebui/letta-sim'
import { demoScenario, startLettaSim } from '@letta-openwebui/letta-sim'
import { FIREHOSE_MESSAGE, firehose } from './firehose.ts'

/** Built once, shared by every stream that asks for it (the sim only reads its steps). */
let fire: Step[] | undefined

/** letta-sim in its own process, so its CPU is not the benchmark client's or the bridge's. */
const sim = await startLettaSim({
  port: 0,
  pingIntervalMs: Number(process.env.SIM_PING_MS ?? 20_000),
  defaultScenario: (request) => {
    if (request.text !== FIREHOSE_MESSAGE) return demoScenario(request)
    fire ??= firehose()
    return fire
  },
})
process.stdout.write(`${JSON.stringify({ simUrl: sim.url, pid: process.pid })}\n`)
process.on('SIGTERM', () => {
  void sim.stop().finally(() => process.exit(0))
})
