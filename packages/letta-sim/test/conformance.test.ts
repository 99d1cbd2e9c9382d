/**
 * letta-sim held to the real Letta 0.16.8: the same calls the bridge makes, sent to the sim, must
 * be answered in the shape fixtures/real/ recorded from the real server (`bun run record:letta`):
 * status codes, the message_type sequence, field names and their order, value types, error bodies.
 * Values (ids, text, token counts) are not compared. Known, accepted differences are listed
 * below with their reason; a difference not listed fails, and so does a listed one that is gone.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { LettaSim, Step } from '../src/index.ts'
import {
  afterApproval,
  approvalRequest,
  errorBeforeOutput,
  readRawEvents,
  reasoningToolAnswer,
  recordedAgentBody,
  recordedPendingRequest,
  recordedSend,
  startLettaSim,
  tokenStream,
} from '../src/index.ts'

const REAL_DIR = join(import.meta.dir, '../fixtures/real')
/** The keepalive of pingSim: the recordings' 2 s, shortened. */
const PING_MS = 100

type Exchange = {
  request?: { body?: unknown }
  status: number
  contentType: string
  json?: unknown
  sse?: string[]
}

const real = (name: string): Exchange =>
  JSON.parse(readFileSync(join(REAL_DIR, `${name}.json`), 'utf8')) as Exchange

const SDK_HEADERS = {
  'content-type': 'application/json',
  'x-stainless-package-version': '1.12.1',
  'x-stainless-lang': 'js',
}

/**
 * Differences between letta-sim and the real server that are known and reported. Each entry is
 * a difference string exactly as `compare` prints it.
 */
const AGENT_DIFFERENCES = (at: string) => [
  // Letta stores the system prompt as the agent's first message at creation.
  `${at}.message_ids: empty in letta-sim`,
  // Created without `embedding`, Letta keeps none; the sim fills in openai/text-embedding-3-small.
  `${at}.embedding_config: null in Letta, object in letta-sim`,
  `${at}.embedding: null in Letta, string in letta-sim`,
]
const KNOWN_DIFFERENCES: Record<string, string[]> = {
  agent_create: [
    ...AGENT_DIFFERENCES('$'),
    // Letta gives the persona and human blocks its default descriptions.
    '$.memory.blocks[0].description: string in Letta, null in letta-sim',
    '$.blocks[0].description: string in Letta, null in letta-sim',
    // letta_v1_agent gets conversation_search, memory_replace and memory_insert by default.
    '$.tools: empty in letta-sim',
  ],
  agent_list_by_tags: AGENT_DIFFERENCES('$[0]'),
}

/*
 * Known differences the shape comparison does not see (values and behaviour), accepted:
 * - The compiled system prompt is a stand-in: the blocks' values under `<memory_blocks>`, not
 *   Letta's template (base instructions, block descriptions, metadata, recall counts).
 * - A scenario's memory tool calls (memory_insert, …) leave the sim's blocks as they are; only
 *   the blocks API changes them. On Letta the agent's own write changes the agent's memory (its
 *   conversation, like every existing one, still sees it only after a recompile).
 * - A run's messages are stored whole when it starts: a run cancelled, failed or cut mid-stream
 *   keeps its inputs and every message of its scenario.
 * - Tool-call arguments are stored as the scenario streamed them (compact JSON); Letta keeps the
 *   model's text, and derives the listed parts' otids from the message id differently.
 * - Not simulated: isolated_block_labels, compact, preview, the conversation stream route, and
 *   created_at ties (the sim orders conversations by creation, Letta by time then id).
 * - Approvals: Letta drops every image from what the model is given once the thread holds an
 *   answered approval (its OpenAI message list no longer lines up: image_after_approval_stream's
 *   model got '[Image omitted]'); the sim has no model, and its RunView shows images as sent.
 *   One tool call per request was recorded (the fake model calls one); an approve followed by
 *   a message in the same request, and `type: "tool"` returns, were not.
 * - Images: the 422 detail names the failing image field only; Letta's also lists the union
 *   members Pydantic tried. http(s) image URLs are stored without being fetched.
 * - Folders: the 415 sentence names the declared type where Letta names Python's guess from the
 *   extension; after its 500 for an unknown file id Letta also drops the connection; the skipped
 *   duplicate's `X-Upload-Result` header is not compared (headers are not recorded). Processing
 *   ends as recorded (`error`, the kit's stubbed parser) unless `fileProcessing: 'completed'`.
 */

// ---------------------------------------------------------------------------------------------
// Shapes

const typeOf = (value: unknown): string =>
  value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value

/**
 * Agent, conversation and run objects carry dozens of fields the bridge never reads: for them
 * only what letta-sim does return is checked (present in Letta, same type), not what it leaves out.
 */
const SUBSET_CASES = new Set([
  'agent_create',
  'agent_list_by_tags',
  'conversation_create',
  'run_after_cancel',
])

const LETTA_ID = /^[a-z]+-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** `{ "run-…": "cancelled" }`: keys that are ids compare as `<run-id>`, whatever the id. */
function byIdKeys(object: Record<string, unknown>): Record<string, unknown> {
  const keys = Object.keys(object)
  if (keys.length === 0 || !keys.every((key) => LETTA_ID.test(key))) return object
  return Object.fromEntries(keys.map((key) => [`<${key.split('-')[0]}-id>`, object[key]]))
}

/** Differences in shape between `real` and `sim`, as readable lines with a JSON path. */
function compare(
  realValue: unknown,
  simValue: unknown,
  path: string,
  subset = false,
  depth = 8,
): string[] {
  const realType = typeOf(realValue)
  const simType = typeOf(simValue)
  if (realType !== simType) return [`${path}: ${realType} in Letta, ${simType} in letta-sim`]
  if (depth === 0) return []
  if (realType === 'array' && isMessageList(realValue) && isMessageList(simValue)) {
    return compareMessageLists(realValue, simValue, path, subset, depth)
  }
  if (realType === 'array') {
    const [realFirst] = realValue as unknown[]
    const [simFirst] = simValue as unknown[]
    if (realFirst === undefined || simFirst === undefined) {
      return realFirst === simFirst
        ? []
        : [`${path}: ${realFirst === undefined ? 'empty in Letta' : 'empty in letta-sim'}`]
    }
    return compare(realFirst, simFirst, `${path}[0]`, subset, depth - 1)
  }
  if (realType !== 'object') return []
  const realObject = byIdKeys(realValue as Record<string, unknown>)
  const simObject = byIdKeys(simValue as Record<string, unknown>)
  const realKeys = Object.keys(realObject)
  const simKeys = Object.keys(simObject)
  const lines: string[] = []
  if (!subset) {
    for (const key of realKeys)
      if (!(key in simObject)) lines.push(`${path}.${key}: missing in letta-sim`)
  }
  for (const key of simKeys) if (!(key in realObject)) lines.push(`${path}.${key}: not in Letta`)
  const common = realKeys.filter((key) => key in simObject)
  const simOrder = simKeys.filter((key) => key in realObject)
  if (!subset && common.join() !== simOrder.join()) {
    lines.push(
      `${path}: key order ${common.join(',')} in Letta, ${simOrder.join(',')} in letta-sim`,
    )
  }
  for (const key of common) {
    lines.push(...compare(realObject[key], simObject[key], `${path}.${key}`, subset, depth - 1))
  }
  return lines
}

type Listed = { message_type: string }

/** A message list (`LettaMessageUnion[]`): every element names its message_type. */
const isMessageList = (value: unknown): value is Listed[] =>
  Array.isArray(value) &&
  value.length > 0 &&
  value.every((item) => typeof (item as Partial<Listed> | null)?.message_type === 'string')

/**
 * A message list is compared whole: the same message types in the same order (how a thread's
 * steps are stored and split into parts), then each message's shape.
 */
function compareMessageLists(
  realList: Listed[],
  simList: Listed[],
  path: string,
  subset: boolean,
  depth: number,
): string[] {
  const types = (list: Listed[]) => list.map((message) => message.message_type).join(',')
  if (types(realList) !== types(simList)) {
    return [`${path}: message types ${types(realList)} in Letta, ${types(simList)} in letta-sim`]
  }
  return realList.flatMap((message, index) =>
    compare(message, simList[index], `${path}[${index}]`, subset, depth - 1),
  )
}

type Frame = { event?: string; data: unknown; raw: string }

function frames(events: string[]): Frame[] {
  return events.map((raw) => {
    const event = /^event: (.*)$/m.exec(raw)?.[1]
    const data = raw
      .split('\n')
      .filter((line) => line.startsWith('data: '))
      .map((line) => line.slice(6))
      .join('\n')
    return { event, data: data === '[DONE]' ? '[DONE]' : JSON.parse(data), raw }
  })
}

const kind = (frame: Frame): string =>
  frame.data === '[DONE]'
    ? '[DONE]'
    : `${frame.event ? `${frame.event}:` : ''}${String((frame.data as { message_type?: string }).message_type)}`

/**
 * The frame kinds in order, repeats collapsed (`ping reasoning_message assistant_message …`):
 * how many deltas a message takes depends on the model and on timing, not on the protocol.
 */
function sequence(list: Frame[]): string {
  const out: string[] = []
  for (const frame of list) if (out.at(-1) !== kind(frame)) out.push(kind(frame))
  return out.join(' ')
}

/** Python's json.dumps (`{"a": 1}`) or Pydantic's compact JSON (`{"a":1}`). */
const layout = (frame: Frame): string => (frame.raw.includes('": ') ? 'spaced' : 'compact')

function compareStreams(realEvents: string[], simEvents: string[]): string[] {
  const realFrames = frames(realEvents)
  const simFrames = frames(simEvents)
  const lines: string[] = []
  const realSequence = sequence(realFrames)
  const simSequence = sequence(simFrames)
  if (realSequence !== simSequence) {
    lines.push(`sequence: ${realSequence} in Letta, ${simSequence} in letta-sim`)
  }
  for (const realFrame of realFrames) {
    const name = kind(realFrame)
    if (name === '[DONE]') continue
    const simFrame = simFrames.find((frame) => kind(frame) === name)
    if (!simFrame) continue
    if (realFrames.find((frame) => kind(frame) === name) !== realFrame) continue
    lines.push(...compare(realFrame.data, simFrame.data, `frame(${name})`))
    if (layout(realFrame) !== layout(simFrame)) {
      lines.push(
        `frame(${name}): ${layout(realFrame)} JSON in Letta, ${layout(simFrame)} in letta-sim`,
      )
    }
  }
  return lines
}

/** Cases whose keepalive pings were recorded on purpose (Letta ran with a 2 s keepalive). */
const KEEPALIVE_CASES = new Set([
  'background_keepalive_stream',
  'background_resume_past_end',
  'keepalive_stream',
])

/**
 * The `seq_id`s a stream shows, frame by frame: `@n` for the first number (n above the
 * request's `starting_after`), then `+1` for the next number, `+n` for a jump (chunks that
 * show no number took some), `=` for a repeat; repeats collapsed as in `sequence`. Keepalive
 * pings (a repeated number) are left out unless the case recorded them on purpose.
 */
function seqSequence(list: Frame[], startingAfter: number, keepalives: boolean): string {
  const out: string[] = []
  let previous: number | undefined
  for (const frame of list) {
    const seq = frame.data === '[DONE]' ? null : (frame.data as { seq_id?: unknown }).seq_id
    let mark = ''
    if (typeof seq === 'number') {
      const step = seq - (previous ?? startingAfter)
      mark = previous === undefined ? `@${step}` : step === 0 ? '=' : `+${step}`
      previous = seq
    }
    if (mark === '=' && kind(frame) === 'ping' && !keepalives) continue
    const token = `${kind(frame)}${mark}`
    if (out.at(-1) !== token) out.push(token)
  }
  return out.join(' ')
}

const startingAfterOf = (exchange: Exchange): number =>
  Number((exchange.request?.body as { starting_after?: unknown } | undefined)?.starting_after ?? 0)

/** Lists whose length is the point: how many runs a case left, how many messages a thread has. */
const COUNTED_CASES = new Set([
  'background_agent_runs',
  'background_runs_after_retry',
  'background_without_redis_messages',
  'background_without_redis_runs',
])

function compareExchanges(name: string, realExchange: Exchange, simExchange: Exchange): string[] {
  const lines: string[] = []
  if (realExchange.status !== simExchange.status) {
    lines.push(`status: ${realExchange.status} in Letta, ${simExchange.status} in letta-sim`)
  }
  if (realExchange.contentType !== simExchange.contentType) {
    lines.push(
      `content-type: ${realExchange.contentType} in Letta, ${simExchange.contentType} in letta-sim`,
    )
  }
  if (realExchange.sse || simExchange.sse) {
    lines.push(...compareStreams(realExchange.sse ?? [], simExchange.sse ?? []))
    const keepalives = KEEPALIVE_CASES.has(name)
    const realSeq = seqSequence(
      frames(realExchange.sse ?? []),
      startingAfterOf(realExchange),
      keepalives,
    )
    const simSeq = seqSequence(
      frames(simExchange.sse ?? []),
      startingAfterOf(simExchange),
      keepalives,
    )
    if (realSeq !== simSeq) lines.push(`seq_id: ${realSeq} in Letta, ${simSeq} in letta-sim`)
  } else {
    const [realList, simList] = [realExchange.json, simExchange.json]
    if (COUNTED_CASES.has(name) && Array.isArray(realList) && Array.isArray(simList)) {
      if (realList.length !== simList.length) {
        lines.push(`$: ${realList.length} items in Letta, ${simList.length} in letta-sim`)
      }
    }
    lines.push(...compare(realExchange.json, simExchange.json, '$', SUBSET_CASES.has(name)))
  }
  return lines
}

// ---------------------------------------------------------------------------------------------
// The same calls, to letta-sim

let sim: LettaSim
/** Like the Letta the background cases were recorded on: a short keepalive (100 ms for 2 s). */
let pingSim: LettaSim
/** Like the Letta without Redis. */
let plainSim: LettaSim

/** `on`: the sim to ask (default `sim`); `readForMs`: cut a stream that is still open then. */
type ExchangeOptions = { on?: LettaSim; readForMs?: number }

async function exchange(
  method: string,
  path: string,
  body?: unknown,
  onEvent?: (event: string) => Promise<void>,
  options: ExchangeOptions = {},
): Promise<Exchange> {
  const response = await fetch(`${(options.on ?? sim).url}${path}`, {
    method,
    headers: SDK_HEADERS,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: options.readForMs === undefined ? undefined : AbortSignal.timeout(options.readForMs),
  })
  const request = { body }
  const contentType = response.headers.get('content-type') ?? ''
  if (contentType.startsWith('text/event-stream')) {
    const sse = await readRawEvents(response, onEvent)
    return { request, status: response.status, contentType, sse }
  }
  return { request, status: response.status, contentType, json: await response.json() }
}

const send = (content: unknown, extra: Record<string, unknown> = {}) => ({
  messages: [{ role: 'user', content, otid: crypto.randomUUID() }],
  streaming: true,
  stream_tokens: true,
  include_pings: true,
  ...extra,
})

async function newAgent(user: string, on = sim) {
  const created = await exchange('POST', '/v1/agents/', recordedAgentBody(user), undefined, { on })
  return { id: (created.json as { id: string }).id, created }
}

async function newConversation(agentId: string, on = sim): Promise<string> {
  const path = `/v1/conversations/?agent_id=${agentId}`
  const created = await exchange('POST', path, {}, undefined, { on })
  return (created.json as { id: string }).id
}

/** A new agent's new conversation: the agent, and the path its messages go to. */
async function newThread(user: string, on = sim) {
  const agentId = (await newAgent(user, on)).id
  const conversationId = await newConversation(agentId, on)
  return { agentId, messages: `/v1/conversations/${conversationId}/messages` }
}

/** `exchange` on another sim. */
const askOn =
  (on: LettaSim) =>
  (method: string, path: string, body?: unknown, readForMs?: number): Promise<Exchange> =>
    exchange(method, path, body, undefined, { on, readForMs })

/** What the real recording's plain answer is: a thought, then the answer, from one LLM call. */
function reasoningThenAnswer(): Step[] {
  const id = `message-${crypto.randomUUID()}`
  const step_id = `step-${crypto.randomUUID()}`
  const reasoningOtid = crypto.randomUUID()
  const answerOtid = crypto.randomUUID()
  return [
    ...['A', ' greeting.'].map((reasoning) => ({
      frame: {
        id,
        message_type: 'reasoning_message' as const,
        otid: reasoningOtid,
        step_id,
        source: 'reasoner_model' as const,
        reasoning,
        signature: null,
      },
    })),
    ...['Hello!', ' How can I help?'].map((content) => ({
      frame: { id, message_type: 'assistant_message' as const, otid: answerOtid, step_id, content },
    })),
    // The sim's own ending (stop_reason, usage_statistics, [DONE]), as its builders write it.
    ...toolTurn().slice(-3),
  ]
}

const toolTurn = () =>
  reasoningToolAnswer({
    reasoning: 'I should note this.',
    tool: {
      name: 'memory_insert',
      arguments: { label: 'human', new_string: 'Likes tea' },
      result: 'ok',
    },
    answer: 'Noted.',
  })

/** Plays the sim side of every recorded case; returns the sim's exchange per case name. */
async function driveSim(): Promise<Record<string, Exchange>> {
  const out: Record<string, Exchange> = {}
  const agent = await newAgent('rec-plain')
  out.agent_create = agent.created
  out.agent_list_by_tags = await exchange(
    'GET',
    '/v1/agents/?tags=owui-user%3Arec-plain&tags=template%3Atutor&match_all_tags=true&limit=1',
  )
  const messages = `/v1/agents/${agent.id}/messages`
  sim.enqueue(reasoningThenAnswer())
  out.stream_answer = await exchange('POST', messages, send('Hi'))
  sim.enqueue(toolTurn())
  out.stream_tool_turn = await exchange('POST', messages, send('I like tea'))
  sim.enqueue(errorBeforeOutput({ errorType: 'llm_rate_limit' }))
  out.stream_llm_rate_limit = await exchange('POST', messages, send('Hi'))
  sim.enqueue(errorBeforeOutput({ errorType: 'llm_error' }))
  out.stream_llm_server_error = await exchange('POST', messages, send('Hi'))
  sim.enqueue(reasoningThenAnswer())
  out.nonstream_answer = await exchange('POST', messages, {
    messages: [{ role: 'user', content: 'Hi' }],
    streaming: false,
  })
  sim.enqueue(errorBeforeOutput({ errorType: 'llm_rate_limit' }))
  out.nonstream_llm_rate_limit = await exchange('POST', messages, {
    messages: [{ role: 'user', content: 'Hi' }],
    streaming: false,
  })
  sim.enqueue(tokenStream({ tokens: 300, tokensPerSecond: 50 }))
  let cancelledRun = ''
  out.stream_cancelled_by_run_id = await exchange('POST', messages, send('Long'), async (event) => {
    if (cancelledRun || !event.includes('"assistant_message"')) return
    cancelledRun = /"run_id":"(run-[0-9a-f-]+)"/.exec(event)?.[1] ?? ''
    out.cancel_running_run = await exchange('POST', `${messages}/cancel`, {
      run_ids: [cancelledRun],
    })
  })
  out.run_after_cancel = await exchange('GET', `/v1/runs/${cancelledRun}`)
  const finishedRun = /"run_id":"(run-[0-9a-f-]+)"/.exec(out.stream_answer.sse?.join('') ?? '')?.[1]
  out.cancel_finished_run = await exchange('POST', `${messages}/cancel`, { run_ids: [finishedRun] })
  const idle = await newAgent('rec-idle')
  out.cancel_idle_agent = await exchange('POST', `/v1/agents/${idle.id}/messages/cancel`, {})
  out.send_to_missing_agent = await exchange(
    'POST',
    '/v1/agents/agent-00000000-0000-4000-8000-000000000000/messages',
    send('Hi'),
  )
  out.conversation_create = await exchange('POST', `/v1/conversations/?agent_id=${agent.id}`, {})
  const conversationId = (out.conversation_create.json as { id: string }).id
  sim.enqueue(tokenStream({ tokens: 4 }))
  out.conversation_stream = await exchange('POST', `/v1/conversations/${conversationId}/messages`, {
    messages: [{ role: 'user', content: 'Hi' }],
    stream_tokens: true,
    include_pings: true,
  })
  sim.enqueue(tokenStream({ tokens: 4 }))
  out.conversation_carry_stream = await exchange(
    'POST',
    `/v1/conversations/${conversationId}/messages`,
    {
      messages: [
        { role: 'user', content: 'An earlier question' },
        { role: 'assistant', content: 'An earlier answer' },
        { role: 'user', content: 'Now' },
      ],
      stream_tokens: true,
      include_pings: true,
    },
  )
  sim.enqueue(toolTurn())
  out.conversation_tool_stream = await exchange(
    'POST',
    `/v1/conversations/${conversationId}/messages`,
    {
      messages: [{ role: 'user', content: 'I like tea' }],
      stream_tokens: true,
      include_pings: true,
    },
  )
  out.conversation_messages = await exchange(
    'GET',
    `/v1/conversations/${conversationId}/messages?order=asc`,
  )
  out.conversation_messages_default = await exchange(
    'GET',
    `/v1/conversations/default/messages?agent_id=${agent.id}&order=asc&limit=4`,
  )
  out.conversation_retrieve = await exchange('GET', `/v1/conversations/${conversationId}`)
  const inContext = (out.conversation_retrieve.json as { in_context_message_ids: string[] })
    .in_context_message_ids
  out.conversation_fork_at_message = await exchange(
    'POST',
    `/v1/conversations/${conversationId}/fork`,
    { message_id: inContext[2] },
  )
  out.conversation_messages_page = await exchange(
    'GET',
    `/v1/conversations/${conversationId}/messages?after=${inContext[2]}&limit=3`,
  )
  out.conversation_fork = await exchange('POST', `/v1/conversations/${conversationId}/fork`)
  out.conversation_update = await exchange('PATCH', `/v1/conversations/${conversationId}`, {
    summary: 'owui-chat:renamed',
  })
  out.conversation_list = await exchange('GET', `/v1/conversations/?agent_id=${agent.id}`)
  out.conversation_cancel_idle = await exchange(
    'POST',
    `/v1/conversations/${conversationId}/cancel`,
    {},
  )
  out.conversation_recompile = await exchange(
    'POST',
    `/v1/conversations/${conversationId}/recompile`,
  )
  out.conversation_delete = await exchange('DELETE', `/v1/conversations/${conversationId}`)
  out.conversation_retrieve_deleted = await exchange('GET', `/v1/conversations/${conversationId}`)
  out.conversation_messages_deleted = await exchange(
    'GET',
    `/v1/conversations/${conversationId}/messages`,
  )
  out.conversation_list_after_delete = await exchange(
    'GET',
    `/v1/conversations/?agent_id=${agent.id}`,
  )

  // Recorded with Redis: conversation locks exist only there on the real server.
  const busyAgent = await newAgent('rec-redis')
  const busyConversation = await exchange('POST', `/v1/conversations/?agent_id=${busyAgent.id}`, {})
  const busyId = (busyConversation.json as { id: string }).id
  const path = `/v1/conversations/${busyId}/messages`
  sim.enqueue(tokenStream({ tokens: 300, tokensPerSecond: 50 }))
  let started = false
  out.redis_conversation_stream_cancelled = await exchange(
    'POST',
    path,
    { messages: [{ role: 'user', content: 'Long' }], stream_tokens: true, include_pings: true },
    async (event) => {
      if (started || !event.includes('"assistant_message"')) return
      started = true
      out.redis_conversation_busy = await exchange('POST', path, {
        messages: [{ role: 'user', content: 'Are you there?' }],
        stream_tokens: true,
      })
      out.redis_conversation_cancel = await exchange(
        'POST',
        `/v1/conversations/${busyId}/cancel`,
        {},
      )
      sim.enqueue(reasoningThenAnswer())
      out.redis_agent_direct_while_conversation_busy = await exchange(
        'POST',
        `/v1/agents/${busyAgent.id}/messages`,
        send('And here?'),
      )
    },
  )
  Object.assign(out, await driveApprovals(), await driveImages(), await driveFolders())
  Object.assign(out, await driveBackground(), await driveKeepalives(), await driveWithoutRedis())
  Object.assign(out, await driveSearch())
  return out
}

// ---------------------------------------------------------------------------------------------
// Search tools with long results

/** The recorded tool return of a search case: what the sim's scenario returns in its place. */
function recordedReturn(name: string): {
  result: string
  status: 'success' | 'error'
  stderr: string[] | null
} {
  for (const raw of real(name).sse ?? []) {
    const data = raw.slice(raw.indexOf('data: ') + 6)
    if (!data.includes('"tool_return_message"')) continue
    const frame = JSON.parse(data) as {
      tool_return: string
      status: 'success' | 'error'
      stderr: string[] | null
    }
    return { result: frame.tool_return, status: frame.status, stderr: frame.stderr }
  }
  throw new Error(`${name} has no tool return`)
}

const searchTurn = (name: string, tool: string, args: Record<string, unknown>) => {
  const { result, status, stderr } = recordedReturn(name)
  return reasoningToolAnswer({
    reasoning: 'Let me look that up.',
    tool: { name: tool, arguments: args, result, status, ...(stderr ? { stderr } : {}) },
    answer: 'Found it.',
  })
}

async function driveSearch(): Promise<Record<string, Exchange>> {
  const out: Record<string, Exchange> = {}
  const created = await exchange('POST', '/v1/agents/', {
    ...recordedAgentBody('rec-search'),
    tools: ['web_search', 'fetch_webpage', 'archival_memory_insert', 'archival_memory_search'],
    embedding: 'openai/text-embedding-3-small',
  })
  const messages = `/v1/agents/${(created.json as { id: string }).id}/messages`
  sim.enqueue(searchTurn('search_conversation_stream', 'conversation_search', { query: 'Halley' }))
  out.search_conversation_stream = await exchange('POST', messages, send('What did we say?'))
  out.search_conversation_messages = await exchange('GET', `${messages}?order=desc&limit=3`)
  sim.enqueue(
    searchTurn('search_archival_insert_stream', 'archival_memory_insert', { content: 'Halley' }),
  )
  out.search_archival_insert_stream = await exchange('POST', messages, send('Keep this.'))
  sim.enqueue(
    searchTurn('search_archival_stream', 'archival_memory_search', { query: 'Halley comet' }),
  )
  out.search_archival_stream = await exchange('POST', messages, send('What do you remember?'))
  sim.enqueue(
    searchTurn('search_fetch_webpage_stream', 'fetch_webpage', { url: 'http://127.0.0.1:1/a' }),
  )
  out.search_fetch_webpage_stream = await exchange('POST', messages, send('Read this page.'))
  sim.enqueue(searchTurn('search_web_stream', 'web_search', { query: 'Halley comet' }))
  out.search_web_stream = await exchange('POST', messages, send('Search the web.'))
  return out
}

// ---------------------------------------------------------------------------------------------
// Background mode

const background = (content: unknown, extra: Record<string, unknown> = {}) =>
  send(content, { background: true, ...extra })
const seqOf = (event: string): number => Number(/"seq_id":(\d+)/.exec(event)?.[1] ?? 0)
const lastSeq = (answer: Exchange): number => Math.max(0, ...(answer.sse ?? []).map(seqOf))
const runIdOf = (answer: Exchange): string =>
  /"run_id":"(run-[0-9a-f-]+)"/.exec(answer.sse?.join('\n') ?? '')?.[1] ?? ''
const resume = (runId: string) => `/v1/runs/${runId}/stream`
const UNKNOWN_RUN = 'run-00000000-0000-4000-8000-000000000000'

/** The Redis cases that show no keepalive ping, on the sim's own 50 s keepalive. */
async function driveBackground(): Promise<Record<string, Exchange>> {
  const out: Record<string, Exchange> = {}
  const { agentId, messages } = await newThread('rec-background')
  sim.enqueue(reasoningThenAnswer())
  out.background_stream = await exchange('POST', messages, background('Hi'))
  const runId = runIdOf(out.background_stream)
  const last = lastSeq(out.background_stream)
  out.background_resume_from_start = await exchange('POST', resume(runId), { starting_after: 0 })
  out.background_resume_after_message = await exchange('POST', resume(runId), {
    starting_after: 3,
  })
  out.background_resume_after_last_message = await exchange('POST', resume(runId), {
    starting_after: last,
  })
  sim.enqueue(tokenStream({ tokens: 2 }))
  const foreground = await exchange('POST', messages, send('Hi again'))
  out.background_resume_foreground_run = await exchange('POST', resume(runIdOf(foreground)), {
    starting_after: 0,
  })
  sim.enqueue(errorBeforeOutput({ errorType: 'llm_rate_limit' }))
  out.background_error_stream = await exchange('POST', messages, background('Hi'))
  out.background_run_after_error = await exchange(
    'GET',
    `/v1/runs/${runIdOf(out.background_error_stream)}`,
  )
  sim.enqueue(errorBeforeOutput({ errorType: 'llm_rate_limit' }))
  const failed = await exchange('POST', messages, send('Hi'))
  out.run_after_error = await exchange('GET', `/v1/runs/${runIdOf(failed)}`)
  Object.assign(out, await driveBusyConversation(), await driveBusyAgent())

  const cancelId = await newConversation(agentId)
  sim.enqueue(tokenStream({ tokens: 300, tokensPerSecond: 50 }))
  let cancelling = false
  out.background_cancelled_stream = await exchange(
    'POST',
    `/v1/conversations/${cancelId}/messages`,
    background('Long'),
    async (event) => {
      if (cancelling || seqOf(event) < 8) return
      cancelling = true
      out.background_cancel = await exchange('POST', `/v1/conversations/${cancelId}/cancel`, {})
    },
  )
  const cancelled = runIdOf(out.background_cancelled_stream)
  out.background_run_after_cancel = await exchange('GET', `/v1/runs/${cancelled}`)
  out.background_resume_after_cancel = await exchange('POST', resume(cancelled), {
    starting_after: 3,
  })
  out.background_resume_unknown_run = await exchange('POST', resume(UNKNOWN_RUN), {
    starting_after: 0,
  })
  out.run_unknown = await exchange('GET', `/v1/runs/${UNKNOWN_RUN}`)
  return out
}

/** While a background run streams in a conversation: a resume, a second send, a retry. */
async function driveBusyConversation(): Promise<Record<string, Exchange>> {
  const out: Record<string, Exchange> = {}
  const { agentId, messages } = await newThread('rec-background-busy')
  const body = background('Long')
  sim.enqueue(tokenStream({ tokens: 30, tokensPerSecond: 300 }))
  let during: Promise<Exchange[]> | undefined
  out.background_live_stream = await exchange('POST', messages, body, async (event) => {
    if (during || seqOf(event) < 8) return
    during = Promise.all([
      exchange('POST', resume(runIdOf({ ...out, status: 0, contentType: '', sse: [event] })), {
        starting_after: 5,
      }),
      exchange('POST', messages, background('Are you there?')),
      exchange('POST', messages, body),
    ])
  })
  const [resumed, busy, retry] = (await during) ?? []
  Object.assign(out, {
    background_resume_mid_run: resumed,
    background_conversation_busy: busy,
    background_same_otid_retry: retry,
  })
  out.background_same_otid_retry_after_done = await exchange('POST', messages, body)
  out.background_runs_after_retry = await exchange('GET', `/v1/runs/?agent_id=${agentId}`)
  return out
}

/** The agent's own thread has no lock: a second send and a retry each start a run. */
async function driveBusyAgent(): Promise<Record<string, Exchange>> {
  const out: Record<string, Exchange> = {}
  const agent = await newAgent('rec-background-agent')
  const messages = `/v1/agents/${agent.id}/messages`
  const body = background('Long')
  sim.enqueue(tokenStream({ tokens: 30, tokensPerSecond: 300 }))
  let started = false
  await exchange('POST', messages, body, async (event) => {
    if (started || seqOf(event) < 4) return
    started = true
    sim.enqueue(tokenStream({ tokens: 1 }))
    out.background_agent_second_send = await exchange('POST', messages, background('Another'))
    sim.enqueue(tokenStream({ tokens: 30, tokensPerSecond: 300 }))
    out.background_agent_same_otid_retry = await exchange('POST', messages, body)
  })
  sim.enqueue(tokenStream({ tokens: 1 }))
  out.background_agent_stream_without_pings = await exchange(
    'POST',
    messages,
    background('Hi', { include_pings: false }),
  )
  out.background_agent_runs = await exchange('GET', `/v1/runs/?agent_id=${agent.id}`)
  return out
}

/** The cases recorded for their keepalive pings, on a sim whose keepalive is as short. */
async function driveKeepalives(): Promise<Record<string, Exchange>> {
  const out: Record<string, Exchange> = {}
  const ask = askOn(pingSim)
  const { messages } = await newThread('rec-background', pingSim)
  const afterSilence = () => [{ sleep: PING_MS * 1.5 }, ...tokenStream({ tokens: 3 })]
  pingSim.enqueue(afterSilence())
  out.background_keepalive_stream = await ask('POST', messages, background('Hi'))
  pingSim.enqueue(afterSilence())
  out.keepalive_stream = await ask('POST', messages, send('Hi'))
  pingSim.enqueue(tokenStream({ tokens: 2 }))
  const finished = await ask('POST', messages, background('Hi'))
  out.background_resume_past_end = await ask(
    'POST',
    resume(runIdOf(finished)),
    { starting_after: lastSeq(finished) + 3 },
    PING_MS * 2.5,
  )
  return out
}

/** Background mode on a Letta without Redis: refused, and what that leaves behind. */
async function driveWithoutRedis(): Promise<Record<string, Exchange>> {
  const out: Record<string, Exchange> = {}
  const ask = askOn(plainSim)
  const { agentId, messages } = await newThread('rec-background-plain', plainSim)
  const body = background('Hi')
  out.background_without_redis = await ask('POST', messages, body)
  out.background_without_redis_agent = await ask(
    'POST',
    `/v1/agents/${agentId}/messages`,
    background('Hi'),
  )
  out.background_without_redis_runs = await ask('GET', `/v1/runs/?agent_id=${agentId}`)
  const [refused] = out.background_without_redis_runs.json as Array<{ id: string }>
  out.background_resume_without_redis = await ask('POST', resume(refused?.id ?? UNKNOWN_RUN), {
    starting_after: 0,
  })
  plainSim.enqueue(tokenStream({ tokens: 3 }))
  out.background_without_redis_fallback_stream = await ask('POST', messages, {
    ...body,
    background: false,
  })
  out.background_without_redis_messages = await ask('GET', `${messages}?order=asc`)
  out.background_resume_foreground_without_redis = await ask(
    'POST',
    resume(runIdOf(out.background_without_redis_fallback_stream)),
    { starting_after: 0 },
  )
  return out
}

/** A multipart upload, as the SDK sends `folders.files.upload`. */
async function upload(path: string, file: { name: string; type: string; text: string }) {
  const form = new FormData()
  form.append('file', new File([file.text], file.name, { type: file.type }))
  const response = await fetch(`${sim.url}${path}`, {
    method: 'POST',
    headers: { 'x-stainless-package-version': '1.12.1' },
    body: form,
  })
  return {
    status: response.status,
    contentType: response.headers.get('content-type') ?? '',
    json: await response.json(),
  }
}

const TOOL = 'conversation_search'
const askForApproval = () =>
  approvalRequest({
    reasoning: 'Let me search.',
    tool: { name: TOOL, arguments: { query: 'tea' } },
  })
const { streamed, unstreamed, user, decision } = recordedSend
const pendingRequest = (answer: Exchange) => recordedPendingRequest(answer.sse)

/** Asks for approval on `path`; the answer the model then gives is `then`. */
async function ask(path: string) {
  sim.enqueue(askForApproval())
  const asked = await exchange('POST', path, streamed([user('What did I say about tea?')]))
  return { asked, ...pendingRequest(asked) }
}

/** The cases both threads share: pending refusals, approve, then an approval with nothing pending. */
async function pendingThenApprove(prefix: string, path: string) {
  const out: Record<string, Exchange> = {}
  const { asked, toolCallId } = await ask(path)
  out[`${prefix}_request_stream`] = asked
  out[`${prefix}_pending_messages`] = await exchange('GET', `${path}?order=desc&limit=10`)
  out[`${prefix}_pending_plain_stream`] = await exchange('POST', path, streamed([user('Hello?')]))
  out[`${prefix}_pending_plain_nonstream`] = await exchange(
    'POST',
    path,
    unstreamed([user('Hello?')]),
  )
  sim.enqueue(afterApproval({ result: 'No results.', answer: 'Found nothing about tea.' }))
  out[`${prefix}_approve_stream`] = await exchange(
    'POST',
    path,
    streamed([decision(toolCallId, true)]),
  )
  out[`${prefix}_nothing_pending_stream`] = await exchange(
    'POST',
    path,
    streamed([decision('call_unknown', true)]),
  )
  return { out, toolCallId }
}

async function driveApprovals(): Promise<Record<string, Exchange>> {
  const agent = await newAgent('rec-approval')
  const path = `/v1/agents/${agent.id}/messages`
  const { out, toolCallId } = await pendingThenApprove('approval', path)
  out.approval_tool_mark_sdk_body = await exchange(
    'PATCH',
    `/v1/agents/${agent.id}/tools/approval/${TOOL}`,
    { body_requires_approval: true },
  )
  out.approval_tool_mark = await exchange(
    'PATCH',
    `/v1/agents/${agent.id}/tools/approval/${TOOL}`,
    { requires_approval: true },
  )
  sim.enqueue(tokenStream({ tokens: 4 }))
  out.approval_resend_answered_stream = await exchange(
    'POST',
    path,
    streamed([decision(toolCallId, true)]),
  )
  out.approval_nothing_pending_nonstream = await exchange(
    'POST',
    path,
    unstreamed([decision('call_unknown', true)]),
  )
  const wrong = await ask(path)
  out.approval_wrong_ids_stream = await exchange(
    'POST',
    path,
    streamed([decision('call_unknown', true)]),
  )
  out.approval_wrong_ids_nonstream = await exchange(
    'POST',
    path,
    unstreamed([decision('call_unknown', true)]),
  )
  out.approval_deny_stream = await exchange(
    'POST',
    path,
    streamed([decision(wrong.toolCallId, false, 'Not now.')]),
  )
  const noReason = await ask(path)
  out.approval_deny_no_reason_stream = await exchange(
    'POST',
    path,
    streamed([decision(noReason.toolCallId, false)]),
  )
  const interrupted = await ask(path)
  out.approval_deny_then_message_stream = await exchange(
    'POST',
    path,
    streamed([
      decision(interrupted.toolCallId, false, 'The person sent a new message instead.'),
      user('Actually, just say hi.'),
    ]),
  )
  const flat = await ask(path)
  const flatForm = (id: string) => ({
    type: 'approval',
    approval_request_id: id,
    approve: false,
    reason: 'Flat no.',
  })
  out.approval_flat_message_id_stream = await exchange(
    'POST',
    path,
    streamed([flatForm(flat.messageId)]),
  )
  out.approval_flat_tool_call_id_stream = await exchange(
    'POST',
    path,
    streamed([flatForm(flat.toolCallId)]),
  )
  const quiet = await ask(path)
  sim.enqueue(afterApproval({ result: 'No results.', answer: 'Nothing about tea.' }))
  out.approval_approve_nonstream = await exchange(
    'POST',
    path,
    unstreamed([decision(quiet.toolCallId, true)]),
  )
  out.approval_messages_after = await exchange('GET', `${path}?order=desc&limit=6`)

  const created = await exchange('POST', `/v1/conversations/?agent_id=${agent.id}`, {})
  const conversationPath = `/v1/conversations/${(created.json as { id: string }).id}/messages`
  const thread = await pendingThenApprove('conversation_approval', conversationPath)
  Object.assign(out, thread.out)
  const again = await ask(conversationPath)
  sim.enqueue(tokenStream({ tokens: 2 }))
  out.conversation_approval_other_thread_nonstream = await exchange(
    'POST',
    path,
    unstreamed([user('Hi there')]),
  )
  out.conversation_approval_deny_then_message_stream = await exchange(
    'POST',
    conversationPath,
    streamed([
      decision(again.toolCallId, false, 'The person sent a new message instead.'),
      user('Actually, just say hi.'),
    ]),
  )
  sim.enqueue(tokenStream({ tokens: 3 }))
  out.image_after_approval_stream = await exchange(
    'POST',
    path,
    send(withImage('What is this?', PNG_SOURCE)),
  )
  return out
}

const TINY_PNG =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC'
const PNG_SOURCE = { type: 'base64', media_type: 'image/png', data: TINY_PNG }
const withImage = (text: string, source: unknown) => [
  { type: 'text', text },
  { type: 'image', source },
]

async function driveImages(): Promise<Record<string, Exchange>> {
  const out: Record<string, Exchange> = {}
  const agent = await newAgent('rec-image')
  const path = `/v1/agents/${agent.id}/messages`
  sim.enqueue(tokenStream({ tokens: 3 }))
  out.image_stream = await exchange('POST', path, send(withImage('What is this?', PNG_SOURCE)))
  out.image_messages = await exchange('GET', `${path}?order=desc&limit=2`)
  out.image_unknown_source = await exchange(
    'POST',
    path,
    send(withImage('What is this?', { type: 'file', data: TINY_PNG })),
  )
  out.image_missing_media_type = await exchange(
    'POST',
    path,
    send(withImage('What is this?', { type: 'base64', data: TINY_PNG })),
  )
  out.image_url_bad_scheme = await exchange(
    'POST',
    path,
    send(withImage('What is this?', { type: 'url', url: 'ftp://example.org/a.png' })),
  )
  const created = await exchange('POST', `/v1/conversations/?agent_id=${agent.id}`, {})
  sim.enqueue(tokenStream({ tokens: 3 }))
  out.conversation_image_stream = await exchange(
    'POST',
    `/v1/conversations/${(created.json as { id: string }).id}/messages`,
    send(withImage('And this?', PNG_SOURCE)),
  )
  return out
}

async function driveFolders(): Promise<Record<string, Exchange>> {
  const out: Record<string, Exchange> = {}
  const agent = await newAgent('rec-folder')
  const name = `owui-files-${agent.id}`
  out.folder_create_without_embedding = await exchange('POST', '/v1/folders/', {
    name,
    description: 'Files the person attached.',
  })
  out.folder_create = await exchange('POST', '/v1/folders/', {
    name,
    description: 'Files the person attached.',
    embedding: 'openai/text-embedding-3-small',
  })
  const folderId = (out.folder_create.json as { id: string }).id
  out.folder_list_by_name = await exchange('GET', `/v1/folders/?name=${name}&limit=1`)
  const notes = { name: 'notes.txt', type: 'text/plain', text: 'Plants need light.\n' }
  const uploadPath = `/v1/folders/${folderId}/upload?duplicate_handling=skip&name=notes.txt`
  out.folder_upload = await upload(uploadPath, notes)
  const fileId = (out.folder_upload.json as { id: string }).id
  await Bun.sleep(60)
  out.folder_file_status = await exchange('GET', `/v1/folders/${folderId}/files/${fileId}`)
  out.folder_files = await exchange('GET', `/v1/folders/${folderId}/files`)
  out.folder_upload_duplicate_skip = await upload(uploadPath, notes)
  out.folder_upload_unsupported = await upload(`/v1/folders/${folderId}/upload`, {
    name: 'tool.exe',
    type: 'application/octet-stream',
    text: 'MZ',
  })
  const agentFolder = (verb: string) =>
    exchange('PATCH', `/v1/agents/${agent.id}/folders/${verb}/${folderId}`)
  out.agent_folder_attach = await agentFolder('attach')
  out.agent_folders = await exchange('GET', `/v1/agents/${agent.id}/folders`)
  out.agent_folder_detach = await agentFolder('detach')
  out.agent_folders_after_detach = await exchange('GET', `/v1/agents/${agent.id}/folders`)
  out.folder_file_missing = await exchange(
    'GET',
    `/v1/folders/${folderId}/files/file-00000000-0000-4000-8000-000000000000`,
  )
  return out
}

const recorded = readdirSync(REAL_DIR)
  .filter((name) => name.endsWith('.json'))
  .map((name) => name.slice(0, -'.json'.length))
  .sort()
let simulated: Record<string, Exchange> = {}

beforeAll(async () => {
  // What the kit offers: its fake model by proxy, and OpenAI's embeddings at the same endpoint.
  const models = { llm: ['openai-proxy/gpt-4o-mini'], embedding: ['openai/text-embedding-3-small'] }
  sim = await startLettaSim({ models })
  pingSim = await startLettaSim({ models, pingIntervalMs: PING_MS })
  plainSim = await startLettaSim({ models, redis: false })
  simulated = await driveSim()
})
afterAll(() => Promise.all([sim.stop(), pingSim.stop(), plainSim.stop()]))

describe('letta-sim answers like the real Letta 0.16.8', () => {
  test('a long search result reaches the stream whole, as Letta streams it and stores it', () => {
    for (const name of ['search_conversation_stream', 'search_archival_stream']) {
      const recordedText = recordedReturn(name).result
      expect(recordedText.length).toBeGreaterThan(1_000)
      const simReturn = (simulated[name]?.sse ?? []).find((raw) =>
        raw.includes('"tool_return_message"'),
      )
      const frame = JSON.parse(simReturn?.slice(simReturn.indexOf('data: ') + 6) ?? '{}')
      expect(frame.tool_return).toBe(recordedText)
      expect(frame.tool_returns[0].tool_return).toBe(recordedText)
    }
    // Letta stores what it streamed: the message list shows the same whole text.
    const listed = (list: unknown) =>
      (list as { message_type: string; tool_return?: string }[]).find(
        (message) => message.message_type === 'tool_return_message',
      )?.tool_return
    const recordedList = listed(real('search_conversation_messages').json)
    expect(recordedList).toBe(recordedReturn('search_conversation_stream').result)
    expect(listed(simulated.search_conversation_messages?.json)).toBe(
      recordedReturn('search_conversation_stream').result,
    )
  })

  test('every recorded exchange is replayed against the sim', () => {
    expect(recorded.length).toBeGreaterThanOrEqual(15)
    expect(recorded.filter((name) => !(name in simulated))).toEqual([])
  })

  for (const name of recorded) {
    test(name, () => {
      const simExchange = simulated[name]
      if (!simExchange) throw new Error(`${name} was not played against the sim`)
      expect(compareExchanges(name, real(name), simExchange)).toEqual(KNOWN_DIFFERENCES[name] ?? [])
    })
  }
})
