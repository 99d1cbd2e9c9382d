/**
 * What the fake model answers, as plain data (scripts travel as JSON over `POST /_fake/scripts`),
 * and how one answer becomes OpenAI chat-completions wire format.
 */

export type ToolCallReply = { name: string; arguments: Record<string, unknown> }

export type Reply = {
  /** Silence before the response starts (no headers, no byte): a slow or overloaded provider. */
  delayMs?: number
  /** An OpenAI-style HTTP error instead of an answer (429 rate limit, 500 server error …). */
  error?: { status: number; message?: string }
  /** Streamed as `delta.reasoning_content` (DeepSeek/vLLM style), returned as `reasoning_content`. */
  reasoning?: string
  content?: string
  toolCalls?: ToolCallReply[]
  /** Pause between streamed chunks. */
  chunkDelayMs?: number
}

/**
 * A script answers the model calls whose messages contain `match` (a marker the test puts in its
 * user message), one reply per call, in order; the last reply answers every further call.
 */
export type Script = { match: string; replies: Reply[] }

/** What the model says when no script matches: a short thought and a short answer. */
export const DEFAULT_REPLY: Reply = {
  reasoning: 'The user wrote to me. I will answer briefly.',
  content: 'Hello! This is the fake model answering.',
}

/** OpenAI's error bodies for the statuses tests ask for. */
const ERRORS: Record<number, { type: string; code: string | null; message: string }> = {
  429: {
    type: 'requests',
    code: 'rate_limit_exceeded',
    message: 'Rate limit reached for requests. Please try again in 20s.',
  },
  500: {
    type: 'server_error',
    code: null,
    message: 'The server had an error while processing your request. Sorry about that!',
  },
  503: {
    type: 'server_error',
    code: null,
    message: 'The engine is currently overloaded, please try again later.',
  },
}

export function errorBody(error: NonNullable<Reply['error']>): unknown {
  const known = ERRORS[error.status] ?? {
    type: 'invalid_request_error',
    code: null,
    message: 'The request failed.',
  }
  return {
    error: {
      message: error.message ?? known.message,
      type: known.type,
      param: null,
      code: known.code,
    },
  }
}

/** Word-sized pieces that join back to exactly `text`. */
export function words(text: string): string[] {
  return text.split(/(?=\s)/).filter(Boolean)
}

/** Characters per streamed tool-argument fragment, roughly what OpenAI sends. */
const ARGUMENT_FRAGMENT_CHARS = 12

function fragments(text: string): string[] {
  const parts: string[] = []
  for (let at = 0; at < text.length; at += ARGUMENT_FRAGMENT_CHARS) {
    parts.push(text.slice(at, at + ARGUMENT_FRAGMENT_CHARS))
  }
  return parts
}

type Delta = Record<string, unknown>

/** One completion's identity, shared by all its chunks. */
export type Completion = { id: string; created: number; model: string }

export function newCompletion(model: string): Completion {
  return {
    id: `chatcmpl-${crypto.randomUUID().replaceAll('-', '').slice(0, 24)}`,
    created: Math.floor(Date.now() / 1000),
    model,
  }
}

const toolCallId = (): string => `call_${crypto.randomUUID().replaceAll('-', '').slice(0, 24)}`

const finishReason = (reply: Reply): string =>
  reply.toolCalls && reply.toolCalls.length > 0 ? 'tool_calls' : 'stop'

/** Rough token counts: enough for Letta's usage statistics, not a tokenizer. */
function usage(promptChars: number, reply: Reply) {
  const completionChars =
    (reply.reasoning ?? '').length +
    (reply.content ?? '').length +
    JSON.stringify(reply.toolCalls ?? []).length
  const prompt_tokens = Math.ceil(promptChars / 4)
  const completion_tokens = Math.ceil(completionChars / 4)
  return { prompt_tokens, completion_tokens, total_tokens: prompt_tokens + completion_tokens }
}

function chunk(completion: Completion, delta: Delta, finish: string | null = null) {
  return {
    ...completion,
    object: 'chat.completion.chunk',
    system_fingerprint: null,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  }
}

/** The `chat.completion.chunk` objects of a streamed answer, in OpenAI's order. */
export function streamChunks(
  completion: Completion,
  reply: Reply,
  options: { includeUsage: boolean; promptChars: number },
): unknown[] {
  const chunks: unknown[] = [chunk(completion, { role: 'assistant', content: '' })]
  for (const piece of words(reply.reasoning ?? '')) {
    chunks.push(chunk(completion, { reasoning_content: piece }))
  }
  for (const piece of words(reply.content ?? '')) chunks.push(chunk(completion, { content: piece }))
  for (const [index, call] of (reply.toolCalls ?? []).entries()) {
    chunks.push(
      chunk(completion, {
        tool_calls: [
          {
            index,
            id: toolCallId(),
            type: 'function',
            function: { name: call.name, arguments: '' },
          },
        ],
      }),
    )
    for (const part of fragments(JSON.stringify(call.arguments))) {
      chunks.push(chunk(completion, { tool_calls: [{ index, function: { arguments: part } }] }))
    }
  }
  chunks.push(chunk(completion, {}, finishReason(reply)))
  if (options.includeUsage) {
    chunks.push({
      ...completion,
      object: 'chat.completion.chunk',
      system_fingerprint: null,
      choices: [],
      usage: usage(options.promptChars, reply),
    })
  }
  return chunks
}

/** The `chat.completion` object of a non-streamed answer. */
export function completionBody(completion: Completion, reply: Reply, promptChars: number) {
  const toolCalls = (reply.toolCalls ?? []).map((call) => ({
    id: toolCallId(),
    type: 'function',
    function: { name: call.name, arguments: JSON.stringify(call.arguments) },
  }))
  return {
    ...completion,
    object: 'chat.completion',
    system_fingerprint: null,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: reply.content ?? null,
          ...(reply.reasoning ? { reasoning_content: reply.reasoning } : {}),
          ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
          refusal: null,
        },
        logprobs: null,
        finish_reason: finishReason(reply),
      },
    ],
    usage: usage(promptChars, reply),
  }
}

/** Checks a script that arrived as JSON; returns an error sentence, or undefined when valid. */
export function scriptProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return 'a script is an object'
  const script = value as Record<string, unknown>
  if (typeof script.match !== 'string' || script.match.length < 3) {
    return 'match must be a marker string of at least 3 characters'
  }
  if (!Array.isArray(script.replies) || script.replies.length === 0) {
    return 'replies must be a non-empty list'
  }
  for (const reply of script.replies as unknown[]) {
    if (typeof reply !== 'object' || reply === null) return 'each reply is an object'
    const { error, toolCalls, delayMs, chunkDelayMs } = reply as Record<string, unknown>
    if (error !== undefined) {
      const status = (error as { status?: unknown })?.status
      if (!Number.isInteger(status) || Number(status) < 400) return 'error.status must be >= 400'
    }
    if (toolCalls !== undefined && !Array.isArray(toolCalls)) return 'toolCalls must be a list'
    for (const delay of [delayMs, chunkDelayMs]) {
      if (delay !== undefined && (typeof delay !== 'number' || delay < 0 || delay > 600_000)) {
        return 'delays are milliseconds between 0 and 600000'
      }
    }
  }
  return undefined
}
