import { join } from 'node:path'
import type { BridgeEvent, ChatRequest } from '@letta-openwebui/events'
import { PROTOCOL_VERSION, ROUTES, readEvents } from '@letta-openwebui/events'
import type { LettaSim, SimOptions } from '@letta-openwebui/letta-sim'
import { startLettaSim } from '@letta-openwebui/letta-sim'
import type { Subprocess } from 'bun'
import { createLogger } from '../src/log.ts'
import type { RunningServer, ServerOptions } from '../src/server.ts'
import { startServer } from '../src/server.ts'

export const BRIDGE_KEY = 'test-bridge-key-0123456789abcdef'
export const LETTA_KEY = 'sk-let-test-letta-key-do-not-log'

export type Stack = {
  sim: LettaSim
  server: RunningServer
  logs: string[]
  stop(): Promise<void>
}

/** letta-sim + the real bridge on free loopback ports; logs captured instead of printed. */
export async function startStack(
  options: Partial<ServerOptions> = {},
  simOptions: SimOptions = {},
): Promise<Stack> {
  const sim = await startLettaSim({ pingIntervalMs: 20_000, ...simOptions })
  const logs: string[] = []
  const server = await startServer({
    port: 0,
    host: '127.0.0.1',
    lettaBaseUrl: sim.url,
    lettaApiKey: LETTA_KEY,
    bridgeApiKey: BRIDGE_KEY,
    idleTimeoutMs: 2_000,
    keepaliveMs: 5_000,
    // Letta's ordinary streams: a closed connection stops the run. resume.test.ts covers runs
    // Letta keeps (background mode), which outlive their connection.
    resumableStreams: false,
    logger: createLogger('debug', {
      secrets: [BRIDGE_KEY, LETTA_KEY],
      write: (line) => logs.push(line),
    }),
    ...options,
  })
  return {
    sim,
    server,
    logs,
    async stop() {
      await server.stop()
      await sim.stop()
    },
  }
}

export function chatBody(overrides: Partial<ChatRequest> = {}): ChatRequest {
  return {
    protocolVersion: PROTOCOL_VERSION,
    user: { id: 'user-ada', name: 'Ada', email: 'ada@example.org', role: 'user' },
    chatId: 'chat-1',
    message: 'What is a derivative?',
    ...overrides,
  }
}

export function post(
  server: { url: string },
  path: string,
  body: unknown,
  init: { key?: string | null; signal?: AbortSignal } = {},
): Promise<Response> {
  const key = init.key === undefined ? BRIDGE_KEY : init.key
  return fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(key ? { authorization: `Bearer ${key}` } : {}),
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal: init.signal,
  })
}

/** Sends one message and reads the whole event stream. */
export async function streamChat(
  server: { url: string },
  body: ChatRequest = chatBody(),
): Promise<BridgeEvent[]> {
  const response = await post(server, ROUTES.chatStream, body)
  if (!response.ok || !response.body)
    throw new Error(`HTTP ${response.status}: ${await response.text()}`)
  const events: BridgeEvent[] = []
  for await (const event of readEvents(response.body)) events.push(event)
  return events
}

/** What a reader of the stream sees: the texts, the tools and how it ended. */
export function summarize(events: BridgeEvent[]) {
  const reasoning: string[] = []
  let answer = ''
  const tools: string[] = []
  const errors: string[] = []
  for (const { event, data } of events) {
    if (event === 'reasoning.delta')
      reasoning[data.segment] = (reasoning[data.segment] ?? '') + data.text
    if (event === 'answer.delta') answer += data.text
    if (event === 'tool.started') tools.push(`start ${data.name}`)
    if (event === 'tool.finished') tools.push(`finish ${data.name} ${data.status}`)
    if (event === 'error') errors.push(data.code)
  }
  const dones = events.filter((event) => event.event === 'done')
  const last = events.at(-1)
  return {
    reasoning,
    answer,
    tools,
    errors,
    doneCount: dones.length,
    stopReason: last?.event === 'done' ? last.data.stopReason : undefined,
  }
}

/** Polls until `check` holds or the time is up (then returns false). */
export async function eventually(check: () => boolean, timeoutMs = 2_000): Promise<boolean> {
  const deadline = performance.now() + timeoutMs
  while (performance.now() < deadline) {
    if (check()) return true
    await Bun.sleep(10)
  }
  return check()
}

/**
 * A stand-in for what may sit between the bridge and Letta (a reverse proxy, a wrong address):
 * answers with `intercept` where it returns a Response, else forwards to `target` unchanged.
 */
export function startProxy(
  target: string,
  intercept: (request: Request, url: URL) => Response | undefined | Promise<Response | undefined>,
) {
  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    async fetch(request) {
      const url = new URL(request.url)
      const answer = await intercept(request, url)
      if (answer) return answer
      const headers = new Headers(request.headers)
      headers.delete('host')
      return fetch(`${target}${url.pathname}${url.search}`, {
        method: request.method,
        headers,
        body: request.method === 'GET' ? undefined : await request.arrayBuffer(),
        redirect: 'manual',
      })
    },
  })
  return { url: `http://127.0.0.1:${server.port}`, stop: () => server.stop(true) }
}

/** `eventually` for a check that has to ask over the network. */
export async function eventuallyAsync(
  check: () => Promise<boolean>,
  timeoutMs = 2_000,
): Promise<boolean> {
  const deadline = performance.now() + timeoutMs
  while (performance.now() < deadline) {
    if (await check()) return true
    await Bun.sleep(50)
  }
  return check()
}

/** A JSON response body, typed as the schema the route promises. */
export async function json<T>(response: Response): Promise<T> {
  return (await response.json()) as T
}

/** A bridge in a process of its own (a replica; one a test may SIGTERM or SIGKILL). */
export type BridgeProcess = { url: string; process: Subprocess }

/** Starts `bun src/index.ts` on a free loopback port with `env`; resolves once /health answers. */
export async function startBridgeProcess(
  env: Record<string, string>,
  dataDir: string,
): Promise<BridgeProcess> {
  const listener = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
  const port = listener.port
  listener.stop(true)
  const child = Bun.spawn(['bun', join(import.meta.dir, '../src/index.ts')], {
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      BRIDGE_API_KEY: BRIDGE_KEY,
      DATA_DIR: join(dataDir, String(port)),
      LOG_LEVEL: 'error',
      ...env,
    },
    stdout: 'ignore',
    stderr: 'inherit',
  })
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 20_000
  while (Date.now() < deadline && child.exitCode === null) {
    try {
      if ((await fetch(`${url}/health`)).ok) return { url, process: child }
    } catch {
      await Bun.sleep(100)
    }
  }
  child.kill()
  throw new Error('the bridge process did not start')
}
