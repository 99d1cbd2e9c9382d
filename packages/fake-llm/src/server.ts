import { embeddingsAnswer } from './embeddings.ts'
import type { Reply, Script } from './replies.ts'
import {
  completionBody,
  DEFAULT_REPLY,
  errorBody,
  newCompletion,
  scriptProblem,
  streamChunks,
} from './replies.ts'

/** The models `GET /v1/models` lists; Letta names them `openai-proxy/<id>`. */
export const FAKE_MODELS = ['gpt-4o-mini']

/** Bounds, so a long run keeps the fake flat. */
const REQUESTS_KEPT = 500
const SCRIPTS_KEPT = 1_000

/** One model call as the fake saw it. */
export type SeenCall = {
  at: string
  /** The script that answered, or null for the default reply. */
  match: string | null
  /** 0-based index of the reply within its script. */
  replyIndex: number
  stream: boolean
  model: string
  tools: string[]
  /** The request's messages, as sent (Letta's system prompt, history, tool results). */
  messages: unknown[]
  /** The caller went away before the answer was complete (e.g. Letta cancelled the run). */
  aborted: boolean
}

export type FakeLlm = {
  /** `http://127.0.0.1:<port>/v1`, ready for OPENAI_BASE_URL. */
  baseUrl: string
  url: string
  port: number
  addScript(script: Script): void
  calls: SeenCall[]
  reset(): void
  stop(): Promise<void>
}

type ScriptState = Script & { served: number }

type ChatBody = {
  model?: unknown
  stream?: unknown
  stream_options?: { include_usage?: unknown }
  messages?: unknown
  tools?: { function?: { name?: unknown } }[]
}

const json = (body: unknown, status = 200): Response => Response.json(body, { status })

/** Sleeps `ms`, or less when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve()
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal.addEventListener('abort', done, { once: true })
  })
}

/** The script whose marker appears latest in the conversation: the turn being answered. */
function pickScript(scripts: ScriptState[], text: string): ScriptState | undefined {
  let best: ScriptState | undefined
  let bestAt = -1
  for (const script of scripts) {
    const at = text.lastIndexOf(script.match)
    if (at > bestAt) {
      best = script
      bestAt = at
    }
  }
  return best
}

const encoder = new TextEncoder()

function sseBody(chunks: unknown[], chunkDelayMs: number, seen: SeenCall, signal: AbortSignal) {
  return new ReadableStream<Uint8Array>({
    async start(controller) {
      for (const item of chunks) {
        if (signal.aborted) break
        controller.enqueue(encoder.encode(`data: ${JSON.stringify(item)}\n\n`))
        await pause(chunkDelayMs, signal)
      }
      if (signal.aborted) {
        seen.aborted = true
        return
      }
      controller.enqueue(encoder.encode('data: [DONE]\n\n'))
      controller.close()
    },
    cancel() {
      seen.aborted = true
    },
  })
}

/** A scripted OpenAI-compatible chat-completions server on 127.0.0.1, for Letta to call. */
export function startFakeLlm(options: { port?: number } = {}): FakeLlm {
  let scripts: ScriptState[] = []
  const calls: SeenCall[] = []

  function addScript(script: Script): void {
    scripts.push({ ...script, served: 0 })
    if (scripts.length > SCRIPTS_KEPT) scripts = scripts.slice(-SCRIPTS_KEPT)
  }

  async function chatCompletions(request: Request, server: Bun.Server<unknown>) {
    const body = (await request.json().catch(() => undefined)) as ChatBody | undefined
    if (!body || !Array.isArray(body.messages)) {
      return json(
        { error: { message: 'messages is required', type: 'invalid_request_error' } },
        400,
      )
    }
    const text = JSON.stringify(body.messages)
    const script = pickScript(scripts, text)
    const replyIndex = script ? Math.min(script.served, script.replies.length - 1) : 0
    const reply: Reply = script?.replies[replyIndex] ?? DEFAULT_REPLY
    if (script) script.served++
    const stream = body.stream === true
    const seen: SeenCall = {
      at: new Date().toISOString(),
      match: script?.match ?? null,
      replyIndex,
      stream,
      model: String(body.model),
      tools: (body.tools ?? []).map((tool) => String(tool.function?.name)),
      messages: body.messages,
      aborted: false,
    }
    calls.push(seen)
    if (calls.length > REQUESTS_KEPT) calls.splice(0, calls.length - REQUESTS_KEPT)

    // A scripted silence may outlast Bun's 10 s idle timeout.
    server.timeout(request, 0)
    await pause(reply.delayMs ?? 0, request.signal)
    if (request.signal.aborted) {
      seen.aborted = true
      return new Response(null, { status: 499 })
    }
    if (reply.error) return json(errorBody(reply.error), reply.error.status)
    const completion = newCompletion(String(body.model))
    if (!stream) return json(completionBody(completion, reply, text.length))
    const chunks = streamChunks(completion, reply, {
      includeUsage: body.stream_options?.include_usage === true,
      promptChars: text.length,
    })
    return new Response(sseBody(chunks, reply.chunkDelayMs ?? 0, seen, request.signal), {
      headers: { 'content-type': 'text/event-stream; charset=utf-8' },
    })
  }

  async function control(request: Request, path: string): Promise<Response> {
    if (request.method === 'POST' && path === '/_fake/scripts') {
      const script: unknown = await request.json().catch(() => undefined)
      const problem = scriptProblem(script)
      if (problem) return json({ detail: problem }, 422)
      addScript(script as Script)
      return json({ scripts: scripts.length })
    }
    if (request.method === 'GET' && path === '/_fake/calls') {
      const match = new URL(request.url).searchParams.get('match')
      return json(match === null ? calls : calls.filter((call) => call.match === match))
    }
    if (request.method === 'POST' && path === '/_fake/reset') {
      reset()
      return json({ ok: true })
    }
    return json({ detail: 'Not Found' }, 404)
  }

  function reset(): void {
    scripts = []
    calls.length = 0
  }

  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: options.port ?? 0,
    // A fixed port (FAKE_LLM_PORT) held by a stale fake must fail loudly, not share the traffic.
    reusePort: false,
    development: false,
    async fetch(request, server) {
      const path = new URL(request.url).pathname.replace(/\/+$/, '')
      if (path.startsWith('/_fake/')) return control(request, path)
      if (request.method === 'GET' && path === '/v1/models') {
        const created = Math.floor(Date.now() / 1000)
        return json({
          object: 'list',
          data: FAKE_MODELS.map((id) => ({ id, object: 'model', created, owned_by: 'fake-llm' })),
        })
      }
      if (request.method === 'POST' && path === '/v1/chat/completions') {
        return chatCompletions(request, server)
      }
      if (request.method === 'POST' && path === '/v1/embeddings') {
        const answer = embeddingsAnswer(await request.json().catch(() => undefined))
        return json(answer.body, answer.status)
      }
      return json(
        { error: { message: `Unknown route ${path}`, type: 'invalid_request_error' } },
        404,
      )
    },
  })
  const port = server.port
  if (port === undefined) throw new Error('fake-llm did not get a TCP port')
  const url = `http://127.0.0.1:${port}`
  return {
    url,
    baseUrl: `${url}/v1`,
    port,
    addScript,
    calls,
    reset,
    stop: () => server.stop(true),
  }
}
