import type { LettaSim } from '@letta-openwebui/letta-sim'
import { startLettaSim } from '@letta-openwebui/letta-sim'
import type { RunningServer } from '@letta-openwebui/server/server'
import { startServer } from '@letta-openwebui/server/server'
import { BrowserSession } from './browser.ts'
import { OPENWEBUI_URL_ENV } from './kit.ts'
import type { Account, ModelEntry } from './openwebui-api.ts'
import { OpenWebUIApi } from './openwebui-api.ts'
import type { PublishRun } from './publish-run.ts'
import { runPublish } from './publish-run.ts'

export const BRIDGE_API_KEY = 'owui-tier-bridge-key-0123456789'
export const FUNCTION_ID = 'letta'
export const TUTOR_MODEL = `${FUNCTION_ID}.tutor`
const ADMIN = { name: 'Ada Admin', email: 'admin@owui-tier.test', password: 'admin-pass-123' }

/**
 * The tier's world: letta-sim and the bridge in this process, the real OpenWebUI that src/run.ts
 * started (fresh data dir), its first admin with an API key, and the pipe installed by the real
 * `bun run publish`. Started once for all test files of the run.
 */
export type TierStack = {
  sim: LettaSim
  bridge: RunningServer
  api: OpenWebUIApi
  admin: Account
  adminKey: string
  /** The environment `bun run publish` needs for this stack. */
  publishEnv: Record<string, string>
  /** The first publish, run while starting the stack. */
  firstPublish: PublishRun
}

let started: Promise<TierStack> | undefined

export function tierStack(): Promise<TierStack> {
  started ??= start()
  return started
}

async function start(): Promise<TierStack> {
  const url = process.env[OPENWEBUI_URL_ENV]
  if (!url)
    throw new Error(`${OPENWEBUI_URL_ENV} is not set: run the tier with \`bun run test:owui\``)
  const sim = await startLettaSim()
  const bridge = await startServer({
    port: 0,
    host: '127.0.0.1',
    lettaBaseUrl: sim.url,
    bridgeApiKey: BRIDGE_API_KEY,
    logLevel: 'error',
  })
  const api = new OpenWebUIApi(url)
  const admin = await api.signup(ADMIN.name, ADMIN.email, ADMIN.password)
  const adminKey = await api.createApiKey(admin.token)
  const publishEnv = {
    OPENWEBUI_URL: url,
    OPENWEBUI_API_KEY: adminKey,
    BRIDGE_URL: bridge.url,
    BRIDGE_API_KEY,
  }
  const firstPublish = await runPublish(publishEnv)
  if (firstPublish.code !== 0) {
    throw new Error(`bun run publish failed:\n${firstPublish.stdout}${firstPublish.stderr}`)
  }
  return { sim, bridge, api, admin, adminKey, publishEnv, firstPublish }
}

/** The model as OpenWebUI lists it to `token` now (what the browser's model picker holds). */
export async function listedModel(stack: TierStack, token: string, id = TUTOR_MODEL) {
  const models = await stack.api.models(token, true)
  const model = models.find((entry) => entry.id === id)
  if (!model) throw new Error(`OpenWebUI lists no ${id}: ${models.map((m) => m.id).join(', ')}`)
  return model satisfies ModelEntry
}

/** Letta message sends so far (what reaches the agent). */
export const lettaMessages = (sim: LettaSim) =>
  sim.requests.filter((request) => request.method === 'POST' && /\/messages$/.test(request.path))

/** The stack, an admin's browser tab on it, and the Tutor model as that tab's model picker has it. */
export type AdminTab = { stack: TierStack; tab: BrowserSession; tutor: ModelEntry }

export async function openAdminTab(): Promise<AdminTab> {
  const stack = await tierStack()
  const tab = await BrowserSession.open(stack.api, stack.admin.token)
  return { stack, tab, tutor: await listedModel(stack, stack.admin.token) }
}
