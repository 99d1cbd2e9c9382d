import type { Static } from '@sinclair/typebox'
import { Type } from '@sinclair/typebox'
import { ApprovalDecision, MAX_APPROVALS } from './approvals.ts'
import { Attachment, FileModeField, ImagePart, MAX_ATTACHMENTS, MAX_IMAGES } from './attachments.ts'
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
      description:
        "The user's text, before OpenWebUI's RAG wrapping (with approvals: the message they belong to).",
    }),
    images: Type.Optional(
      Type.Array(ImagePart, {
        minItems: 1,
        maxItems: MAX_IMAGES,
        description: 'Images attached to this message, for a template whose model can see.',
      }),
    ),
    attachments: Type.Optional(
      Type.Array(Attachment, {
        minItems: 1,
        maxItems: MAX_ATTACHMENTS,
        description:
          "Files attached to the chat, with their text: marked as attached, apart from the user's words.",
      }),
    ),
    fileMode: Type.Optional(FileModeField),
    approvals: Type.Optional(
      Type.Array(ApprovalDecision, {
        minItems: 1,
        maxItems: MAX_APPROVALS,
        description:
          "The person's answers to the approval requests that ended this chat's last turn: the turn goes on with them instead of a new message.",
      }),
    ),
  },
  { additionalProperties: false, description: 'One user message for their own Letta agent.' },
)
export type ChatRequest = Static<typeof ChatRequest>
