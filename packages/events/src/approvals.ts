import type { Static } from '@sinclair/typebox'
import { Type } from '@sinclair/typebox'

/**
 * Tools that need the person's approval (a Letta tool rule `requires_approval`): the run stops
 * with the request; the person's decisions come back with the next request of the same chat,
 * whose stream continues the answer. Letta refuses anything else on that thread until then.
 */

/** Tool calls one step of the agent may ask approval for. */
export const MAX_APPROVALS = 8
/** A tool call's arguments, as JSON text, shown in the dialog at most (longer ones are cut). */
export const MAX_APPROVAL_ARGUMENT_CHARS = 4_000
/** The reason given to the agent with a decision. */
export const MAX_APPROVAL_REASON_CHARS = 500

const toolCallId = Type.String({
  minLength: 1,
  maxLength: 200,
  description: "Letta's tool call id.",
})

export const ApprovalRequest = Type.Object(
  {
    id: toolCallId,
    name: Type.String({ maxLength: 200, description: 'The tool the agent wants to use.' }),
    arguments: Type.String({
      maxLength: MAX_APPROVAL_ARGUMENT_CHARS,
      description: 'Its arguments as JSON text (cut).',
    }),
  },
  { additionalProperties: false, description: 'The agent asks to use a tool that needs approval.' },
)
export type ApprovalRequest = Static<typeof ApprovalRequest>

export const ApprovalDecision = Type.Object(
  {
    id: toolCallId,
    name: Type.String({ maxLength: 200, description: 'The tool, for the status line.' }),
    approve: Type.Boolean(),
    reason: Type.Optional(
      Type.String({
        maxLength: MAX_APPROVAL_REASON_CHARS,
        description: 'Told to the agent with a refusal: why.',
      }),
    ),
  },
  { additionalProperties: false, description: "The person's answer to one approval request." },
)
export type ApprovalDecision = Static<typeof ApprovalDecision>
