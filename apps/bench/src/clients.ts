import { PROTOCOL_VERSION, ROUTES, SseParser } from '@letta-openwebui/events'
import { wallClock } from './stats.ts'

/** What one stream saw: when each token arrived relative to its sender's stamp, and when. */
export type StreamRecord = {
  sentAt: number
  firstTokenAt?: number
  lastTokenAt?: number
  latencies: number[]
  tokens: number
}

/** Tokens from `tokenStream({ stamp: true })` start with the sender's wall clock. */
function record(stream: StreamRecord, text: string) {
  const now = wallClock()
  stream.tokens++
  stream.firstTokenAt ??= now
  stream.lastTokenAt = now
  const stamp = Number.parseFloat(text)
  if (Number.isFinite(stamp)) stream.latencies.push(now - stamp)
}

/** The SDK's identifying header: Letta (and letta-sim) refuse message posts without it. */
const SDK_HEADERS = { 'content-type': 'application/json', 'x-stainless-package-version': '1.12.1' }

export async function createSimAgent(simUrl: string, name: string): Promise<string> {
  const response = await fetch(`${simUrl}/v1/agents`, {
    method: 'POST',
    headers: SDK_HEADERS,
    body: JSON.stringify({
      name,
      model: 'openai/gpt-4o-mini',
      embedding: 'openai/text-embedding-3-small',
    }),
  })
  return ((await response.json()) as { id: string }).id
}

export async function enqueue(simUrl: string, scenario: unknown, count = 1): Promise<void> {
  const body = JSON.stringify({ scenario })
  for (let i = 0; i < count; i++) {
    const response = await fetch(`${simUrl}/_sim/enqueue`, {
      method: 'POST',
      body,
      headers: SDK_HEADERS,
    })
    if (!response.ok)
      throw new Error(`enqueue failed: HTTP ${response.status} ${await response.text()}`)
  }
}

/**
 * The baseline: a client reading Letta's (letta-sim's) stream directly, as cheaply as possible,
 * with the request the bridge sends by default (`background: true`, a run Letta keeps), so that
 * Letta does the same work on both sides and only the bridge's own cost is compared.
 */
export async function readDirect(
  simUrl: string,
  agentId: string,
  signal?: AbortSignal,
): Promise<StreamRecord> {
  const stream: StreamRecord = { sentAt: wallClock(), latencies: [], tokens: 0 }
  const response = await fetch(`${simUrl}/v1/agents/${agentId}/messages`, {
    method: 'POST',
    headers: SDK_HEADERS,
    body: JSON.stringify({
      messages: [{ role: 'user', content: 'bench' }],
      streaming: true,
      stream_tokens: true,
      include_pings: true,
      background: true,
    }),
    signal,
  })
  const parser = new SseParser()
  const decoder = new TextDecoder()
  try {
    for await (const chunk of response.body as ReadableStream<Uint8Array>) {
      for (const frame of parser.push(decoder.decode(chunk, { stream: true }))) {
        if (!frame.data.startsWith('{')) continue
        const message = JSON.parse(frame.data) as { message_type?: string; content?: string }
        if (message.message_type === 'assistant_message') record(stream, String(message.content))
      }
    }
  } catch (error) {
    if (!signal?.aborted) throw error
  }
  return stream
}

/** The same stream through the bridge, as the pipe reads it. */
export async function readBridge(
  bridge: { url: string; key: string },
  userId: string,
  signal?: AbortSignal,
  /** An OpenWebUI chat: its own Letta conversation (created by the first message). */
  chatId?: string,
): Promise<StreamRecord> {
  const stream: StreamRecord = { sentAt: wallClock(), latencies: [], tokens: 0 }
  const response = await fetch(`${bridge.url}${ROUTES.chatStream}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${bridge.key}` },
    body: JSON.stringify({
      protocolVersion: PROTOCOL_VERSION,
      user: { id: userId },
      ...(chatId ? { chatId } : {}),
      message: 'bench',
    }),
    signal,
  })
  if (!response.ok)
    throw new Error(`bridge answered HTTP ${response.status}: ${await response.text()}`)
  // As cheap as the direct reader: split frames, parse only the answer events.
  const parser = new SseParser()
  const decoder = new TextDecoder()
  try {
    for await (const chunk of response.body as ReadableStream<Uint8Array>) {
      for (const frame of parser.push(decoder.decode(chunk, { stream: true }))) {
        if (frame.event === 'answer.delta')
          record(stream, (JSON.parse(frame.data) as { text: string }).text)
        if (frame.event === 'error') throw new Error(`bridge error: ${frame.data}`)
      }
    }
  } catch (error) {
    if (!signal?.aborted) throw error
  }
  return stream
}

/** Runs `tasks` with at most `limit` in flight. */
export async function pool<T>(
  count: number,
  limit: number,
  task: (index: number) => Promise<T>,
): Promise<T[]> {
  const results: T[] = new Array(count)
  let next = 0
  const worker = async () => {
    while (next < count) {
      const index = next++
      results[index] = await task(index)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker))
  return results
}

/**
 * Sends `message` and takes the response head, then never reads the body: a client whose socket
 * has stopped draining. `signal` hangs it up.
 */
export async function openUnread(
  target: { url: string; key?: string; agentId?: string },
  userId: string,
  message: string,
  signal: AbortSignal,
): Promise<Response> {
  const direct = target.agentId !== undefined
  const response = await fetch(
    direct
      ? `${target.url}/v1/agents/${target.agentId}/messages`
      : `${target.url}${ROUTES.chatStream}`,
    {
      method: 'POST',
      headers: direct
        ? SDK_HEADERS
        : { 'content-type': 'application/json', authorization: `Bearer ${target.key}` },
      body: JSON.stringify(
        direct
          ? {
              messages: [{ role: 'user', content: message }],
              streaming: true,
              stream_tokens: true,
              include_pings: true,
            }
          : { protocolVersion: PROTOCOL_VERSION, user: { id: userId }, message },
      ),
      signal,
    },
  )
  if (!response.ok) throw new Error(`HTTP ${response.status}: ${await response.text()}`)
  return response
}
