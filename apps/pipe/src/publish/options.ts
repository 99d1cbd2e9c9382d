import { parseArgs } from 'node:util'
import { DEFAULT_PORT } from '@letta-openwebui/events'

export class OptionsError extends Error {
  override name = 'OptionsError'
}

export type PublishOptions = {
  openwebuiUrl: string
  openwebuiApiKey: string
  /** Where this machine reaches the bridge (for its template list). */
  bridgeUrl: string
  bridgeApiKey: string
  /** The SERVER_URL valve: where OpenWebUI reaches the bridge (differs when OpenWebUI runs in Docker). */
  serverUrl: string
  /** The API_KEY valve. */
  pipeApiKey: string
  functionId: string
  publicModels: boolean
}

export const USAGE = `bun run publish [options]    install or update the Letta pipe in an OpenWebUI

Environment (flags win):
  OPENWEBUI_URL        --openwebui-url      the OpenWebUI, e.g. http://localhost:3000 (required)
  OPENWEBUI_API_KEY    --openwebui-api-key  an admin's API key, sk-… (required)
  BRIDGE_URL / PORT    --bridge-url         the bridge as seen from here (default http://localhost:${DEFAULT_PORT})
  BRIDGE_API_KEY       --bridge-api-key     the bridge's key
  PIPE_SERVER_URL      --server-url         SERVER_URL valve: the bridge as OpenWebUI reaches it (default: the bridge URL)
  PIPE_API_KEY         --api-key            API_KEY valve (default: BRIDGE_API_KEY)
                       --function-id        the function's id (default letta)
                       --private-models     leave the models admin-only (default: visible to every user)`

const isHttpUrl = (value: string) => /^https?:\/\/[^\s]+$/.test(value)

/** Flags and environment → options; one OptionsError line for the first thing missing or malformed. */
export function readOptions(
  argv: string[],
  env: Record<string, string | undefined>,
): PublishOptions | 'help' {
  let parsed: ReturnType<typeof parse>
  try {
    parsed = parse(argv)
  } catch (error) {
    throw new OptionsError(`${error instanceof Error ? error.message : error} (see --help)`)
  }
  const flags = parsed.values
  if (flags.help) return 'help'
  const pick = (flag: string | undefined, name: string) => flag ?? env[name]?.trim() ?? ''

  const openwebuiUrl = pick(flags['openwebui-url'], 'OPENWEBUI_URL')
  if (!openwebuiUrl)
    throw new OptionsError(
      'OPENWEBUI_URL is not set: the OpenWebUI to publish to, e.g. OPENWEBUI_URL=http://localhost:3000.',
    )
  const openwebuiApiKey = pick(flags['openwebui-api-key'], 'OPENWEBUI_API_KEY')
  if (!openwebuiApiKey)
    throw new OptionsError(
      "OPENWEBUI_API_KEY is not set: an OpenWebUI admin's API key (Settings → Account → API Keys).",
    )
  const port = env.PORT?.trim() || String(DEFAULT_PORT)
  const bridgeUrl = pick(flags['bridge-url'], 'BRIDGE_URL') || `http://localhost:${port}`
  const bridgeApiKey = pick(flags['bridge-api-key'], 'BRIDGE_API_KEY')
  const serverUrl = pick(flags['server-url'], 'PIPE_SERVER_URL') || bridgeUrl
  for (const [name, value] of [
    ['OPENWEBUI_URL', openwebuiUrl],
    ['BRIDGE_URL', bridgeUrl],
    ['PIPE_SERVER_URL', serverUrl],
  ] as const) {
    if (!isHttpUrl(value)) throw new OptionsError(`${name} must be an http(s) URL, got "${value}".`)
  }
  const functionId = flags['function-id'] ?? 'letta'
  if (!/^[a-z_][a-z0-9_]*$/.test(functionId))
    throw new OptionsError(
      `--function-id must be a lower-case Python identifier (OpenWebUI's rule), got "${functionId}".`,
    )
  return {
    openwebuiUrl,
    openwebuiApiKey,
    bridgeUrl,
    bridgeApiKey,
    serverUrl,
    pipeApiKey: pick(flags['api-key'], 'PIPE_API_KEY') || bridgeApiKey,
    functionId,
    publicModels: !flags['private-models'],
  }
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    strict: true,
    options: {
      'openwebui-url': { type: 'string' },
      'openwebui-api-key': { type: 'string' },
      'bridge-url': { type: 'string' },
      'bridge-api-key': { type: 'string' },
      'server-url': { type: 'string' },
      'api-key': { type: 'string' },
      'function-id': { type: 'string' },
      'private-models': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  })
}
