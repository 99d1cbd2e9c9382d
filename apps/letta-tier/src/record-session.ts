/**
 * What every recording case works with: one real Letta, the scripted fake model behind it, and
 * the list the exchanges are kept in. Requests go out as the SDK sends them (its headers, JSON or
 * multipart bodies); answers come back as an Exchange, with the model calls the exchange caused
 * when a case wants to show what the model was given.
 */
import type { FakeLlm, Reply } from '@letta-openwebui/fake-llm'
import { readRawEvents, recordedAgentBody } from '@letta-openwebui/letta-sim'
import type { Letta } from './kit.ts'
import type { Exchange, Recording } from './recording.ts'

/** What the SDK sends; without it Letta refuses `streaming: true` (pre-1.0 clients). */
export const SDK_HEADERS = {
  'x-stainless-package-version': '1.12.1',
  'x-stainless-lang': 'js',
}
/** No single call of these cases takes longer on the real server. */
export const CALL_TIMEOUT_MS = 120_000
/** Messages kept from the end of each model call: the turn, not Letta's long system prompt. */
const MODEL_TAIL = 3

export type Request = Exchange['request']

export const post = (path: string, body?: unknown): Request => ({ method: 'POST', path, body })

/** A file for a multipart upload (`POST /v1/folders/{id}/upload`). */
export type Upload = { name: string; type: string; text: string }

/** How long an exchange may take; a stream still open then is cut and kept as it was. */
export type ExchangeOptions = { readForMs?: number }

export type Session = {
  letta: Letta
  fake: FakeLlm
  exchange(request: Request, options?: ExchangeOptions): Promise<Exchange>
  /** `exchange`, with the tail of every model call it caused in `modelSaw`. */
  watched(request: Request): Promise<Exchange>
  upload(path: string, file: Upload): Promise<Exchange>
  /** Adds a recording; returns the exchange for chaining. */
  keep(name: string, exchange: Exchange, note?: string): Exchange
  /** Scripts the fake model; returns the marker a message must carry to get these replies. */
  script(replies: Reply[]): string
}

async function answer(request: Request, response: Response): Promise<Exchange> {
  const contentType = response.headers.get('content-type') ?? ''
  if (contentType.startsWith('text/event-stream')) {
    return { request, status: response.status, contentType, sse: await readRawEvents(response) }
  }
  const text = await response.text()
  let json: unknown = text
  try {
    json = JSON.parse(text)
  } catch {
    // kept as text
  }
  return { request, status: response.status, contentType, json }
}

let markers = 0

/** Sends a JSON request as the SDK does; the answer's body is read by the caller. */
const fetchJson = (letta: Letta, request: Request, timeoutMs = CALL_TIMEOUT_MS) =>
  fetch(`${letta.url}${request.path}`, {
    method: request.method,
    headers: { ...SDK_HEADERS, 'content-type': 'application/json' },
    body: request.body === undefined ? undefined : JSON.stringify(request.body),
    signal: AbortSignal.timeout(timeoutMs),
  })

/**
 * Streams `request` and, at the first event `when` accepts, runs `during` (the stream's run id
 * at hand) while the stream stays open; the stream is read to its end either way.
 */
export async function whileStreaming(
  s: Session,
  request: Request,
  when: (event: string) => boolean,
  during: (runId: string) => Promise<Exchange[]>,
): Promise<{ stream: Exchange; during: Exchange[] }> {
  const response = await fetchJson(s.letta, request)
  let done: Exchange[] = []
  let started = false
  const events = await readRawEvents(response, async (event) => {
    if (started || !when(event)) return
    started = true
    done = await during(/"run_id":"(run-[0-9a-f-]+)"/.exec(event)?.[1] ?? '')
  })
  return {
    stream: {
      request,
      status: response.status,
      contentType: response.headers.get('content-type') ?? '',
      sse: events,
    },
    during: done,
  }
}

export function session(letta: Letta, fake: FakeLlm, out: Recording[]): Session {
  const exchange = async (request: Request, options: ExchangeOptions = {}) =>
    answer(request, await fetchJson(letta, request, options.readForMs ?? CALL_TIMEOUT_MS))
  return {
    letta,
    fake,
    exchange,
    async watched(request) {
      const before = fake.calls.length
      const result = await exchange(request)
      const calls = fake.calls.slice(before)
      return { ...result, modelSaw: calls.map((call) => call.messages.slice(-MODEL_TAIL)) }
    },
    async upload(path, file) {
      const form = new FormData()
      form.append('file', new File([file.text], file.name, { type: file.type }))
      const request = { method: 'POST', path, body: { file: { name: file.name, type: file.type } } }
      return answer(
        request,
        await fetch(`${letta.url}${path}`, {
          method: 'POST',
          headers: SDK_HEADERS,
          body: form,
          signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
        }),
      )
    },
    keep(name, result, note) {
      out.push({ name, note, ...result })
      return result
    },
    script(replies) {
      markers++
      const match = `REC${markers}x${crypto.randomUUID().slice(0, 6)}`
      fake.addScript({ match, replies })
      return match
    },
  }
}

/** A bridge-style agent: the same create body AgentDirectory sends. */
export async function newAgent(
  s: Session,
  user: string,
): Promise<{ id: string; exchange: Exchange }> {
  const exchange = await s.exchange({
    method: 'POST',
    path: '/v1/agents/',
    body: recordedAgentBody(user),
  })
  const id = (exchange.json as { id?: string }).id
  if (!id) throw new Error(`agent create failed: ${JSON.stringify(exchange.json)}`)
  return { id, exchange }
}

/** A streamed token-mode send of one user message, as the bridge makes it. */
export const send = (content: unknown, extra: Record<string, unknown> = {}) => ({
  messages: [{ role: 'user', content, otid: crypto.randomUUID() }],
  streaming: true,
  stream_tokens: true,
  include_pings: true,
  ...extra,
})

/** The first `"<key>":"<prefix>-…"` value in an exchange (a run id, a tool call id …). */
export function firstId(exchange: Exchange, key: string, prefix: string): string {
  const text = exchange.sse?.join('\n') ?? JSON.stringify(exchange.json ?? '')
  return new RegExp(`"${key}":"(${prefix}[-_][0-9A-Za-z-]+)"`).exec(text)?.[1] ?? ''
}
