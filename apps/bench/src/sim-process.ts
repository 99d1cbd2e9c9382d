import { startLettaSim } from '@letta-openwebui/letta-sim'

/** letta-sim in its own process, so its CPU is not the benchmark client's or the bridge's. */
const sim = await startLettaSim({
  port: 0,
  pingIntervalMs: Number(process.env.SIM_PING_MS ?? 20_000),
})
process.stdout.write(`${JSON.stringify({ simUrl: sim.url, pid: process.pid })}\n`)
process.on('SIGTERM', () => {
  void sim.stop().finally(() => process.exit(0))
})
