/**
 * A small in-memory OpenWebUI 0.11 admin API with the quirks the tier measured on the real one:
 * a missing function answers 401 "could not find", new functions are inactive, /toggle flips,
 * valves/update replaces the stored set, API keys can be switched off (403).
 */
export type FakeFunction = { id: string; name: string; content: string; is_active: boolean }
export type FakeGrant = { principal_type: string; principal_id: string; permission: string }
/** What the routes below read from a JSON body (function form, model form or valves). */
type Body = Record<string, unknown> & {
  id: string
  name: string
  content: string
  access_grants: FakeGrant[]
}

const NOT_FOUND = "We could not find what you're looking for :/"
const PROHIBITED =
  'You do not have permission to access this resource. Please contact your administrator for assistance.'

export function startFakeOpenWebUI(options: { templates: string[] }) {
  const state = {
    apiKeysEnabled: true,
    role: 'admin',
    functions: new Map<string, FakeFunction>(),
    valves: new Map<string, Record<string, unknown>>(),
    models: new Map<string, { id: string; name: string; access_grants: FakeGrant[] }>(),
    toggles: 0,
  }
  const json = (body: unknown, status = 200) => Response.json(body, { status })
  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(request) {
      const url = new URL(request.url)
      const path = url.pathname
      if (path === '/api/version') return json({ version: '0.11.0' })
      if (!state.apiKeysEnabled)
        return json({ detail: 'Use of API key is not enabled in the environment.' }, 403)
      if (path === '/api/v1/auths/') return json({ id: 'u1', email: 'a@b.c', role: state.role })
      if (state.role !== 'admin') return json({ detail: PROHIBITED }, 401)
      const body = (request.method === 'POST' ? await request.json().catch(() => ({})) : {}) as Body
      if (path === '/api/v1/functions/create') {
        const fn = { id: body.id, name: body.name, content: body.content, is_active: false }
        state.functions.set(fn.id, fn)
        return json(fn)
      }
      const match = path.match(/^\/api\/v1\/functions\/id\/([^/]+)(\/.*)?$/)
      if (match) {
        const fn = state.functions.get(match[1] ?? '')
        if (!fn) return json({ detail: NOT_FOUND }, 401)
        const action = match[2] ?? ''
        if (action === '') return json(fn)
        if (action === '/update') {
          Object.assign(fn, { name: body.name, content: body.content })
          return json(fn)
        }
        if (action === '/toggle') {
          state.toggles += 1
          fn.is_active = !fn.is_active
          return json(fn)
        }
        if (action === '/valves') return json(state.valves.get(fn.id) ?? null)
        if (action === '/valves/update') {
          state.valves.set(fn.id, body)
          return json(body)
        }
      }
      if (path === '/api/models') {
        const active = [...state.functions.values()].filter((fn) => fn.is_active)
        return json({
          data: active.flatMap((fn) =>
            options.templates.map((name) => ({ id: `${fn.id}.${name}`, name: `Letta/${name}` })),
          ),
        })
      }
      if (path === '/api/v1/models/model') {
        const model = state.models.get(url.searchParams.get('id') ?? '')
        return model ? json(model) : json({ detail: NOT_FOUND }, 404)
      }
      if (path === '/api/v1/models/create' || path === '/api/v1/models/model/access/update') {
        const model = { id: body.id, name: body.name, access_grants: body.access_grants }
        state.models.set(model.id, model)
        return json(model)
      }
      return json({ detail: 'Not Found' }, 404)
    },
  })
  return { url: `http://127.0.0.1:${server.port}`, state, stop: () => server.stop(true) }
}
