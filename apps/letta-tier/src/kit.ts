import { Database } from 'bun:sqlite'
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { Child } from './processes.ts'
import { freePort, logTail, spawnLogged, waitForHttp } from './processes.ts'

export const REPO_ROOT = resolve(import.meta.dir, '../../..')
/** The offline Letta 0.16.8 kit (read-only), beside the repository on the CI machine. */
export const KIT_DIR = process.env.LETTA_KIT ?? resolve(REPO_ROOT, '../shared/real-letta')
/** Where the kit is installed once and re-used across runs, outside the repository. */
export const INSTALL_DIR = process.env.LETTA_KIT_INSTALL ?? join(tmpdir(), 'letta-real-kit')
/** The installed Letta home as setup.sh left it: every run starts from a copy. */
const PRISTINE_HOME = join(INSTALL_DIR, 'pristine-home')
/** Letta 0.16.8 starts in ~15 s on an idle machine; several agents share this one. */
const LETTA_START_TIMEOUT_MS = 240_000
/** setup.sh takes ~1 min the first time (pip from the local mirror). */
const SETUP_TIMEOUT_MS = 15 * 60_000

export const kitPresent = (): boolean => existsSync(join(KIT_DIR, 'setup.sh'))

/** Installs the kit into INSTALL_DIR unless a finished install is there; returns the time spent. */
export async function ensureKit(logDir: string): Promise<number> {
  const started = Date.now()
  if (!existsSync(join(INSTALL_DIR, '.setup-done'))) {
    const logFile = join(logDir, 'setup.log')
    console.info(`letta tier: installing Letta 0.16.8 into ${INSTALL_DIR} (about a minute, once)`)
    const setup = spawnLogged('setup.sh', [join(KIT_DIR, 'setup.sh'), INSTALL_DIR], {
      env: process.env,
      logFile,
    })
    const timer = setTimeout(() => void setup.kill(), SETUP_TIMEOUT_MS)
    const code = await setup.exited
    clearTimeout(timer)
    if (code !== 0) throw new Error(`setup.sh failed:\n${logTail(logFile)}`)
    rmSync(PRISTINE_HOME, { recursive: true, force: true })
  }
  if (!existsSync(PRISTINE_HOME)) {
    cpSync(join(INSTALL_DIR, 'home', '.letta'), PRISTINE_HOME, { recursive: true })
  }
  return Date.now() - started
}

/**
 * A throw-away Letta directory: the install's code (symlinked) with a fresh copy of the pristine
 * SQLite database, so every run starts with no agents and runs never share state.
 */
export function makeInstance(): string {
  const dir = mkdtempSync(join(tmpdir(), 'letta-tier-'))
  for (const part of ['src', 'venv', 'debroot', 'debs', 'stubs']) {
    symlinkSync(join(INSTALL_DIR, part), join(dir, part))
  }
  writeFileSync(join(dir, '.setup-done'), '')
  mkdirSync(join(dir, 'home'))
  cpSync(PRISTINE_HOME, join(dir, 'home', '.letta'), { recursive: true })
  repairArchiveDates(join(dir, 'home', '.letta', 'sqlite.db'))
  mkdirSync(join(dir, 'logs'))
  return dir
}

/**
 * The kit's SQLite schema (SQLAlchemy `create_all` of Letta's Postgres models) gives
 * `archives_agents.created_at` the literal default `'now()'` (`server_default="now()"`, which
 * only Postgres evaluates), so an agent's first archival passage fails reading that row back
 * ("Invalid isoformat string: 'now()'"). The empty table is made again with SQLite's
 * `CURRENT_TIMESTAMP` instead, as Postgres would fill it; Letta's code is untouched. Without it
 * archival memory cannot be exercised on the kit.
 */
function repairArchiveDates(file: string): void {
  const db = new Database(file)
  try {
    const table = db
      .query<{ sql: string }, []>(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'archives_agents'",
      )
      .get()
    if (!table?.sql.includes("DEFAULT 'now()'")) return
    const empty = db.query('SELECT 1 FROM archives_agents LIMIT 1').get() === null
    if (!empty) return
    db.transaction(() => {
      db.run('DROP TABLE archives_agents')
      db.run(table.sql.replace("DEFAULT 'now()'", 'DEFAULT CURRENT_TIMESTAMP'))
    })()
  } finally {
    db.close()
  }
}

export type Letta = { url: string; port: number; child: Child }

/** Starts the real Letta server of an instance on a free loopback port and waits for health. */
export async function startLetta(options: {
  instance: string
  openaiBaseUrl: string
  redisPort?: number
  logFile: string
  env?: Record<string, string>
}): Promise<Letta> {
  const port = freePort()
  const child = spawnLogged('letta', [join(KIT_DIR, 'start.sh'), options.instance, String(port)], {
    env: {
      ...process.env,
      OPENAI_BASE_URL: options.openaiBaseUrl,
      OPENAI_API_KEY: 'sk-fake-local',
      REDIS_PORT: options.redisPort ? String(options.redisPort) : undefined,
      ...options.env,
    },
    logFile: options.logFile,
  })
  const url = `http://127.0.0.1:${port}`
  try {
    await waitForHttp(`${url}/v1/health/`, child, LETTA_START_TIMEOUT_MS)
  } catch (error) {
    await child.kill()
    throw error
  }
  return { url, port, child }
}
