import type { Static } from '@sinclair/typebox'
import { Type } from '@sinclair/typebox'
import { ChatUser, TemplateName } from './request.ts'

/** A memory block's label, as Letta names them (`human`, `persona`, …). */
export const BlockLabel = Type.String({
  pattern: '^[A-Za-z0-9_-]{1,64}$',
  description: 'Memory block label, e.g. human.',
})

/** Longest block value the bridge accepts: Letta's own per-block limit is checked as well. */
export const MAX_BLOCK_CHARS = 100_000

const protocolVersion = Type.String({
  minLength: 1,
  maxLength: 64,
  description: 'PROTOCOL_VERSION the pipe was generated with.',
})

/** `/memory` in the chat: what the user's agent for this template remembers. */
export const MemoryRequest = Type.Object(
  { protocolVersion, user: ChatUser, template: Type.Optional(TemplateName) },
  { additionalProperties: false, description: "Show the user's agent's memory blocks." },
)
export type MemoryRequest = Static<typeof MemoryRequest>

export const MemoryBlock = Type.Object(
  {
    label: BlockLabel,
    description: Type.String({ description: 'What the block is for (may be empty).' }),
    value: Type.String(),
    limit: Type.Integer({ minimum: 0, description: 'Most characters the block may hold.' }),
    readOnly: Type.Boolean({ description: 'The agent and the person can read it, not change it.' }),
  },
  { additionalProperties: false, description: 'One memory block of the agent.' },
)
export type MemoryBlock = Static<typeof MemoryBlock>

export const MemoryView = Type.Object(
  { template: TemplateName, blocks: Type.Array(MemoryBlock) },
  { additionalProperties: false, description: "The agent's memory blocks, in Letta's order." },
)
export type MemoryView = Static<typeof MemoryView>

/** `/memory <label>` in the chat, after the person edited the block in a dialog. */
export const MemoryUpdate = Type.Object(
  {
    protocolVersion,
    user: ChatUser,
    template: Type.Optional(TemplateName),
    label: BlockLabel,
    value: Type.String({ maxLength: MAX_BLOCK_CHARS }),
  },
  { additionalProperties: false, description: "Replace one memory block's value." },
)
export type MemoryUpdate = Static<typeof MemoryUpdate>
