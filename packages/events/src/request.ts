import type { Static } from '@sinclair/typebox'
import { Type } from '@sinclair/typebox'
import { HistoryMessage, MAX_HISTORY_MESSAGES } from './history.ts'

/** Longest user message the bridge accepts; Letta's context window is the real limit. */
export const MAX_MESSAGE_CHARS = 32_000

export const TemplateName = Type.String({
  pattern: '^[a-z][a-z0-9_-]{0,39}$',
  description: 'Agent template name (lowercase letters, digits, - and _).',
})

export const ChatUser = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: 200, description: 'OpenWebUI user id.' }),
    name: Type.Optional(Type.String({ maxLength: 200, description: 'Display name.' })),
    email: Type.Optional(Type.String({ maxLength: 320, description: 'Email address.' })),
    role: Type.Optional(
      Type.String({ maxLength: 40, description: 'OpenWebUI role (user, admin).' }),
    ),
  },
  { additionalProperties: false, description: 'The OpenWebUI user the message comes from.' },
)
export type ChatUser = Static<typeof ChatUser>

export const ChatRequest = Type.Object(
  {
    protocolVersion: Type.String({
      minLength: 1,
      maxLength: 64,
      description: 'PROTOCOL_VERSION the pipe was generated with.',
    }),
    user: ChatUser,
    chatId: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        description: 'OpenWebUI chat id: each chat is its own Letta conversation.',
      }),
    ),
    history: Type.Optional(
      Type.Array(HistoryMessage, {
        maxItems: MAX_HISTORY_MESSAGES,
        description:
          "The chat's visible messages before this one, oldest first (with a chatId): tells a next message from a regenerate or an edit.",
      }),
    ),
    template: Type.Optional(TemplateName),
    message: Type.String({
      minLength: 1,
      maxLength: MAX_MESSAGE_CHARS,
      description: "The user's text, before OpenWebUI's RAG wrapping.",
    }),
  },
  { additionalProperties: false, description: 'One user message for their own Letta agent.' },
)
export type ChatRequest = Static<typeof ChatRequest>
