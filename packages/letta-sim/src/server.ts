import type { Run as LettaRun } from '@letta-ai/letta-client/resources/agents/messages'
import type { HealthResponse } from '@letta-ai/letta-client/resources/top-level'
import type { Server } from 'bun'
import type { AgentInclude, AgentInit } from './agents.ts'
import { agentMemory, buildAgent, listAgents, viewAgent } from './agents.ts'
import { collectRun } from './collect.ts'
import { invalidContent } from './content.ts'
import type { ConversationInit, ConversationSort, SimConversation } from './conversations.ts'
import {
  buildConversation,
  isoMicros,
  listConversations,
  updateConversation,
} from './conversations.ts'
import { foldSteps } from './fold.ts'
import { FOLDER_ROUTES } from './folder-routes.ts'
import type { Query, Route } from './http.ts'
import { isLettaId, isSdkClient, json, queryList, queryValue } from './http.ts'
import { listMessages } from './messages.ts'
import { embeddingModel, llmModel, unknownHandle } from './models.ts'
import {
  agentNotFound,
  agentNotFoundPlain,
  BACKGROUND_NEEDS_REDIS,
  backgroundNeedsRedis,
  conversationBusy,
  conversationNotFound,
  droppedResponse,
  errorResponse,
  httpStepResponse,
  invalidBody,
  invalidPathId,
  invalidRunId,
  lettaResponse,
  noActiveRuns,
  notInBackgroundMode,
  resumeNeedsRedis,
  runNotFound,
  unprocessable,
} from './responses.ts'
import { readLog } from './run-log.ts'
import type { Run, RunType } from './runs.ts'
import { settleRun } from './runs.ts'
import type { SimState } from './state.ts'
import { streamRun } from './stream.ts'
import { agentThread, runTrace } from './threads.ts'
import type { Mode, Target } from './turns.ts'
import { inputMessages, planTurn } from './turns.ts'

/** The Letta server release whose wire letta-sim imitates. */
export const LETTA_VERSION = '0.16.8'

/** Letta's default page of `GET /v1/conversations`. */
const CONVERSATIONS_PAGE = 50

/** Starlette's StreamingResponse adds the charset to text media types. */
const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8' }

/** One request to a Letta route. */
export type LettaCall = {
  request: Request
  server: Server<unknown>
  state: SimState
  query: Query
  body: unknown
}

type Body = Record<string, unknown>

const strings = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : []

const asBody = (body: unknown): Body | undefined =>
  typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Body) : undefined

/** Agent CRUD can be slowed down to test what happens while an agent is still being resolved. */
async function agentLatency(state: SimState): Promise<void> {
  if (state.settings.agentLatencyMs > 0) await Bun.sleep(state.settings.agentLatencyMs)
}

/** SDK 1.x clients get only the relationships they `include`; older clients get all of them. */
function includeOf(call: LettaCall): AgentInclude {
  return isSdkClient(call.request.headers) ? new Set(queryList(call.query, 'include')) : 'all'
}

function health(): Response {
  const body: HealthResponse = { version: LETTA_VERSION, status: 'ok' }
  return json(body)
}

async function createAgent(call: LettaCall): Promise<Response> {
  await agentLatency(call.state)
  const body = asBody(call.body ?? {})
  if (!body)
    return unprocessable('Input should be a valid dictionary or object to extract fields from')
  // Ids are Letta's to choose; only in-process seeding may fix one.
  const { id: _ignored, ...init } = body
  const refused = unknownHandle(call.state.settings.models, init)
  if (refused) return json({ detail: refused.detail }, refused.status)
  const agent = buildAgent(init as AgentInit)
  call.state.agents.set(agent.id, agent)
  // Letta stores the agent's system prompt as the first message of its own thread.
  call.state.threads.open(agentThread(agent.id), agentMemory(agent))
  return json(agent)
}

async function listAgentsRoute(call: LettaCall): Promise<Response> {
  await agentLatency(call.state)
  const { query } = call
  const limit = Number(queryValue(query, 'limit'))
  const found = listAgents(call.state.agents.values(), {
    name: queryValue(query, 'name'),
    tags: queryList(query, 'tags'),
    matchAllTags: queryValue(query, 'match_all_tags') === 'true',
    queryText: queryValue(query, 'query_text'),
    order: queryValue(query, 'order') === 'asc' ? 'asc' : 'desc',
    after: queryValue(query, 'after'),
    before: queryValue(query, 'before'),
    limit: Number.isInteger(limit) && limit > 0 ? limit : undefined,
  })
  const include = includeOf(call)
  return json(found.map((agent) => viewAgent(agent, include)))
}

async function retrieveAgent(call: LettaCall, [agentId = '']: string[]): Promise<Response> {
  if (!isLettaId('agent', agentId)) return invalidPathId('agent_id', 'agent', agentId)
  await agentLatency(call.state)
  const agent = call.state.agents.get(agentId)
  return agent ? json(viewAgent(agent, includeOf(call))) : agentNotFound(agentId)
}

async function deleteAgent(call: LettaCall, [agentId = '']: string[]): Promise<Response> {
  if (!isLettaId('agent', agentId)) return invalidPathId('agent_id', 'agent', agentId)
  await agentLatency(call.state)
  if (!call.state.agents.delete(agentId)) return agentNotFound(agentId)
  return json({ message: `Agent id=${agentId} successfully deleted` })
}

/** An agent's block by label, like Letta's `get_block_with_label_async` / its 404. */
function agentBlock(call: LettaCall, agentId: string, label: string) {
  const agent = call.state.agents.get(agentId)
  if (!agent) return agentNotFound(agentId)
  const block = agent.blocks.find((candidate) => candidate.label === label)
  return (
    block ??
    json({ detail: `NOT_FOUND: No block with label '${label}' found for agent '${agentId}'` }, 404)
  )
}

function listBlocks(call: LettaCall, [agentId = '']: string[]): Response {
  if (!isLettaId('agent', agentId)) return invalidPathId('agent_id', 'agent', agentId)
  const agent = call.state.agents.get(agentId)
  return agent ? json(agent.blocks) : agentNotFound(agentId)
}

function retrieveBlock(call: LettaCall, [agentId = '', label = '']: string[]): Response {
  if (!isLettaId('agent', agentId)) return invalidPathId('agent_id', 'agent', agentId)
  const block = agentBlock(call, agentId, label)
  return block instanceof Response ? block : json(block)
}

/**
 * `PATCH …/core-memory/blocks/{label}`: like Letta 0.16.8, this API checks neither the block's
 * limit nor `read_only` (which only binds the agent's own memory tools): callers must.
 */
function modifyBlock(call: LettaCall, [agentId = '', label = '']: string[]): Response {
  if (!isLettaId('agent', agentId)) return invalidPathId('agent_id', 'agent', agentId)
  const block = agentBlock(call, agentId, label)
  if (block instanceof Response) return block
  const update = asBody(call.body) ?? {}
  if (typeof update.value === 'string') block.value = update.value
  if (typeof update.limit === 'number') block.limit = update.limit
  if (typeof update.description === 'string') block.description = update.description
  return json(block)
}

const hasInput = (body: Body): boolean =>
  (Array.isArray(body.messages) && body.messages.length > 0) ||
  (body.input !== undefined && body.input !== null)

/** The agent's memory blocks, label → value, as a system prompt compiles them. */
const memoryOf = (state: SimState, agentId: string) => agentMemory(state.agents.get(agentId))

/** An SSE response reading a run's log (see readLog), sent once its first byte is there. */
async function logResponse(
  call: LettaCall,
  run: Run,
  reading: { after: number; includePings: boolean },
): Promise<Response> {
  const { state } = call
  call.server.timeout(call.request, 0)
  const reader = readLog(run.log, {
    runId: run.id,
    ...reading,
    pingIntervalMs: state.settings.pingIntervalMs,
    signal: call.request.signal,
    counters: state.streams,
  })
  await reader.ready
  return new Response(reader.body, { headers: SSE_HEADERS })
}

/** A send's message otids, joined: Letta's request token for spotting a retry. */
function requestKey(input: unknown[]): string | undefined {
  const otids = input
    .map((message) => asBody(message)?.otid)
    .filter((otid): otid is string => typeof otid === 'string' && otid !== '')
  return otids.length > 0 ? otids.join('|') : undefined
}

/** `send_conversation_message` for a conversation; agent-direct sends are `send_message`. */
const runTypeOf = (target: Target): RunType =>
  target.conversationId ? 'send_conversation_message' : 'send_message'

/**
 * Letta creates the run of a background send before it finds Redis missing: the run is left
 * failed, nothing runs and nothing is stored, so the same send may go again in the foreground.
 */
function refuseBackground(state: SimState, target: Target): Response {
  const { agentId, conversationId } = target
  const run = state.runs.start({
    agentId,
    conversationId,
    runType: runTypeOf(target),
    background: true,
  })
  run.refused = true
  run.error = BACKGROUND_NEEDS_REDIS
  run.open = false
  settleRun(run, 'failed')
  return backgroundNeedsRedis()
}

/** Plays the next scenario for a target: an HTTP error, a stream or a JSON LettaResponse. */
async function play(
  call: LettaCall,
  target: Target,
  mode: Mode,
  input: unknown[],
): Promise<Response> {
  const { state } = call
  const { redis } = state.settings
  // The conversation lock lives in Redis: a Letta without it lets two runs into one thread.
  const lockKey = redis ? target.lockKey : undefined
  const key = redis && mode.streaming ? requestKey(input) : undefined
  // A background send whose otids started a run already reads that run from its start; Letta
  // looks before it takes the lock, so such a retry is never refused as busy.
  const earlier = mode.background && lockKey && key ? state.runs.byRequestKey(key) : undefined
  if (earlier) return logResponse(call, earlier, { after: 0, includePings: mode.includePings })
  const holder = lockKey ? state.runs.holder({ agentId: target.agentId, lockKey }) : undefined
  if (holder) return conversationBusy(holder.id)
  if (mode.background && !redis) return refuseBackground(state, target)
  const threadKey = target.conversationId ?? agentThread(target.agentId)
  const turn = planTurn(state, target, mode, state.threads.get(threadKey) ?? [], input)
  if (turn instanceof Response) return turn
  const { steps } = turn
  const first = steps[0]
  if (first && 'http' in first) return httpStepResponse(first, target.agentId)

  // A stall may outlast Bun's idle timeout; pings (if any) are the sim's own business.
  call.server.timeout(call.request, 0)
  // Letta keeps processing a send whose client left (the run is shielded), so this wait is not
  // cut short by the request's signal.
  if (state.settings.runStartLatencyMs > 0) await Bun.sleep(state.settings.runStartLatencyMs)
  // The run's input joins its thread; its answers follow, under the ids its frames carry.
  const memory = memoryOf(state, target.agentId)
  const context = state.threads.input(threadKey, turn.input, memory, turn.before)
  const run = state.runs.start({
    ...target,
    lockKey,
    runType: runTypeOf(target),
    background: mode.background,
    requestKey: key,
    context,
  })
  run.context = { ...context, ...runTrace(state.threads.answer(threadKey, run.id, steps)) }
  if (mode.streaming) {
    const answer = streamRun(run, mode.streamTokens ? steps : foldSteps(steps), {
      includePings: mode.includePings,
      pingIntervalMs: state.settings.pingIntervalMs,
      counters: state.streams,
      signal: call.request.signal,
    })
    await answer.ready
    return new Response(answer.body, { headers: SSE_HEADERS })
  }
  const collected = await collectRun(run, foldSteps(steps), call.request.signal)
  if (collected.dropped) return droppedResponse()
  if (collected.error) return errorResponse(collected.error)
  return json(lettaResponse(collected))
}

/** Letta's checks on `send_message`, in its order, before anything runs. */
async function sendAgentMessage(call: LettaCall, [agentId = '']: string[]): Promise<Response> {
  if (!isLettaId('agent', agentId)) return invalidPathId('agent_id', 'agent', agentId)
  const body = asBody(call.body)
  if (!body)
    return unprocessable('Input should be a valid dictionary or object to extract fields from')
  const invalid = invalidContent(inputMessages(body))
  if (invalid) return invalidBody(invalid)
  if (!hasInput(body)) return unprocessable('Messages must not be empty')
  const streaming = body.streaming === true
  if (!streaming) {
    const misuse = [
      body.stream_tokens === true && 'stream_tokens can only be true when streaming=true',
      body.include_pings === false && 'include_pings can only be set to false when streaming=true',
      body.background === true && 'background can only be true when streaming=true',
    ].filter(Boolean)
    if (misuse.length > 0) {
      return unprocessable(
        `Streaming options set without streaming enabled. ${misuse.join('; ')}. ` +
          'Either set streaming=true or use default values for streaming options.',
      )
    }
  }
  if (streaming && call.state.settings.requireSdkHeader && !isSdkClient(call.request.headers)) {
    return unprocessable('streaming=true is only supported for SDK v1.0+ clients.')
  }
  if (!call.state.agents.has(agentId)) return agentNotFound(agentId)
  return play(
    call,
    { agentId },
    {
      streaming,
      streamTokens: body.stream_tokens === true,
      includePings: body.include_pings !== false,
      background: streaming && body.background === true,
      route: 'agents',
    },
    inputMessages(body),
  )
}

/**
 * `PATCH /v1/agents/{id}/tools/approval/{tool_name}`: `{requires_approval}` in the body, or
 * (deprecated) the query parameter with no body. Letta keeps it as a `requires_approval` tool
 * rule, whatever the tool; the sim's scenarios decide what the agent calls, the rule is there
 * for tests to read. The body SDK 1.12.1's `updateApproval` sends
 * (`{body_requires_approval}`) is refused with 422, as by Letta 0.16.8 (recorded).
 */
function modifyToolApproval(call: LettaCall, [agentId = '', toolName = '']: string[]): Response {
  if (!isLettaId('agent', agentId)) return invalidPathId('agent_id', 'agent', agentId)
  let requires: boolean | undefined
  if (call.body !== undefined) {
    const body = asBody(call.body) ?? {}
    const errors = [
      typeof body.requires_approval !== 'boolean' &&
        `{'type': 'missing', 'loc': ('body', 'requires_approval'), 'msg': 'Field required'}`,
      ...Object.keys(body)
        .filter((key) => key !== 'requires_approval')
        .map(
          (key) =>
            `{'type': 'extra_forbidden', 'loc': ('body', '${key}'), 'msg': 'Extra inputs are not permitted'}`,
        ),
    ].filter(Boolean)
    if (errors.length > 0) return invalidBody(`[${errors.join(', ')}]`)
    requires = body.requires_approval === true
  } else {
    const query = queryValue(call.query, 'requires_approval')
    if (query === undefined) {
      return unprocessable(
        'requires_approval must be provided either in request body or as query parameter',
      )
    }
    requires = query === 'true'
  }
  const agent = call.state.agents.get(agentId)
  if (!agent) return agentNotFound(agentId)
  const rules = (agent.tool_rules ?? []).filter(
    (rule) => !(rule.type === 'requires_approval' && rule.tool_name === toolName),
  )
  agent.tool_rules = requires
    ? [...rules, { type: 'requires_approval', tool_name: toolName }]
    : rules
  return json(isSdkClient(call.request.headers) ? null : agent)
}

/** `GET /v1/agents/{id}/messages`: the agent's own thread, newest page listed oldest first. */
function listAgentMessages(call: LettaCall, [agentId = '']: string[]): Response {
  if (!isLettaId('agent', agentId)) return invalidPathId('agent_id', 'agent', agentId)
  if (!call.state.agents.has(agentId)) return agentNotFound(agentId)
  return json(listMessages(call.state.threads.get(agentThread(agentId)) ?? [], call.query, true))
}

/** Cancels the given runs; unknown ids are reported `failed`, like Letta. */
function cancelRuns(call: LettaCall, runIds: string[]): Response {
  const results: Record<string, 'cancelled' | 'failed'> = {}
  for (const runId of runIds) {
    const run = call.state.runs.get(runId)
    if (run) call.state.runs.cancel(run)
    results[runId] = run ? 'cancelled' : 'failed'
  }
  return json(results)
}

function cancelAgentRuns(call: LettaCall, [agentId = '']: string[]): Response {
  if (!isLettaId('agent', agentId)) return invalidPathId('agent_id', 'agent', agentId)
  const named = strings(asBody(call.body)?.run_ids)
  const requested = named.length > 0 ? named : null
  const runIds = requested ?? call.state.runs.running({ agentId }).map((run) => run.id)
  call.state.cancels.push({ agentId, requested, runIds, at: performance.now() })
  if (runIds.length === 0) return noActiveRuns({ agentId })
  return cancelRuns(call, runIds)
}

async function createConversation(call: LettaCall): Promise<Response> {
  const agentId = queryValue(call.query, 'agent_id')
  if (!agentId) {
    return unprocessable(
      "[{'type': 'missing', 'loc': ('query', 'agent_id'), 'msg': 'Field required', 'input': None}]",
    )
  }
  await agentLatency(call.state)
  if (!call.state.agents.has(agentId)) return agentNotFoundPlain()
  const conversation = buildConversation(agentId, (asBody(call.body) ?? {}) as ConversationInit)
  call.state.conversations.set(conversation.id, conversation)
  // Compiled with the memory as it is now. Like Letta, the answer (built before the system
  // message is stored) lists no in-context ids; a retrieve does.
  call.state.threads.open(conversation.id, memoryOf(call.state, agentId))
  return json(conversation)
}

/** The latest completion among a conversation's kept runs. */
function lastRunCompletion(state: SimState, conversationId: string): string | undefined {
  return state.runs
    .list({ conversationId, order: 'asc', limit: Number.MAX_SAFE_INTEGER })
    .map((run) => run.completedAt)
    .filter((at): at is string => at !== undefined)
    .sort()
    .at(-1)
}

/** `GET /v1/conversations`: newest first, 50 a page; like Letta, without in-context ids. */
function listConversationsRoute(call: LettaCall): Response {
  const { query, state } = call
  const orderBy = queryValue(query, 'order_by') ?? 'created_at'
  if (!['created_at', 'last_message_at', 'last_run_completion'].includes(orderBy)) {
    return unprocessable(
      `[{'type': 'literal_error', 'loc': ('query', 'order_by'), 'msg': "Input should be 'created_at', 'last_run_completion' or 'last_message_at'", 'input': '${orderBy}'}]`,
    )
  }
  const limit = Number(queryValue(query, 'limit') ?? CONVERSATIONS_PAGE)
  const found = listConversations([...state.conversations.values()], {
    agentId: queryValue(query, 'agent_id'),
    summarySearch: queryValue(query, 'summary_search'),
    after: queryValue(query, 'after'),
    order: queryValue(query, 'order') === 'asc' ? 'asc' : 'desc',
    orderBy: orderBy as ConversationSort,
    limit: Number.isInteger(limit) && limit >= 0 ? limit : CONVERSATIONS_PAGE,
    lastRunCompletion: (conversationId) => lastRunCompletion(state, conversationId),
  })
  const after = queryValue(query, 'after') ?? ''
  return found ? json(found) : conversationNotFound(after)
}

/** A conversation as `retrieve` shows it: with its thread's message ids. */
function withInContext(state: SimState, conversation: SimConversation): SimConversation {
  const thread = state.threads.get(conversation.id) ?? []
  return { ...conversation, in_context_message_ids: thread.map((message) => message.id) }
}

/** A conversation id in the path, or the answer Letta gives when it is malformed or unknown. */
function knownConversation(state: SimState, conversationId: string): SimConversation | Response {
  if (!isLettaId('conv', conversationId)) {
    return invalidPathId('conversation_id', 'conv', conversationId)
  }
  return state.conversations.get(conversationId) ?? conversationNotFound(conversationId)
}

function retrieveConversation(call: LettaCall, [conversationId = '']: string[]): Response {
  const conversation = knownConversation(call.state, conversationId)
  if (conversation instanceof Response) return conversation
  return json(withInContext(call.state, conversation))
}

/** `PATCH /v1/conversations/{id}`: summary, model, model_settings or last_message_at. */
function patchConversation(call: LettaCall, [conversationId = '']: string[]): Response {
  const body = asBody(call.body)
  if (!body)
    return unprocessable('Input should be a valid dictionary or object to extract fields from')
  const conversation = knownConversation(call.state, conversationId)
  if (conversation instanceof Response) return conversation
  updateConversation(conversation, body)
  return json(conversation)
}

/**
 * `conversation_id` may be a conversation, or agent-direct mode: `default` with an agent id,
 * or (deprecated) the agent id itself. Agent-direct mode locks on the agent.
 */
function resolveConversation(
  state: SimState,
  conversationId: string,
  agentId: unknown,
): Target | Response {
  if (conversationId === 'default' && typeof agentId === 'string') {
    return { agentId, lockKey: agentId }
  }
  if (isLettaId('agent', conversationId))
    return { agentId: conversationId, lockKey: conversationId }
  if (!isLettaId('conv', conversationId)) {
    return invalidPathId('conversation_id', 'conv', conversationId)
  }
  const conversation = state.conversations.get(conversationId)
  if (!conversation) return conversationNotFound(conversationId)
  return { agentId: conversation.agent_id, conversationId, lockKey: conversationId }
}

async function sendConversationMessage(
  call: LettaCall,
  [conversationId = '']: string[],
): Promise<Response> {
  const body = asBody(call.body)
  if (!body)
    return unprocessable('Input should be a valid dictionary or object to extract fields from')
  const invalid = invalidContent(inputMessages(body))
  if (invalid) return invalidBody(invalid)
  if (!hasInput(body)) return unprocessable('Messages must not be empty')
  const target = resolveConversation(call.state, conversationId, body.agent_id)
  if (target instanceof Response) return target
  if (!call.state.agents.has(target.agentId)) return agentNotFound(target.agentId)
  const conversation = target.conversationId
    ? call.state.conversations.get(target.conversationId)
    : undefined
  if (conversation) conversation.last_message_at = isoMicros()
  // Conversations stream by default.
  const streaming = body.streaming !== false
  const mode = {
    streaming,
    streamTokens: body.stream_tokens === true,
    includePings: body.include_pings !== false,
    background: streaming && body.background === true,
    route: 'conversations' as const,
  }
  return play(call, target, mode, inputMessages(body))
}

function cancelConversationRuns(call: LettaCall, [conversationId = '']: string[]): Response {
  const target = resolveConversation(call.state, conversationId, queryValue(call.query, 'agent_id'))
  if (target instanceof Response) return target
  const running = call.state.runs.running({
    agentId: target.agentId,
    conversationId: target.conversationId ?? null,
  })
  const runIds = running.map((run) => run.id)
  call.state.cancels.push({
    agentId: target.agentId,
    ...(target.conversationId ? { conversationId: target.conversationId } : {}),
    requested: null,
    runIds,
    at: performance.now(),
  })
  if (runIds.length === 0) return noActiveRuns({ conversationId })
  return cancelRuns(call, runIds)
}

/**
 * `GET /v1/conversations/{id}/messages` (see listMessages). Like Letta 0.16.8, a conversation
 * id it does not know (deleted, say) lists nothing rather than 404.
 */
function listConversationMessages(call: LettaCall, [conversationId = '']: string[]): Response {
  const target = resolveConversation(call.state, conversationId, queryValue(call.query, 'agent_id'))
  if (target instanceof Response) return target.status === 404 ? json([]) : target
  const key = target.conversationId ?? agentThread(target.agentId)
  return json(listMessages(call.state.threads.get(key) ?? [], call.query))
}

/**
 * `POST /v1/conversations/{id}/fork`: a new conversation with the thread's messages and a fresh
 * system prompt. Letta 0.16.x ignores `message_id` and copies everything; with `forkAtMessage`
 * (Letta Cloud) the copy ends with that message.
 */
function forkConversation(call: LettaCall, [conversationId = '']: string[]): Response {
  const { state } = call
  const target = resolveConversation(state, conversationId, queryValue(call.query, 'agent_id'))
  if (target instanceof Response) return target
  const source = state.threads.get(target.conversationId ?? agentThread(target.agentId)) ?? []
  const messageId = asBody(call.body)?.message_id ?? queryValue(call.query, 'message_id')
  const cut = state.settings.forkAtMessage && typeof messageId === 'string'
  const end = cut ? source.findIndex((message) => message.id === messageId) : -1
  if (cut && end === -1)
    return json({ detail: `Message ${messageId} not found in conversation` }, 404)
  const copied = cut ? source.slice(0, end + 1) : source
  // A fork keeps the source conversation's model override.
  const origin = target.conversationId ? state.conversations.get(target.conversationId) : undefined
  const conversation = buildConversation(target.agentId, { model: origin?.model ?? null })
  conversation.model_settings = origin?.model_settings ?? null
  state.conversations.set(conversation.id, conversation)
  state.threads.open(conversation.id, memoryOf(state, target.agentId), copied)
  // Letta 0.16.8 answers with `in_context_message_ids: []` (recorded); a later retrieve lists
  // the copy. With forkAtMessage the answer lists them, ending with `message_id` (unverified:
  // Letta Cloud is not tested).
  return json(cut ? withInContext(state, conversation) : conversation)
}

/**
 * `POST /v1/conversations/{id}/recompile[?dry_run=true]`: the system prompt compiled again with
 * today's memory, returned as a string and (unless a dry run) stored in place of the thread's
 * system message. Agent-direct mode takes its agent id in the body, unlike fork and list.
 */
function recompileConversation(call: LettaCall, [conversationId = '']: string[]): Response {
  const { state } = call
  const target = resolveConversation(state, conversationId, asBody(call.body)?.agent_id)
  if (target instanceof Response) return target
  const memory = memoryOf(state, target.agentId)
  const key = target.conversationId ?? agentThread(target.agentId)
  if (!state.threads.get(key)) state.threads.open(key, memory)
  return json(state.threads.recompile(key, memory, queryValue(call.query, 'dry_run') === 'true'))
}

/** `DELETE /v1/conversations/{id}`: gone from lists and lookups (Letta soft-deletes it). */
function deleteConversation(call: LettaCall, [conversationId = '']: string[]): Response {
  const conversation = knownConversation(call.state, conversationId)
  if (conversation instanceof Response) return conversation
  call.state.conversations.delete(conversationId)
  call.state.threads.delete(conversationId)
  return json(null)
}

/** The message options a run records (`LettaRequestConfig`), as the bridge's sends leave them. */
const REQUEST_CONFIG = {
  use_assistant_message: true,
  assistant_message_tool_name: 'send_message',
  assistant_message_tool_kwarg: 'message',
  include_return_message_types: null,
}

/** Letta's `Run` schema; the sim derives the stop reason from how the run ended. */
function viewRun(run: Run): LettaRun {
  const stopReasons = {
    running: null,
    completed: 'end_turn',
    failed: 'error',
    cancelled: 'cancelled',
  } as const
  const ended = run.status === 'completed' || run.status === 'failed'
  // Letta times runs that end on their own (or are refused); not cancelled or failed ones.
  const timed = run.completedAt && (run.status === 'completed' || run.refused)
  return {
    id: run.id,
    status: run.status,
    created_at: run.createdAt,
    completed_at: run.completedAt ?? null,
    agent_id: run.agentId,
    conversation_id: run.conversationId ?? null,
    base_template_id: null,
    background: run.log !== undefined,
    metadata: { run_type: run.runType, ...(run.error === undefined ? {} : { error: run.error }) },
    request_config: REQUEST_CONFIG,
    // A run that ended stops for the reason its stream gave (requires_approval, llm_api_error …);
    // one refused before it ran has none.
    stop_reason: run.refused ? null : (ended && run.stopReason) || stopReasons[run.status],
    callback_url: null,
    callback_sent_at: null,
    callback_status_code: null,
    callback_error: null,
    ttft_ns: null,
    total_duration_ns: timed
      ? (Date.parse(run.completedAt ?? '') - Date.parse(run.createdAt)) * 1_000_000
      : null,
  }
}

/** `GET /v1/runs`: `active` means created or running, like Letta's backwards-compatible filter. */
function listRuns(call: LettaCall): Response {
  const { query } = call
  const statuses = queryList(query, 'statuses')
  const limit = Number(queryValue(query, 'limit') ?? 100)
  const active = queryValue(query, 'active') === 'true'
  const found = call.state.runs.list({
    agentId: queryValue(query, 'agent_id'),
    conversationId: queryValue(query, 'conversation_id'),
    statuses: statuses.length > 0 ? statuses : active ? ['created', 'running'] : undefined,
    order: queryValue(query, 'order') === 'asc' ? 'asc' : 'desc',
    limit: Number.isInteger(limit) && limit > 0 ? limit : 100,
  })
  return json(found.map(viewRun))
}

/** The run a path names, or Letta's answer for a malformed or unknown id. */
function knownRun(state: SimState, runId: string): Run | Response {
  if (!isLettaId('run', runId)) return invalidRunId(runId)
  return state.runs.get(runId) ?? runNotFound(runId)
}

function retrieveRun(call: LettaCall, [runId = '']: string[]): Response {
  const run = knownRun(call.state, runId)
  return run instanceof Response ? run : json(viewRun(run))
}

/** `starting_after` as Pydantic reads it (an integer, or a string of one), else its 422. */
function startingAfter(body: Body | undefined): number | Response {
  const value = body?.starting_after ?? 0
  if (typeof value === 'number' && Number.isInteger(value)) return value
  if (typeof value === 'string' && /^\s*-?\d+\s*$/.test(value)) return Number(value)
  const input = typeof value === 'string' ? `'${value}'` : JSON.stringify(value)
  return invalidBody(
    `[{'type': 'int_parsing', 'loc': ('body', 'starting_after'), 'msg': 'Input should be a ` +
      `valid integer, unable to parse string as an integer', 'input': ${input}}]`,
  )
}

/**
 * `POST /v1/runs/{run_id}/stream`: a background run's chunks numbered above `starting_after`,
 * then the rest as it comes, to the run's end (Letta reads them from its Redis stream). Checked
 * in Letta's order: the body, the id, the run, background mode, Redis.
 */
async function resumeRun(call: LettaCall, [runId = '']: string[]): Promise<Response> {
  const body = asBody(call.body)
  const after = startingAfter(body)
  if (after instanceof Response) return after
  const run = knownRun(call.state, runId)
  if (run instanceof Response) return run
  if (!run.log) return notInBackgroundMode()
  if (!call.state.settings.redis) return resumeNeedsRedis()
  // Letta reads the options off a body that is not there: an AttributeError, its generic 500.
  if (!body) return json({ detail: 'An unknown error occurred' }, 500)
  return logResponse(call, run, { after, includePings: body.include_pings !== false })
}

const listModels = (call: LettaCall): Response => json(call.state.settings.models.llm.map(llmModel))
const listEmbeddingModels = (call: LettaCall): Response =>
  json(call.state.settings.models.embedding.map(embeddingModel))

const ID = '([^/]+)'

/** A Letta older than 0.16.2 has no conversation routes: FastAPI's bare 404. */
const conversationRoute =
  (handle: Route<LettaCall>['handle']): Route<LettaCall>['handle'] =>
  (call, params) =>
    call.state.settings.conversations ? handle(call, params) : json({ detail: 'Not Found' }, 404)

/** The Letta V1 routes the bridge uses, at the paths the SDK calls (trailing slashes removed). */
export const LETTA_ROUTES: Route<LettaCall>[] = [
  { method: 'GET', pattern: /^\/v1\/health$/, handle: health },
  { method: 'POST', pattern: /^\/v1\/agents$/, handle: createAgent },
  { method: 'GET', pattern: /^\/v1\/agents$/, handle: listAgentsRoute },
  { method: 'GET', pattern: new RegExp(`^/v1/agents/${ID}$`), handle: retrieveAgent },
  { method: 'DELETE', pattern: new RegExp(`^/v1/agents/${ID}$`), handle: deleteAgent },
  { method: 'POST', pattern: new RegExp(`^/v1/agents/${ID}/messages$`), handle: sendAgentMessage },
  { method: 'GET', pattern: new RegExp(`^/v1/agents/${ID}/messages$`), handle: listAgentMessages },
  {
    method: 'PATCH',
    pattern: new RegExp(`^/v1/agents/${ID}/tools/approval/${ID}$`),
    handle: modifyToolApproval,
  },
  {
    method: 'GET',
    pattern: new RegExp(`^/v1/agents/${ID}/core-memory/blocks$`),
    handle: listBlocks,
  },
  {
    method: 'GET',
    pattern: new RegExp(`^/v1/agents/${ID}/core-memory/blocks/${ID}$`),
    handle: retrieveBlock,
  },
  {
    method: 'PATCH',
    pattern: new RegExp(`^/v1/agents/${ID}/core-memory/blocks/${ID}$`),
    handle: modifyBlock,
  },
  {
    method: 'POST',
    pattern: new RegExp(`^/v1/agents/${ID}/messages/cancel$`),
    handle: cancelAgentRuns,
  },
  {
    method: 'POST',
    pattern: /^\/v1\/conversations$/,
    handle: conversationRoute(createConversation),
  },
  {
    method: 'GET',
    pattern: /^\/v1\/conversations$/,
    handle: conversationRoute(listConversationsRoute),
  },
  {
    method: 'GET',
    pattern: new RegExp(`^/v1/conversations/${ID}$`),
    handle: conversationRoute(retrieveConversation),
  },
  {
    method: 'POST',
    pattern: new RegExp(`^/v1/conversations/${ID}/messages$`),
    handle: conversationRoute(sendConversationMessage),
  },
  {
    method: 'POST',
    pattern: new RegExp(`^/v1/conversations/${ID}/cancel$`),
    handle: conversationRoute(cancelConversationRuns),
  },
  {
    method: 'GET',
    pattern: new RegExp(`^/v1/conversations/${ID}/messages$`),
    handle: conversationRoute(listConversationMessages),
  },
  {
    method: 'POST',
    pattern: new RegExp(`^/v1/conversations/${ID}/fork$`),
    handle: conversationRoute(forkConversation),
  },
  {
    method: 'POST',
    pattern: new RegExp(`^/v1/conversations/${ID}/recompile$`),
    handle: conversationRoute(recompileConversation),
  },
  {
    method: 'PATCH',
    pattern: new RegExp(`^/v1/conversations/${ID}$`),
    handle: conversationRoute(patchConversation),
  },
  {
    method: 'DELETE',
    pattern: new RegExp(`^/v1/conversations/${ID}$`),
    handle: conversationRoute(deleteConversation),
  },
  { method: 'GET', pattern: /^\/v1\/runs$/, handle: listRuns },
  { method: 'GET', pattern: /^\/v1\/models$/, handle: listModels },
  { method: 'GET', pattern: /^\/v1\/models\/embedding$/, handle: listEmbeddingModels },
  { method: 'GET', pattern: new RegExp(`^/v1/runs/${ID}$`), handle: retrieveRun },
  { method: 'POST', pattern: new RegExp(`^/v1/runs/${ID}/stream$`), handle: resumeRun },
  ...FOLDER_ROUTES,
]
