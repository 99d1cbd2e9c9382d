import type { StopReasonType } from '@letta-ai/letta-client/resources/runs/runs'
import type { ErrorInput, FrameInput, StopReasonFrame, UsageFrame } from './frames.ts'
import { isoSeconds, newId, splitEvents, uuid } from './frames.ts'

/**
 * One thing the simulated agent does. Scenarios are plain data (they travel as JSON over
 * `POST /_sim/enqueue`); the sender fills in run ids, dates and the envelope at send time.
 */
export type Step =
  /** A message or terminal frame; `stamp` prefixes the sender's wall clock to its `content`. */
  | { frame: FrameInput; stamp?: boolean }
  /** Written verbatim: transcripts, malformed or unknown frames. */
  | { raw: string }
  /** `event: error` with an error_message payload. */
  | { error: ErrorInput }
  | { sleep: number }
  /** Nothing more (pings aside) until the client leaves or the run is cancelled. */
  | { stall: true }
  /** Cuts the connection without finishing the body. */
  | { drop: true }
  /** Background runs: the next N chunks land in Letta's copy after the `behind` (1) that follow. */
  | { landsLate: number; behind?: number }
  | { done: true }
  /** A plain HTTP error instead of a stream; only honoured as the first step. */
  | { http: number; body?: unknown }

/** A pending tool call the request answered: the call as the agent made it, and the answer. */
export type AnsweredCall = {
  toolCallId: string
  name: string
  /** The arguments as the model streamed them (JSON text). */
  arguments: string
  approve: boolean
  reason: string | null
  /** The step that asked: Letta streams the approved tool's return under it. */
  stepId: string | null
}

/** What a scenario function learns about the message it answers. */
export type ScenarioRequest = {
  agentId: string
  conversationId?: string
  text: string
  /** Set when the request answered the thread's pending approval request. */
  approvals?: AnsweredCall[]
}

/** Steps, or (in-process only) a function of the incoming message. */
export type Scenario = Step[] | ((request: ScenarioRequest) => Step[])

export function resolveScenario(scenario: Scenario, request: ScenarioRequest): Step[] {
  return typeof scenario === 'function' ? scenario(request) : scenario
}

/** Checks a scenario that arrived as JSON; returns undefined when any step is malformed. */
export function parseScenario(value: unknown): Step[] | undefined {
  return Array.isArray(value) && value.every(isStep) ? value : undefined
}

function isStep(value: unknown): value is Step {
  if (typeof value !== 'object' || value === null) return false
  const step = value as Record<string, unknown>
  const object = (field: unknown): field is Record<string, unknown> =>
    typeof field === 'object' && field !== null
  if ('frame' in step) return object(step.frame) && typeof step.frame.message_type === 'string'
  if ('raw' in step) return typeof step.raw === 'string'
  if ('error' in step) {
    const { error } = step
    return (
      object(error) && typeof error.error_type === 'string' && typeof error.message === 'string'
    )
  }
  if ('sleep' in step) return typeof step.sleep === 'number' && step.sleep >= 0
  if ('http' in step) return Number.isInteger(step.http) && Number(step.http) >= 100
  if ('landsLate' in step) {
    const positive = (count: unknown) => Number.isInteger(count) && Number(count) > 0
    return positive(step.landsLate) && (step.behind === undefined || positive(step.behind))
  }
  return step.stall === true || step.drop === true || step.done === true
}

/** Pause before a tool's result arrives, relative to the token delay (tools are slower). */
const TOOL_DELAY_FACTOR = 5
/** Characters per tool-argument fragment, roughly what providers stream. */
const ARGUMENT_FRAGMENT_CHARS = 14
/** Demo pacing: visibly streaming in a browser, still quick for suites on the default scenario. */
const DEMO_TOKEN_DELAY_MS = 3

/** One LLM call: its reasoning, text and tool-call frames share one message id (LETTA_WIRE.md). */
type LlmCall = { id: string; stepId: string }
const llmCall = (): LlmCall => ({ id: newId('message'), stepId: newId('step') })

/** Word-sized deltas that join back to exactly `text`. */
function tokens(text: string): string[] {
  return text.split(/(?=\s)/).filter(Boolean)
}

function fragments(text: string, size = ARGUMENT_FRAGMENT_CHARS): string[] {
  const parts: string[] = []
  for (let at = 0; at < text.length; at += size) parts.push(text.slice(at, at + size))
  return parts
}

const range = (count: number): number[] => Array.from({ length: count }, (_, index) => index)

/** Anthropic-style tool call id. */
const toolCallId = (): string => `toolu_01${uuid().replaceAll('-', '').slice(0, 22)}`

function reasoningFrames(call: LlmCall, chunks: string[]): FrameInput[] {
  const otid = uuid()
  return chunks.map((reasoning) => ({
    id: call.id,
    message_type: 'reasoning_message',
    otid,
    step_id: call.stepId,
    source: 'reasoner_model',
    reasoning,
    signature: null,
  }))
}

function assistantFrames(call: LlmCall, chunks: string[]): FrameInput[] {
  const otid = uuid()
  return chunks.map((content) => ({
    id: call.id,
    message_type: 'assistant_message',
    otid,
    step_id: call.stepId,
    content,
  }))
}

type ToolCallSpec = { name: string; arguments: Record<string, unknown>; id: string }

/** Token mode: a name-only delta, then the arguments as raw JSON fragments. */
function toolCallFrames(call: LlmCall, tool: ToolCallSpec): FrameInput[] {
  const otid = uuid()
  const deltas = [
    { name: tool.name, tool_call_id: tool.id },
    ...fragments(JSON.stringify(tool.arguments)).map((args) => ({
      name: tool.name,
      arguments: args,
      tool_call_id: tool.id,
    })),
  ]
  return deltas.map((delta) => ({
    id: call.id,
    message_type: 'tool_call_message',
    otid,
    step_id: call.stepId,
    tool_call: delta,
    tool_calls: delta,
  }))
}

/**
 * An approval request as Letta 0.16.8 streams it (recorded): its own message id, which is also
 * its otid; every delta names all fields, the name first (arguments null), then the fragments
 * (name null).
 */
function approvalRequestFrames(stepId: string, tool: ToolCallSpec): FrameInput[] {
  const id = newId('message')
  const deltas = [
    { name: tool.name, arguments: null, tool_call_id: tool.id },
    ...fragments(JSON.stringify(tool.arguments)).map((args) => ({
      name: null,
      arguments: args,
      tool_call_id: tool.id,
    })),
  ]
  return deltas.map((delta) => ({
    id,
    message_type: 'approval_request_message',
    otid: id,
    step_id: stepId,
    tool_call: delta,
    tool_calls: delta,
  }))
}

/** As Letta 0.16.8 sends it: `name` is the tool's, no stdout/stderr captured (null, not []). */
function toolReturnFrame(
  stepId: string,
  tool: { name: string; id: string },
  result: string,
  status: 'success' | 'error',
  stderr: string[] | null = null,
): FrameInput {
  const callId = tool.id
  return {
    id: newId('message'),
    name: tool.name,
    message_type: 'tool_return_message',
    otid: uuid(),
    step_id: stepId,
    tool_return: result,
    status,
    tool_call_id: callId,
    stdout: null,
    stderr,
    tool_returns: [
      {
        type: 'tool',
        tool_return: result,
        status,
        tool_call_id: callId,
        stdout: null,
        stderr,
      },
    ],
  }
}

const stopReason = (reason: StopReasonType): StopReasonFrame => ({
  message_type: 'stop_reason',
  stop_reason: reason,
})

function usage(steps: number, completionTokens: number): UsageFrame {
  const promptTokens = 2_000 * steps
  return {
    message_type: 'usage_statistics',
    completion_tokens: completionTokens,
    prompt_tokens: promptTokens,
    total_tokens: promptTokens + completionTokens,
    step_count: steps,
    run_ids: null,
    cached_input_tokens: null,
    cache_write_tokens: null,
    reasoning_tokens: null,
    context_tokens: promptTokens,
  }
}

/** Letta's normal ending: stop_reason → usage_statistics → [DONE]. */
function finish(reason: StopReasonType, steps: number, completionTokens: number): Step[] {
  return [{ frame: stopReason(reason) }, { frame: usage(steps, completionTokens) }, { done: true }]
}

/** A sleep step, or none for 0 ms. */
const pause = (ms: number): Step[] => (ms > 0 ? [{ sleep: ms }] : [])

/** Frame steps with a pause between consecutive ones. */
function paced(frames: FrameInput[], delayMs = 0, stamp = false): Step[] {
  return frames.flatMap((frame, index) => [
    ...(index > 0 ? pause(delayMs) : []),
    stamp ? { frame, stamp } : { frame },
  ])
}

/** Replays a recorded `.sse` transcript byte for byte (its own ping and run id included). */
export function replayTranscript(transcript: string, options: { delayMs?: number } = {}): Step[] {
  const delayMs = options.delayMs ?? 0
  return splitEvents(transcript).flatMap((raw, index) => [
    ...(index > 0 ? pause(delayMs) : []),
    { raw },
  ])
}

export type TokenStreamOptions = {
  tokens: number
  /** 0 or undefined: as fast as the connection takes them. */
  tokensPerSecond?: number
  text?: (index: number) => string
  /** Every token's text becomes the sender's wall clock (ms, 3 decimals) and a space. */
  stamp?: boolean
  /** Reasoning deltas before the answer, in the same LLM call (same message id). */
  reasoningTokens?: number
}

/** N assistant deltas sharing one id/otid, then end_turn → usage → [DONE]. */
export function tokenStream(options: TokenStreamOptions): Step[] {
  const call = llmCall()
  const delayMs = options.tokensPerSecond ? 1000 / options.tokensPerSecond : 0
  const text = options.text ?? ((index: number) => `token${index} `)
  const thinking = reasoningFrames(
    call,
    range(options.reasoningTokens ?? 0).map((index) => `thought${index} `),
  )
  const answer = assistantFrames(
    call,
    range(options.tokens).map((index) => (options.stamp ? '' : text(index))),
  )
  return [
    ...paced(thinking, delayMs),
    ...(thinking.length > 0 ? pause(delayMs) : []),
    ...paced(answer, delayMs, options.stamp),
    ...finish('end_turn', 1, thinking.length + answer.length),
  ]
}

export type ReasoningToolAnswerOptions = {
  reasoning: string
  tool: {
    name: string
    arguments: Record<string, unknown>
    /** The whole output, as Letta streams it (it does not cut a long one). */
    result: string
    status?: 'success' | 'error'
    /**
     * What a failed tool printed: Letta 0.16.8 sends the traceback of a tool that raised
     * (web_search without exa-py) as one string, a core tool's error as its sentence.
     */
    stderr?: string[]
  }
  answer: string
  /** Text the agent says before it calls the tool, in the first LLM call (its own otid). */
  preamble?: string
  tokenDelayMs?: number
}

/**
 * A two-step token-mode turn like the Anthropic transcript: reasoning and tool-call deltas of
 * one LLM call (same id, new otid), the tool's return, then a second call's answer deltas.
 */
export function reasoningToolAnswer(options: ReasoningToolAnswerOptions): Step[] {
  const delayMs = options.tokenDelayMs ?? 0
  const first = llmCall()
  const second = llmCall()
  const callId = toolCallId()
  const reasoning = tokens(options.reasoning)
  const answer = tokens(options.answer)
  return [
    ...paced(
      [
        ...reasoningFrames(first, reasoning),
        ...(options.preamble ? assistantFrames(first, tokens(options.preamble)) : []),
        ...toolCallFrames(first, { ...options.tool, id: callId }),
      ],
      delayMs,
    ),
    ...pause(delayMs * TOOL_DELAY_FACTOR),
    {
      frame: toolReturnFrame(
        first.stepId,
        { name: options.tool.name, id: callId },
        options.tool.result,
        options.tool.status ?? 'success',
        options.tool.stderr ?? null,
      ),
    },
    ...pause(delayMs),
    ...paced(assistantFrames(second, answer), delayMs),
    ...finish('end_turn', 2, reasoning.length + answer.length + 8),
  ]
}

/** A search result as Letta's `web_search` returns it (Exa: title, url, then its text fields). */
export type WebResult = {
  title: string
  url: string
  highlights?: string[]
  summary?: string
  text?: string
}

/** A turn that searches the web, gets `results` back as Letta's JSON, then answers. */
export function webSearchAnswer(query: string, results: WebResult[], answer: string): Step[] {
  return reasoningToolAnswer({
    reasoning: 'Let me search.',
    tool: { name: 'web_search', arguments: { query }, result: JSON.stringify({ query, results }) },
    answer,
  })
}

/** The user-facing messages and stop reasons of Letta's streaming error handlers. */
const STREAM_ERRORS = {
  llm_timeout: {
    stop: 'llm_api_error',
    message: 'The LLM request timed out. Please try again.',
    detail: 'Request timed out after 60.0 seconds.',
  },
  llm_rate_limit: {
    stop: 'llm_api_error',
    message:
      'Rate limit exceeded for LLM model provider. Please wait before making another request.',
    detail:
      "Rate limited by OpenAI: Error code: 429 - {'error': {'message': 'Rate limit reached'}}",
  },
  llm_authentication: {
    stop: 'llm_api_error',
    message: 'Authentication failed with the LLM model provider.',
    detail: "Error code: 401 - {'error': {'message': 'Incorrect API key provided'}}",
  },
  llm_empty_response: {
    stop: 'invalid_llm_response',
    message: 'LLM returned an empty response.',
    detail: 'No content in the LLM response.',
  },
  llm_error: {
    stop: 'llm_api_error',
    message: 'An error occurred with the LLM request.',
    detail: "Error code: 500 - {'error': {'message': 'The server had an error'}}",
  },
  internal_error: {
    stop: 'error',
    message: 'An unknown error occurred with the LLM streaming request.',
    detail: 'RuntimeError()',
  },
} as const satisfies Record<string, { stop: StopReasonType; message: string; detail: string }>

export type StreamErrorType = keyof typeof STREAM_ERRORS

/** An error before any output: stop_reason, `event: error`, then [DONE] (error_before_first_chunk.sse). */
export function errorBeforeOutput(
  options: { errorType?: StreamErrorType; message?: string; detail?: string } = {},
): Step[] {
  const errorType = options.errorType ?? 'llm_rate_limit'
  const known = STREAM_ERRORS[errorType]
  return [
    { frame: stopReason(known.stop) },
    {
      error: {
        error_type: errorType,
        message: options.message ?? known.message,
        detail: options.detail ?? known.detail,
      },
    },
    { done: true },
  ]
}

/**
 * An error after the answer started: stop_reason (twice by default, as Letta sometimes does),
 * `event: error`, and no [DONE].
 */
export function errorAfterOutput(
  options: {
    answer?: string
    stopReason?: 'error' | 'llm_api_error'
    twice?: boolean
    message?: string
    detail?: string
  } = {},
): Step[] {
  const call = llmCall()
  const stop = { frame: stopReason(options.stopReason ?? 'error') }
  return [
    ...paced(assistantFrames(call, tokens(options.answer ?? 'Let me explain this step by step.'))),
    stop,
    ...(options.twice === false ? [] : [stop]),
    {
      error: {
        error_type: 'internal_error',
        message: options.message ?? 'An error occurred during agent execution.',
        detail: options.detail ?? "Error code: 500 - {'error': {'message': 'upstream failure'}}",
      },
    },
  ]
}

const numberedAnswer = (count: number): FrameInput[] =>
  assistantFrames(
    llmCall(),
    range(count).map((index) => `part${index} `),
  )

/** N answer deltas, then the connection is cut mid-body. */
export function dropAfter(frames: number): Step[] {
  return [...paced(numberedAnswer(frames)), { drop: true }]
}

/** N answer deltas, then silence (pings aside) until the client leaves or cancels. */
export function stallAfter(frames: number): Step[] {
  return [...paced(numberedAnswer(frames)), { stall: true }]
}

/** A plain HTTP error before any stream (404, 409, 422, 429, 500 …). */
export function httpError(status: number, detail?: string): Step[] {
  return [detail === undefined ? { http: status } : { http: status, body: { detail } }]
}

/**
 * A tool that needs the user's approval: reasoning, the approval request, then
 * `requires_approval` (the thread then waits: see afterApproval for what an answer plays).
 */
export function approvalRequest(
  options: { reasoning?: string; tool?: { name: string; arguments: Record<string, unknown> } } = {},
): Step[] {
  const call = llmCall()
  const tool = options.tool ?? {
    name: 'send_email',
    arguments: { to: 'teacher@example.org', subject: 'Extension request' },
  }
  const reasoning = tokens(options.reasoning ?? 'Sending an email needs the user to approve it.')
  return [
    ...paced([
      ...reasoningFrames(call, reasoning),
      ...approvalRequestFrames(call.stepId, { ...tool, id: toolCallId() }),
    ]),
    ...finish('requires_approval', 1, reasoning.length + 6),
  ]
}

export type AfterApprovalOptions = {
  /** What an approved tool returns (default "OK"); a function answers per call. */
  result?: string | ((call: AnsweredCall) => string)
  /** Whether an approved tool failed (default success). */
  status?: 'success' | 'error'
  reasoning?: string
  /** The agent's answer (default: "Done." after an approval, else "Understood."). */
  answer?: string
}

/**
 * What follows an answer to a pending approval: each approved tool's return (streamed, under
 * the asking step, as Letta does; a denied one is stored by the sim and not streamed, as
 * recorded), then a new LLM step with the agent's answer. It is the continuation's default;
 * enqueue it (or any scenario) to script the continuation.
 */
export function afterApproval(options: AfterApprovalOptions = {}): Scenario {
  return (request) => {
    const approved = (request.approvals ?? []).filter((call) => call.approve)
    const returns = approved.map((call) =>
      toolReturnFrame(
        call.stepId ?? newId('step'),
        { name: call.name, id: call.toolCallId },
        typeof options.result === 'function' ? options.result(call) : (options.result ?? 'OK'),
        options.status ?? 'success',
      ),
    )
    const next = llmCall()
    const reasoning = tokens(options.reasoning ?? '')
    const answer = tokens(options.answer ?? (approved.length > 0 ? 'Done.' : 'Understood.'))
    return [
      ...returns.map((frame) => ({ frame })),
      ...paced([...reasoningFrames(next, reasoning), ...assistantFrames(next, answer)]),
      ...finish('end_turn', 1, reasoning.length + answer.length),
    ]
  }
}

/**
 * A send Letta refuses once its stream has started (the ping is out): stop_reason `error`, an
 * `internal_error` event, [DONE]. `message` is what Letta's handler shows (its generic sentence
 * for a ValueError, else the error's own text).
 */
export function refusedInStream(detail: string, message: string = detail): Step[] {
  return [
    { frame: stopReason('error') },
    { error: { error_type: 'internal_error', message, detail } },
    { done: true },
  ]
}

/** A run that ends before any step (no model call): the stop reason and empty usage. */
export function endedBeforeAnyStep(reason: StopReasonType): Step[] {
  return [
    { frame: stopReason(reason) },
    {
      frame: {
        ...usage(0, 0),
        prompt_tokens: 0,
        total_tokens: 0,
        context_tokens: null,
      },
    },
    { done: true },
  ]
}

/** Reasoning the provider redacted (or omitted), then the answer, from one LLM call. */
export function hiddenReasoning(
  options: { answer?: string; state?: 'redacted' | 'omitted' } = {},
): Step[] {
  const call = llmCall()
  const state = options.state ?? 'redacted'
  const answer = tokens(options.answer ?? 'Here is my answer.')
  return [
    {
      frame: {
        id: call.id,
        message_type: 'hidden_reasoning_message',
        otid: uuid(),
        step_id: call.stepId,
        state,
        // Anthropic's redacted thinking is an opaque encrypted blob: never show it.
        hidden_reasoning:
          state === 'redacted' ? 'EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVy' : null,
      },
    },
    ...paced(assistantFrames(call, answer)),
    ...finish('end_turn', 1, answer.length + 20),
  ]
}

/** A message type this SDK version does not know (a newer server), then a normal answer. */
export function unknownMessageType(
  options: { answer?: string; messageType?: string } = {},
): Step[] {
  const call = llmCall()
  const answer = tokens(options.answer ?? 'Still here.')
  const unknown = {
    id: call.id,
    date: isoSeconds(),
    name: null,
    message_type: options.messageType ?? 'future_insight_message',
    otid: uuid(),
    sender_id: null,
    step_id: call.stepId,
    is_err: null,
    seq_id: null,
    run_id: null,
    insight: { kind: 'novel', text: 'A frame from a newer Letta.' },
  }
  return [
    { raw: `data: ${JSON.stringify(unknown)}\n\n` },
    ...paced(assistantFrames(call, answer)),
    ...finish('end_turn', 1, answer.length),
  ]
}

/** A data line that is not JSON, between normal answer deltas. */
export function malformedFrame(): Step[] {
  const call = llmCall()
  const [before, after] = [tokens('Before the glitch '), tokens('and after it.')]
  return [
    ...paced(assistantFrames(call, before)),
    { raw: `data: {"id":"${call.id}","message_type":"assistant_message","content":"trunc\n\n` },
    ...paced(assistantFrames(call, after)),
    ...finish('end_turn', 1, before.length + after.length),
  ]
}

/** One answer frame whose content alone is `bytes` long, then a normal end. */
export function oversizedFrame(bytes: number): Step[] {
  const filler = 'All work and no play makes a very long frame. '
  const content = filler.repeat(Math.ceil(bytes / filler.length)).slice(0, bytes)
  return [
    ...paced(assistantFrames(llmCall(), [content])),
    ...finish('end_turn', 1, Math.ceil(bytes / 4)),
  ]
}

const REMEMBER = /\b(my name is|i am|i'm|call me|remember)\b/i

/**
 * Demo mode's answer to any message: thinks about it, uses a memory tool, and replies as a
 * tutor who quotes the student — saying plainly that this is a simulation.
 */
export function demoScenario(request: ScenarioRequest): Step[] {
  const text = request.text.trim().replace(/\s+/g, ' ')
  const quote = text.length > 80 ? `${text.slice(0, 77)}…` : text || '(an empty message)'
  const remembers = REMEMBER.test(text)
  return reasoningToolAnswer({
    reasoning: remembers
      ? `The student told me something about themselves: “${quote}”. I should keep that in memory.`
      : `The student asks: “${quote}”. Let me check my notes before I answer.`,
    tool: remembers
      ? { name: 'core_memory_append', arguments: { label: 'human', content: text }, result: 'None' }
      : {
          name: 'archival_memory_search',
          arguments: { query: text.slice(0, 60) },
          result: '[]',
        },
    answer: remembers
      ? `Nice to meet you! I noted: “${quote}”. (Demo mode: a simulated Letta agent, nothing ` +
        'is stored. Set LETTA_BASE_URL and LETTA_API_KEY for your real tutor.)'
      : `Good question: “${quote}”. What do you already know about it? (Demo mode: a simulated ` +
        'Letta agent answers. Set LETTA_BASE_URL and LETTA_API_KEY for your real tutor.)',
    tokenDelayMs: DEMO_TOKEN_DELAY_MS,
  })
}
