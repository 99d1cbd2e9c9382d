import type { Conversation } from '@letta-ai/letta-client/resources/conversations/conversations'
import { newId } from './frames.ts'

/** Fields of `POST /v1/conversations` the sim keeps (the agent id travels in the query). */
export type ConversationInit = {
  description?: string | null
  model?: string | null
  summary?: string | null
}

/** A conversation: a separate message history on an agent, sharing its memory blocks. */
export function buildConversation(agentId: string, init: ConversationInit = {}): Conversation {
  const now = new Date().toISOString()
  return {
    id: newId('conv'),
    agent_id: agentId,
    archived: false,
    archived_at: null,
    context_window_limit: null,
    created_at: now,
    created_by_id: null,
    description: init.description ?? null,
    in_context_message_ids: [],
    last_message_at: null,
    last_updated_by_id: null,
    model: init.model ?? null,
    model_settings: null,
    summary: init.summary ?? null,
    updated_at: now,
  }
}
