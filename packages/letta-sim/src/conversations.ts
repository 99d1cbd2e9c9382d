import type { Conversation } from '@letta-ai/letta-client/resources/conversations/conversations'
import { newId } from './frames.ts'

/** Fields of `POST /v1/conversations` the sim keeps (the agent id travels in the query). */
export type ConversationInit = {
  model?: string | null
  summary?: string | null
}

/** The user Letta names as creator when it runs without auth (one default user). */
const DEFAULT_USER = 'user-00000000-0000-4000-8000-000000000000'

/**
 * A conversation: a separate message history on an agent, sharing its memory blocks. Letta
 * 0.16.8's `Conversation`, in its key order: the SDK's type is Letta Cloud's, which has more
 * fields (archived, description, …) and lacks `isolated_block_ids`.
 */
export type SimConversation = Pick<
  Conversation,
  | 'created_by_id'
  | 'last_updated_by_id'
  | 'created_at'
  | 'updated_at'
  | 'id'
  | 'agent_id'
  | 'summary'
  | 'in_context_message_ids'
  | 'model'
  | 'model_settings'
  | 'last_message_at'
> & { isolated_block_ids: string[] }

export function buildConversation(agentId: string, init: ConversationInit = {}): SimConversation {
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z')
  return {
    created_by_id: DEFAULT_USER,
    last_updated_by_id: DEFAULT_USER,
    created_at: now,
    updated_at: now,
    id: newId('conv'),
    agent_id: agentId,
    summary: init.summary ?? null,
    in_context_message_ids: [],
    isolated_block_ids: [],
    model: init.model ?? null,
    model_settings: null,
    last_message_at: null,
  }
}

/** Letta serialises a conversation's later timestamps with microseconds. */
export const isoMicros = (at: Date = new Date()): string => at.toISOString().replace(/Z$/, '000Z')

/** Fields `PATCH /v1/conversations/{id}` changes; null or absent leaves a field as it is. */
const UPDATABLE = ['summary', 'model', 'model_settings', 'last_message_at'] as const

/** Applies an `UpdateConversation` body, like Letta's `model_dump(exclude_none=True)`. */
export function updateConversation(conversation: SimConversation, update: Record<string, unknown>) {
  for (const key of UPDATABLE) {
    const value = update[key]
    if (value !== undefined && value !== null) Object.assign(conversation, { [key]: value })
  }
  conversation.updated_at = isoMicros()
}

export type ConversationSort = 'created_at' | 'last_message_at' | 'last_run_completion'

export type ConversationFilter = {
  agentId?: string
  /** Substring of the summary; conversations without one never match. */
  summarySearch?: string
  /** A conversation id: the page starts after it in this order. */
  after?: string
  order: 'asc' | 'desc'
  orderBy: ConversationSort
  limit: number
  /** When a conversation's latest run completed (for `last_run_completion`). */
  lastRunCompletion: (conversationId: string) => string | undefined
}

/**
 * `GET /v1/conversations` as Letta 0.16.8 answers it: `conversations` in creation order, sorted
 * by `orderBy` (conversations without a value last, either way), ties by id. Returns null for
 * an unknown `after` cursor (Letta's 404).
 */
export function listConversations(
  conversations: SimConversation[],
  filter: ConversationFilter,
): SimConversation[] | null {
  const sign = filter.order === 'asc' ? 1 : -1
  const created = new Map(conversations.map((conversation, index) => [conversation.id, index]))
  const key = (conversation: SimConversation): string | number | null | undefined =>
    filter.orderBy === 'created_at'
      ? created.get(conversation.id)
      : filter.orderBy === 'last_message_at'
        ? conversation.last_message_at
        : filter.lastRunCompletion(conversation.id)
  const sorted = conversations
    .filter(
      (conversation) =>
        (filter.agentId === undefined || conversation.agent_id === filter.agentId) &&
        (!filter.summarySearch || conversation.summary?.includes(filter.summarySearch)),
    )
    .sort((a, b) => {
      const [left, right] = [key(a), key(b)]
      if (left !== right) {
        if (left === null || left === undefined) return 1
        if (right === null || right === undefined) return -1
        return left < right ? -sign : sign
      }
      return a.id < b.id ? -sign : sign
    })
  if (filter.after === undefined) return sorted.slice(0, filter.limit)
  const cursor = sorted.findIndex((conversation) => conversation.id === filter.after)
  if (cursor === -1 && !created.has(filter.after)) return null
  return sorted.slice(cursor + 1, cursor + 1 + filter.limit)
}
