/**
 * The few OpenWebUI admin routes `bun run publish` needs (OpenWebUI 0.11; CAPABILITIES.md §7).
 * Every failure becomes an OpenWebUIError whose message is one line an admin can act on.
 */

export type OpenWebUIErrorCode =
  | 'unreachable'
  | 'not_openwebui'
  | 'bad_key'
  | 'not_admin'
  | 'api_keys_disabled'
  | 'api_key_restricted'
  | 'rejected'

export class OpenWebUIError extends Error {
  override name = 'OpenWebUIError'
  constructor(
    readonly code: OpenWebUIErrorCode,
    message: string,
  ) {
    super(message)
  }
}

export type FunctionRecord = {
  id: string
  name: string
  content: string
  is_active: boolean
}

export type FunctionForm = {
  id: string
  name: string
  content: string
  meta: { description: string }
}

export type AccessGrant = { principal_type: string; principal_id: string; permission: string }

export type ModelRecord = {
  id: string
  name: string
  access_grants?: AccessGrant[]
}

export type ModelForm = {
  id: string
  name: string
  meta: { description: string }
  access_grants: AccessGrant[]
}

export type SessionUser = { id: string; email: string; role: string }

/** A slow OpenWebUI still answers its admin routes within this; a hung one is reported. */
const REQUEST_TIMEOUT_MS = 30_000

type Reply = { status: number; body: unknown }

/** "connection refused" rather than the runtime's paragraph about it. */
export function networkReason(error: unknown): string {
  const code = (error as { code?: unknown })?.code
  if (code === 'ECONNREFUSED') return 'connection refused'
  if (error instanceof Error && error.name === 'TimeoutError') return 'no answer in time'
  return error instanceof Error ? error.message : String(error)
}

const detailOf = (body: unknown): string =>
  typeof body === 'object' && body !== null && 'detail' in body ? String(body.detail) : ''

/** OpenWebUI answers "not found" on several admin routes with 401 + this detail (a quirk). */
const isNotFound = (reply: Reply) =>
  (reply.status === 401 || reply.status === 404) && /could not find/i.test(detailOf(reply.body))

export function createOpenWebUIClient(options: { url: string; apiKey: string }) {
  const base = options.url.replace(/\/+$/, '')

  async function send(method: 'GET' | 'POST', path: string, body?: unknown): Promise<Reply> {
    let response: Response
    try {
      response = await fetch(base + path, {
        method,
        headers: {
          Authorization: `Bearer ${options.apiKey}`,
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      })
    } catch (error) {
      throw new OpenWebUIError(
        'unreachable',
        `Cannot reach OpenWebUI at ${base} (${networkReason(error)}): check OPENWEBUI_URL.`,
      )
    }
    const text = await response.text()
    try {
      return { status: response.status, body: JSON.parse(text) }
    } catch {
      throw new OpenWebUIError(
        'not_openwebui',
        `${base} does not look like OpenWebUI (${method} ${path} answered HTTP ${response.status}, not JSON): check OPENWEBUI_URL.`,
      )
    }
  }

  /** Turns an error reply into the one line that tells the admin what to change. */
  function refuse(path: string, reply: Reply): never {
    const detail = detailOf(reply.body)
    if (reply.status === 403 && /api key/i.test(detail)) {
      throw new OpenWebUIError(
        'api_keys_disabled',
        "OpenWebUI does not accept API keys: turn them on (ENABLE_API_KEYS=true, or Admin Panel → Settings → Authentication → API Keys) and use an admin's key.",
      )
    }
    if (reply.status === 403) {
      throw new OpenWebUIError(
        'api_key_restricted',
        `OpenWebUI restricts what API keys may call and ${path} is not allowed: turn off the API key endpoint restrictions (Admin Panel → Settings → Authentication) or allow /api/v1/functions, /api/v1/models and /api/models.`,
      )
    }
    if (reply.status === 401 && /permission/i.test(detail)) {
      throw new OpenWebUIError(
        'not_admin',
        "OPENWEBUI_API_KEY does not belong to an admin: functions can only be installed with an admin's API key.",
      )
    }
    if (reply.status === 401) {
      throw new OpenWebUIError(
        'bad_key',
        `OpenWebUI rejected OPENWEBUI_API_KEY (${detail || 'HTTP 401'}): create a new key under Settings → Account → API Keys.`,
      )
    }
    throw new OpenWebUIError(
      'rejected',
      `OpenWebUI refused ${path} (HTTP ${reply.status}${detail ? `: ${detail}` : ''}).`,
    )
  }

  async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const reply = await send(method, path, body)
    if (reply.status >= 400) refuse(path, reply)
    return reply.body as T
  }

  /** undefined when absent (OpenWebUI's 401/404 "could not find" answer). */
  async function find<T>(path: string): Promise<T | undefined> {
    const reply = await send('GET', path)
    if (isNotFound(reply)) return undefined
    if (reply.status >= 400) refuse(path, reply)
    return reply.body as T
  }

  const fn = (id: string) => `/api/v1/functions/id/${encodeURIComponent(id)}`

  return {
    url: base,
    /** Also proves the URL is an OpenWebUI: no other server answers this shape. */
    async version(): Promise<string> {
      const reply = await send('GET', '/api/version')
      const version = (reply.body as { version?: unknown } | null)?.version
      if (reply.status !== 200 || typeof version !== 'string') {
        throw new OpenWebUIError(
          'not_openwebui',
          `${base} does not look like OpenWebUI (GET /api/version answered HTTP ${reply.status} without a version): check OPENWEBUI_URL.`,
        )
      }
      return version
    },
    sessionUser: () => call<SessionUser>('GET', '/api/v1/auths/'),
    getFunction: (id: string) => find<FunctionRecord>(fn(id)),
    createFunction: (form: FunctionForm) =>
      call<FunctionRecord>('POST', '/api/v1/functions/create', form),
    updateFunction: (form: FunctionForm) =>
      call<FunctionRecord>('POST', `${fn(form.id)}/update`, form),
    /** Flips is_active: read it first. */
    toggleFunction: (id: string) => call<FunctionRecord>('POST', `${fn(id)}/toggle`),
    getValves: async (id: string) =>
      (await call<Record<string, unknown> | null>('GET', `${fn(id)}/valves`)) ?? {},
    /** Replaces every stored valve: send the whole set. */
    setValves: (id: string, valves: Record<string, unknown>) =>
      call<Record<string, unknown>>('POST', `${fn(id)}/valves/update`, valves),
    getModel: (id: string) =>
      find<ModelRecord>(`/api/v1/models/model?id=${encodeURIComponent(id)}`),
    createModel: (form: ModelForm) =>
      call<ModelRecord>('POST', '/api/v1/models/create', {
        ...form,
        base_model_id: null,
        params: {},
      }),
    setModelAccess: (id: string, name: string, grants: AccessGrant[]) =>
      call<ModelRecord>('POST', '/api/v1/models/model/access/update', {
        id,
        name,
        access_grants: grants,
      }),
    /** What OpenWebUI offers in its model picker, asking the pipes afresh. */
    listModels: async () =>
      (await call<{ data: { id: string; name: string }[] }>('GET', '/api/models?refresh=true'))
        .data,
  }
}

export type OpenWebUIClient = ReturnType<typeof createOpenWebUIClient>
