import { existsSync, readdirSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { GroupProcess } from './processes.ts'
import { spawnGroup, stopGroup, until } from './processes.ts'

/** The offline real-OpenWebUI kit, beside the checkout (`../shared/real-openwebui`). */
export const KIT_DIR = resolve(import.meta.dir, '../../../../shared/real-openwebui')

/** Where setup.sh installs OpenWebUI: outside the repo, kept between runs (setup is idempotent). */
export const INSTALL_DIR = join(process.env.TMPDIR || tmpdir(), 'letta-owui-kit')

/** The kit measured ~5 s to a healthy server; two shared cores under load need far more. */
const START_TIMEOUT_MS = 120_000

/** How src/run.ts tells the tests where the OpenWebUI it started listens. */
export const OPENWEBUI_URL_ENV = 'OWUI_TIER_OPENWEBUI_URL'

export const kitPresent = () => existsSync(join(KIT_DIR, 'setup.sh'))

/** setup.sh marks a finished install; an install newer than every kit file is still current. */
export function installIsCurrent(): boolean {
  const marker = join(INSTALL_DIR, '.setup-done')
  if (!existsSync(marker)) return false
  const installed = statSync(marker).mtimeMs
  const kitFiles = readdirSync(KIT_DIR, { recursive: true, encoding: 'utf8' })
  return kitFiles.every((file) => statSync(join(KIT_DIR, file)).mtimeMs <= installed)
}

export type RunningOpenWebUI = { url: string; process: GroupProcess; stop(): Promise<void> }

/** Starts the real OpenWebUI backend on 127.0.0.1:`port` with its own data dir. */
export async function startOpenWebUI(options: {
  port: number
  dataDir: string
  logFile: string
}): Promise<RunningOpenWebUI> {
  const url = `http://127.0.0.1:${options.port}`
  const owui = spawnGroup([join(KIT_DIR, 'start.sh'), INSTALL_DIR, String(options.port)], {
    env: { ...process.env, DATA_DIR: options.dataDir, GLOBAL_LOG_LEVEL: 'WARNING' },
    logFile: options.logFile,
  })
  let exited = false
  void owui.exited.then(() => {
    exited = true
  })
  try {
    await until(
      `OpenWebUI on ${url} to answer /health (log: ${options.logFile})`,
      async () => {
        if (exited) throw new Error(`OpenWebUI exited during start-up (log: ${options.logFile})`)
        return fetch(`${url}/health`).then(
          (response) => response.ok,
          () => false,
        )
      },
      START_TIMEOUT_MS,
    )
  } catch (error) {
    await stopGroup(owui)
    throw error
  }
  return { url, process: owui, stop: () => stopGroup(owui) }
}
