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
