import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { RunningOpenWebUI } from './kit.ts'
import {
  INSTALL_DIR,
  installIsCurrent,
  KIT_DIR,
  kitPresent,
  OPENWEBUI_URL_ENV,
  startOpenWebUI,
} from './kit.ts'
import { freePort, signalGroup } from './processes.ts'

/**
 * `bun run test:owui`: installs the real OpenWebUI from the kit (once, cached outside the repo),
 * starts it on a free loopback port with a fresh data dir, runs the tier's tests against it and
 * stops it whatever happens. Without the kit there is nothing to test against: skip.
 */
if (!kitPresent()) {
  console.info(`test:owui skipped: no real-OpenWebUI kit at ${KIT_DIR}`)
  process.exit(0)
}

const seconds = (since: number) => `${((performance.now() - since) / 1000).toFixed(1)} s`

let at = performance.now()
if (installIsCurrent()) {
  console.info(
    `test:owui: OpenWebUI is installed in ${INSTALL_DIR} (the kit has not changed since)`,
  )
} else {
  const setup = Bun.spawn([join(KIT_DIR, 'setup.sh'), INSTALL_DIR], {
    stdout: 'inherit',
    stderr: 'inherit',
  })
  if ((await setup.exited) !== 0) {
    console.error(`test:owui: ${KIT_DIR}/setup.sh ${INSTALL_DIR} failed (see above)`)
    process.exit(1)
  }
  console.info(`test:owui: OpenWebUI installed in ${INSTALL_DIR} (${seconds(at)})`)
}

const runDir = mkdtempSync(join(process.env.TMPDIR || tmpdir(), 'letta-owui-run-'))
const logFile = join(runDir, 'openwebui.log')
let owui: RunningOpenWebUI | undefined
let tests: Bun.Subprocess | undefined
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    tests?.kill('SIGKILL')
    if (owui) signalGroup(owui.process.pid, 'SIGKILL')
    process.exit(1)
  })
}

let code = 1
try {
  at = performance.now()
  owui = await startOpenWebUI({ port: freePort(), dataDir: join(runDir, 'data'), logFile })
  console.info(`test:owui: OpenWebUI 0.11.0 up at ${owui.url} (${seconds(at)})`)
  at = performance.now()
  tests = Bun.spawn(['bun', 'test', '--timeout', '90000', ...process.argv.slice(2)], {
    cwd: join(import.meta.dir, '..'),
    env: { ...process.env, [OPENWEBUI_URL_ENV]: owui.url },
    stdout: 'inherit',
    stderr: 'inherit',
  })
  code = await tests.exited
  console.info(`test:owui: tests took ${seconds(at)}`)
} catch (error) {
  console.error(`test:owui: ${error instanceof Error ? error.message : error}`)
} finally {
  await owui?.stop()
}
if (code === 0) rmSync(runDir, { recursive: true, force: true })
else console.error(`test:owui: OpenWebUI's data and log are kept in ${runDir}`)
process.exit(code)
