import { createLogger } from '../../src/log.ts'
import { startServer } from '../../src/server.ts'
import { BRIDGE_KEY, chatBody, eventually, streamChat, summarize } from '../utils.ts'

/**
 * Issue 6's soak, run in a process of its own: `bun test` ignores BUN_CONFIG_MAX_HTTP_REQUESTS,
 * and 500 concurrent chats need 1,000 concurrent fetches here (clients and the bridge's upstream
 * calls share this process). Prints one JSON line of figures for soak.test.ts to judge.
 */
const SEQUENTIAL = Number(process.env.SOAK_SEQUENTIAL ?? 20_000)
const CONCURRENT = Number(process.env.SOAK_CONCURRENT ?? 500)
const WAVES = 4
const USERS = 200

type Memory = { rssMb: number; heapMb: number }

/** After a full collection; the clients share this process with the bridge (the sim does not). */
function memory(): Memory {
  Bun.gc(true)
  const { rss, heapUsed } = process.memoryUsage()
  const mb = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10
  return { rssMb: mb(rss), heapMb: mb(heapUsed) }
}

const simProcess = Bun.spawn(['bun', new URL('./sim-process.ts', import.meta.url).pathname], {
  stdin: 'pipe',
  stdout: 'pipe',
  stderr: 'inherit',
})
const simLines = simProcess.stdout.pipeThrough(new TextDecoderStream()).getReader()
const simUrl = (await simLines.read()).value?.trim() ?? ''
const simState = async () =>
  (await (await fetch(`${simUrl}/_sim/state`)).json()) as {
    agents: number
    streams: { active: number }
  }
const server = await startServer({
  port: 0,
  host: '127.0.0.1',
  lettaBaseUrl: simUrl,
  bridgeApiKey: BRIDGE_KEY,
  idleTimeoutMs: 2_000,
  logger: createLogger('error', { write: (line) => process.stderr.write(`${line}\n`) }),
})
const stack = { server }
const failures: string[] = []

/** One short conversation; anything but an answer and exactly one done is a failure. */
async function converse(userId: string, chatId: string) {
  try {
    const body = chatBody({ user: { id: userId }, chatId })
    const seen = summarize(await streamChat(stack.server, body))
    if (seen.errors.length > 0 || seen.doneCount !== 1 || seen.answer.length === 0)
      failures.push(`${userId}/${chatId}: ${JSON.stringify(seen)}`)
  } catch (error) {
    failures.push(`${userId}/${chatId}: ${error}`)
  }
}

async function sequential() {
  for (let i = 0; i < USERS; i++) await converse(`solo-${i}`, 'warm-up')
  const before = memory()
  const started = performance.now()
  for (let i = 0; i < SEQUENTIAL; i++) {
    await converse(`solo-${i % USERS}`, `chat-${i}`)
  }
  return {
    conversations: SEQUENTIAL,
    seconds: (performance.now() - started) / 1000,
    before,
    after: memory(),
  }
}

async function concurrent() {
  const wave = (n: number) =>
    Promise.all(Array.from({ length: CONCURRENT }, (_, i) => converse(`crowd-${i}`, `wave-${n}`)))
  await wave(0)
  const before = memory()
  const started = performance.now()
  for (let n = 1; n <= WAVES; n++) {
    await wave(n)
  }
  return {
    conversations: CONCURRENT * WAVES,
    concurrent: CONCURRENT,
    seconds: (performance.now() - started) / 1000,
    before,
    after: memory(),
  }
}

const report = {
  sequential: await sequential(),
  concurrent: await concurrent(),
  failures: failures.slice(0, 5),
  failureCount: failures.length,
  usersSeen: USERS + CONCURRENT,
  agentsInLetta: (await simState()).agents,
  activeTurns: stack.server.service.activeTurns,
  openUpstreamsSettled: await eventually(() => stack.server.service.openUpstreams === 0),
  simStreamsActive: (await simState()).streams.active,
}
await server.stop()
simProcess.stdin.end()
await simProcess.exited
process.stdout.write(`${JSON.stringify(report)}\n`)
