import type { AgentCreateParams, AgentState } from '@letta-ai/letta-client/resources/agents/agents'
import type { Block } from '@letta-ai/letta-client/resources/agents/blocks'
import type { LlmConfig } from '@letta-ai/letta-client/resources/models/models'
import { newId } from './frames.ts'

/** An agent as the sim stores it: Letta's AgentState with every relationship loaded. */
export type SimAgent = AgentState

/** What `POST /v1/agents` accepts, plus a fixed id for seeding. */
export type AgentInit = AgentCreateParams & { id?: string }

/** `include` values that load relationships, or `all` for pre-1.0 clients. */
export type AgentInclude = ReadonlySet<string> | 'all'

const DEFAULT_MODEL = 'openai/gpt-4o-mini'
const DEFAULT_EMBEDDING = 'openai/text-embedding-3-small'
/** CORE_MEMORY_BLOCK_CHAR_LIMIT in Letta 0.16. */
const BLOCK_CHAR_LIMIT = 100_000
/** DEFAULT_CONTEXT_WINDOW in Letta 0.16. */
const CONTEXT_WINDOW = 128_000
/** Letta's list endpoint default page size. */
const DEFAULT_LIMIT = 50
const DEFAULT_SYSTEM =
  'You are a helpful assistant with persistent memory (simulated by letta-sim).'

const ENDPOINT_TYPES = new Set([
  'openai',
  'anthropic',
  'google_ai',
  'google_vertex',
  'azure',
  'groq',
])

function llmConfig(handle: string): LlmConfig {
  const [provider = 'openai', ...rest] = handle.split('/')
  return {
    model: rest.join('/') || provider,
    model_endpoint_type: (ENDPOINT_TYPES.has(provider)
      ? provider
      : 'openai') as LlmConfig['model_endpoint_type'],
    context_window: CONTEXT_WINDOW,
    handle,
  }
}

export function buildAgent(init: AgentInit): SimAgent {
  const now = new Date().toISOString()
  const id = init.id ?? newId('agent')
  const model = init.model ?? DEFAULT_MODEL
  const embedding = init.embedding ?? DEFAULT_EMBEDDING
  const blocks: Block[] = (init.memory_blocks ?? []).map((block) => ({
    id: newId('block'),
    label: block.label,
    value: block.value,
    limit: block.limit ?? BLOCK_CHAR_LIMIT,
    description: block.description ?? null,
    metadata: block.metadata ?? {},
    read_only: block.read_only ?? false,
    is_template: false,
  }))
  const agentType = init.agent_type ?? 'letta_v1_agent'
  return {
    id,
    name: init.name ?? `agent-${id.slice(6, 14)}`,
    agent_type: agentType,
    description: init.description ?? null,
    system: init.system ?? DEFAULT_SYSTEM,
    message_ids: [],
    metadata: init.metadata ?? null,
    llm_config: llmConfig(model),
    embedding_config: {
      embedding_model: embedding.split('/').at(-1) ?? embedding,
      embedding_endpoint_type: 'openai',
      embedding_dim: 1536,
      handle: embedding,
    },
    created_at: now,
    updated_at: now,
    timezone: init.timezone ?? 'UTC',
    tags: [...(init.tags ?? [])],
    tools: (init.tools ?? []).map((name) => ({ id: newId('tool'), name })),
    sources: [],
    memory: { blocks, agent_type: agentType, file_blocks: [], git_enabled: false },
    blocks,
    identity_ids: [],
    identities: [],
    model,
    embedding,
  }
}

/**
 * What Letta returns for an agent: SDK 1.x clients get no relationships unless `include` asks
 * (tags come with `agent.tags` or `agent.blocks`); older clients get everything.
 */
export function viewAgent(agent: SimAgent, include: AgentInclude): AgentState {
  if (include === 'all') return agent
  const blocks = include.has('agent.blocks') ? agent.blocks : []
  return {
    ...agent,
    tags: include.has('agent.tags') || include.has('agent.blocks') ? agent.tags : [],
    tools: include.has('agent.tools') ? agent.tools : [],
    sources: include.has('agent.sources') ? agent.sources : [],
    blocks,
    memory: { ...agent.memory, blocks },
    identities: include.has('agent.identities') ? (agent.identities ?? []) : [],
    identity_ids: include.has('agent.identities') ? (agent.identity_ids ?? []) : [],
  }
}

export type AgentQuery = {
  name?: string
  tags?: string[]
  matchAllTags?: boolean
  queryText?: string
  order?: 'asc' | 'desc'
  after?: string
  before?: string
  limit?: number
}

/** Filters, orders (newest first by default) and pages agents like `GET /v1/agents`. */
export function listAgents(agents: Iterable<SimAgent>, query: AgentQuery): SimAgent[] {
  const tags = query.tags ?? []
  let found = [...agents].filter(
    (agent) =>
      (query.name === undefined || agent.name === query.name) &&
      (query.queryText === undefined ||
        agent.name.toLowerCase().includes(query.queryText.toLowerCase())) &&
      (tags.length === 0 ||
        (query.matchAllTags
          ? tags.every((tag) => agent.tags.includes(tag))
          : tags.some((tag) => agent.tags.includes(tag)))),
  )
  // Map order is creation order.
  if (query.order !== 'asc') found.reverse()
  const cursor = (id: string | undefined) =>
    id === undefined ? -1 : found.findIndex((agent) => agent.id === id)
  const after = cursor(query.after)
  if (after !== -1) found = found.slice(after + 1)
  const before = cursor(query.before)
  if (before !== -1) found = found.slice(0, before)
  return found.slice(0, query.limit ?? DEFAULT_LIMIT)
}

/** The agent's memory blocks, label → value, as a system prompt compiles them. */
export function agentMemory(agent: SimAgent | undefined): Record<string, string> {
  return Object.fromEntries((agent?.blocks ?? []).map((block) => [block.label, block.value]))
}
