/**
 * `bun run test:letta`: the real Letta 0.16.8 server in the loop. Starts a scripted fake model,
 * Letta (fresh database) and the bridge on free loopback ports, then runs the Python suite in
 * test/ through the generated pipe under the OpenWebUI harness. Stops everything at the end,
 * also on failure.
 *
 * LETTA_TIER_BASE_URL=http://host:port runs the same suite against a Letta you started yourself
 * (its OPENAI_BASE_URL must point at the fake model: FAKE_LLM_PORT fixes that port).
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startFakeLlm } from '@letta-openwebui/fake-llm'
import { startRedis } from '@letta-openwebui/local-redis'
import type { Letta } from './kit.ts'
import {
  ensureKit,
  INSTALL_DIR,
  KIT_DIR,
  kitPresent,
  makeInstance,
  REPO_ROOT,
  startLetta,
} from './kit.ts'
import type { Child } from './processes.ts'
import { cleanUp, freePort, killAll, spawnLogged, waitForHttp } from './processes.ts'

const API_KEY = 'letta-tier-bridge-key-0123456789'
const TEMPLATES_FILE = join(import.meta.dir, '..', 'config', 'templates.json')
const TEST_DIR = join(import.meta.dir, '..', 'test')
const BRIDGE_START_TIMEOUT_MS = 30_000
/** A pytest batch that runs longer than this is stuck: stop it rather than hang CI. */
const BATCH_TIMEOUT_MS = 10 * 60_000

/**
 * The tier's files, in the order they run: one at a time, because the kit's Letta runs on
 * SQLite, which answers concurrent writers with "database is locked" (seen: an agent creation
 * waiting 30 s behind the silent model's run). Restarting the bridge and crashing Letta come last.
 */
const TIER_FILES = [
  'test_turns.py',
  'test_memory.py',
  'test_threads.py',
  'test_approvals.py',
  'test_attachments.py',
  'test_sources.py',
  'test_silent_model.py',
  'test_resume.py',
  'test_disruptions.py',
]
// A file missing from the list would never run, and a LETTA_TIER_ONLY naming no file would run
// nothing and pass: both stop the tier before anything starts.
const unlisted = readdirSync(TEST_DIR).filter(
  (file) => /^test_.*\.py$/.test(file) && !TIER_FILES.includes(file),
)
// LETTA_TIER_ONLY=test_approvals.py,… runs just those files (while working on them).
const only = process.env.LETTA_TIER_ONLY?.split(',').filter(Boolean)
const unknown = only?.filter((file) => !TIER_FILES.includes(file)) ?? []
if (unlisted.length > 0 || unknown.length > 0) {
  console.error(
    `letta tier: ${unlisted.length > 0 ? `test files not in TIER_FILES: ${unlisted.join(', ')}` : `LETTA_TIER_ONLY names no tier file: ${unknown.join(', ')}`}`,
  )
  process.exit(2)
}
const wanted = (file: string) => !only || only.includes(file)

const external = process.env.LETTA_TIER_BASE_URL?.replace(/\/+$/, '')
if (!external && !kitPresent()) {
  console.info(
    `letta tier skipped: no Letta kit at ${KIT_DIR} (set LETTA_KIT, or LETTA_TIER_BASE_URL for your own Letta)`,
  )
  process.exit(0)
}

const logDir = mkdtempSync(join(tmpdir(), 'letta-tier-logs-'))
// The bridge's chat → conversation map: kept across the bridge restarts a test asks for.
const dataDir = mkdtempSync(join(tmpdir(), 'letta-tier-data-'))
const cleanup: Array<() => Promise<void> | void> = [
  () => rmSync(dataDir, { recursive: true, force: true }),
]
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    killAll()
    process.exit(130)
  })
}

/** A bridge the tests may restart or kill; `name` tells its log and data apart. */
type Bridge = { url: string; port: number; lettaUrl: string; name: string; child: Child }

function startBridge(bridge: Omit<Bridge, 'child'>): Child {
  const command = ['bun', '--smol', join(REPO_ROOT, 'apps/server/src/index.ts')]
  return spawnLogged(bridge.name, command, {
    env: {
      ...process.env,
      PORT: String(bridge.port),
      HOST: '127.0.0.1',
      LETTA_BASE_URL: bridge.lettaUrl,
      BRIDGE_API_KEY: API_KEY,
      TEMPLATES_FILE,
      DATA_DIR: join(dataDir, bridge.name),
      LOG_LEVEL: 'info',
    },
    logFile: join(logDir, `${bridge.name}.log`),
  })
}

async function launchBridge(name: string, lettaUrl: string): Promise<Bridge> {
  const port = freePort()
  const bridge = { url: `http://127.0.0.1:${port}`, port, lettaUrl, name }
  const child = startBridge(bridge)
  await waitForHttp(`${bridge.url}/health`, child, BRIDGE_START_TIMEOUT_MS)
  return { ...bridge, child }
}

/** The bridge started again on its port, after it stopped (`stop`) or crashed (`kill`). */
async function relaunch(bridge: Bridge, how: 'stop' | 'kill'): Promise<void> {
  await bridge.child[how]()
  bridge.child = startBridge(bridge)
  await waitForHttp(`${bridge.url}/health`, bridge.child, BRIDGE_START_TIMEOUT_MS)
}

async function runPytest(file: string, env: Record<string, string>) {
  const started = Date.now()
  const child = spawnLogged(
    `pytest ${file}`,
    [
      join(REPO_ROOT, 'scripts/with-python.sh'),
      'python3',
      '-m',
      'pytest',
      '-q',
      '-p',
      'no:cacheprovider',
      '-rA',
      join(TEST_DIR, file),
    ],
    { env: { ...process.env, ...env }, cwd: TEST_DIR, logFile: join(logDir, `${file}.log`) },
  )
  const timer = setTimeout(() => void child.kill(), BATCH_TIMEOUT_MS)
  const code = await child.exited
  clearTimeout(timer)
  const output = await Bun.file(child.logFile).text()
  process.stdout.write(
    `\n----- ${file} (${((Date.now() - started) / 1000).toFixed(0)} s) -----\n${output}`,
  )
  return code
}

let status = 1
const runStarted = Date.now()
try {
  const setupMs = external ? 0 : await ensureKit(logDir)
  const fake = startFakeLlm({ port: Number(process.env.FAKE_LLM_PORT ?? 0) })
  cleanup.push(() => fake.stop())

  let letta: Letta | undefined
  const lettaStarted = Date.now()
  if (!external) {
    const instance = makeInstance()
    cleanup.push(() => rmSync(instance, { recursive: true, force: true }))
    letta = await startLetta({
      instance,
      openaiBaseUrl: fake.baseUrl,
      logFile: join(logDir, 'letta.log'),
    })
    cleanup.push(() => letta?.child.stop())
  }
  const lettaUrl = external ?? letta?.url ?? ''
  const lettaStartMs = Date.now() - lettaStarted

  const bridge = await launchBridge('bridge', lettaUrl)
  cleanup.push(() => bridge.child.stop())
  const bridgeUrl = bridge.url

  // For test_resume.py: a second Letta, with Redis (it keeps runs: background mode), and its
  // own bridge. Only a Letta the tier starts can be given one.
  let resumeBridge: Bridge | undefined
  if (wanted('test_resume.py') && !external) {
    const redis = await startRedis(join(logDir, 'redis.log'))
    cleanup.push(() => redis.stop())
    const instance = makeInstance()
    cleanup.push(() => rmSync(instance, { recursive: true, force: true }))
    const kept = await startLetta({
      instance,
      openaiBaseUrl: fake.baseUrl,
      redisPort: redis.port,
      logFile: join(logDir, 'letta-redis.log'),
    })
    cleanup.push(() => kept.child.stop())
    resumeBridge = await launchBridge('bridge-redis', kept.url)
    cleanup.push(() => resumeBridge?.child.stop())
  }

  // What the Python tests may ask of this process: restart the bridge, crash Letta.
  const control = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    async fetch(request) {
      const path = new URL(request.url).pathname
      // ?bridge=redis: the bridge of the Letta with Redis; ?how=kill: SIGKILL, not SIGTERM.
      const query = new URL(request.url).searchParams
      const target = query.get('bridge') === 'redis' ? resumeBridge : bridge
      if (request.method === 'POST' && path === '/restart-bridge' && target) {
        await relaunch(target, query.get('how') === 'kill' ? 'kill' : 'stop')
        return Response.json({ url: target.url })
      }
      if (request.method === 'POST' && path === '/kill-letta') {
        if (!letta) return Response.json({ detail: 'Letta is not ours to kill' }, 409)
        await letta.child.kill()
        return Response.json({ killed: true })
      }
      return Response.json({ detail: 'Not Found' }, 404)
    },
  })
  cleanup.push(() => control.stop(true))

  const env = {
    LETTA_TIER_BRIDGE_URL: bridgeUrl,
    LETTA_TIER_API_KEY: API_KEY,
    LETTA_TIER_LETTA_URL: lettaUrl,
    LETTA_TIER_FAKE_URL: fake.url,
    LETTA_TIER_CONTROL_URL: `http://127.0.0.1:${control.port}`,
    LETTA_TIER_CAN_KILL: letta ? '1' : '',
    LETTA_TIER_REPO: REPO_ROOT,
    LETTA_TIER_REDIS_BRIDGE_URL: resumeBridge?.url ?? '',
    LETTA_TIER_REDIS_LETTA_URL: resumeBridge?.lettaUrl ?? '',
  }
  console.info(
    `letta tier: Letta ${external ? `(yours) ${lettaUrl}` : `0.16.8 from ${INSTALL_DIR}`}; setup ${(setupMs / 1000).toFixed(0)} s, Letta start ${(lettaStartMs / 1000).toFixed(0)} s; logs in ${logDir}`,
  )
  const codes: number[] = []
  for (const file of TIER_FILES) {
    if (wanted(file)) codes.push(await runPytest(file, env))
  }
  status = codes.every((code) => code === 0) ? 0 : 1
  console.info(`letta tier: finished in ${((Date.now() - runStarted) / 1000).toFixed(0)} s`)
} catch (error) {
  console.error(`letta tier failed to start: ${(error as Error).message}`)
} finally {
  await cleanUp(cleanup)
}
// Logs are for failures; a green run leaves nothing behind.
if (status === 0) rmSync(logDir, { recursive: true, force: true })
else console.info(`letta tier: logs kept in ${logDir}`)
process.exit(status)
