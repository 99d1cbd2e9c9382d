/** Query parameters as received; a repeated parameter (`tags=a&tags=b`) becomes a list. */
export type Query = Record<string, string | string[]>

/** One request as the sim saw it, for tests and benchmarks to inspect. */
export type RecordedRequest = {
  method: string
  /** Pathname without a trailing slash: the SDK calls `/v1/agents/`, callers match `/v1/agents`. */
  path: string
  query: Query
  /** Lower-case names. */
  headers: Record<string, string>
  /** Parsed JSON, else the text, else undefined; a multipart body as its fields (files named). */
  body: unknown
  /** performance.now() on arrival. */
  at: number
}

export function parseQuery(params: URLSearchParams): Query {
  const query: Query = {}
  for (const [key, value] of params) {
    const seen = query[key]
    query[key] = seen === undefined ? value : [...(Array.isArray(seen) ? seen : [seen]), value]
  }
  return query
}

export const normalizePath = (pathname: string): string =>
  pathname.length > 1 && pathname.endsWith('/') ? pathname.slice(0, -1) : pathname

/** A multipart body's fields; files as File objects (`POST /v1/folders/{id}/upload`). */
export type Multipart = { multipart: Record<string, File | string> }

export async function readBody(request: Request): Promise<unknown> {
  if (request.headers.get('content-type')?.startsWith('multipart/form-data')) {
    const form = await request.formData().catch(() => undefined)
    const multipart: Record<string, File | string> = {}
    for (const [key, value] of form ?? []) multipart[key] = value
    return { multipart } satisfies Multipart
  }
  const text = await request.text()
  if (!text) return undefined
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

export function queryList(query: Query, key: string): string[] {
  const value = query[key]
  return value === undefined ? [] : Array.isArray(value) ? value : [value]
}

export function queryValue(query: Query, key: string): string | undefined {
  return queryList(query, key).at(-1)
}

/** FastAPI's JSONResponse: `application/json`, no charset (Bun's Response.json adds one). */
export function json(body: unknown, status = 200): Response {
  return Response.json(body, { status, headers: { 'content-type': 'application/json' } })
}

/**
 * Letta's `is_1_0_sdk_version`: the SDK's package-version header, no User-Agent at all, or a
 * `letta-client/1.x` User-Agent. Anything else (curl, Bun's fetch, requests) counts as legacy.
 */
export function isSdkClient(headers: Headers): boolean {
  if (headers.get('x-stainless-package-version')) return true
  const agent = headers.get('user-agent')
  if (!agent) return true
  const parts = agent.split('/')
  const named =
    (parts.length === 3 && parts[0] === '@letta-ai' && parts[1] === 'letta-client') ||
    (parts.length === 2 && parts[0] === 'letta-client')
  return named && /^1\./.test(parts.at(-1) ?? '')
}

/** Letta validates path ids as `<primitive>-<uuid4>`. */
export function isLettaId(primitive: string, id: string): boolean {
  return new RegExp(
    `^${primitive}-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`,
  ).test(id)
}

export type Route<Context> = {
  method: string
  /** Anchored; capture groups are the path parameters. */
  pattern: RegExp
  handle: (context: Context, params: string[]) => Response | Promise<Response>
}

export type RouteMatch<Context> = { route: Route<Context>; params: string[] } | 404 | 405

/** The route for a method and path with its decoded parameters, or 404/405 like Starlette. */
export function matchRoute<Context>(
  routes: Route<Context>[],
  method: string,
  path: string,
): RouteMatch<Context> {
  let pathKnown = false
  for (const route of routes) {
    const match = route.pattern.exec(path)
    if (!match) continue
    pathKnown = true
    if (route.method === method) {
      return { route, params: match.slice(1).map((param) => decodeURIComponent(param ?? '')) }
    }
  }
  return pathKnown ? 405 : 404
}

/** What a recorded request keeps of a multipart body: each file's name, type and size. */
export function recordedBody(body: unknown): unknown {
  const fields = (body as Partial<Multipart> | undefined)?.multipart
  if (!fields) return body
  return {
    multipart: Object.fromEntries(
      Object.entries(fields).map(([key, value]) => [
        key,
        typeof value === 'string'
          ? value
          : { name: value.name, type: value.type, size: value.size },
      ]),
    ),
  }
}
