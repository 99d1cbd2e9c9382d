import type { Static, TObject } from '@sinclair/typebox'
import { Type } from '@sinclair/typebox'
import { ApprovalRequest } from './approvals.ts'
import { ErrorBody } from './errors.ts'
import { MAX_SOURCES, SourceItem } from './sources.ts'
import { literalUnion } from './validation.ts'

/** Letta's stop reasons (LETTA_WIRE.md); the bridge reports failures as `error` + an error event. */
export const STOP_REASONS = [
  'end_turn',
  'error',
  'llm_api_error',
  'invalid_llm_response',
  'invalid_tool_call',
  'max_steps',
  'max_tokens_exceeded',
  'no_tool_call',
  'tool_rule',
  'cancelled',
  'insufficient_credits',
  'requires_approval',
  'context_window_overflow_in_system_prompt',
] as const
export type StopReason = (typeof STOP_REASONS)[number]

const segment = Type.Integer({
  minimum: 0,
  description: 'Index of the thinking segment; a new index starts a separate block of thought.',
})

/**
 * Every server-sent event of the bridge: name → payload schema.
 * Names are `noun.verb`; exactly one `done` ends every stream.
 */
export const EVENT_SCHEMAS = {
  'reasoning.delta': Type.Object(
    { segment, text: Type.String({ description: 'Next piece of the agent thinking.' }) },
    { additionalProperties: false, description: 'The agent is thinking (token by token).' },
  ),
  'reasoning.hidden': Type.Object(
    {
      segment,
      state: Type.Union([Type.Literal('redacted'), Type.Literal('omitted')], {
        description: 'Why the thinking is not shown.',
      }),
    },
    { additionalProperties: false, description: 'The agent is thinking, but the model hides it.' },
  ),
  'answer.delta': Type.Object(
    { text: Type.String({ description: 'Next piece of the answer.' }) },
    { additionalProperties: false, description: 'The answer to show the user (token by token).' },
  ),
  'tool.started': Type.Object(
    {
      id: Type.String({ description: 'Tool call id, unique within the run.' }),
      name: Type.String({ description: 'Tool name, e.g. archival_memory_search.' }),
    },
    { additionalProperties: false, description: 'The agent started using a tool.' },
  ),
  'tool.finished': Type.Object(
    {
      id: Type.String({ description: 'Tool call id from tool.started.' }),
      name: Type.String({ description: 'Tool name.' }),
      status: Type.Union([Type.Literal('success'), Type.Literal('error')]),
      arguments: Type.String({ description: 'The call arguments as JSON text (truncated).' }),
      output: Type.String({ description: 'The tool result (truncated).' }),
    },
    { additionalProperties: false, description: 'A tool call finished.' },
  ),
  sources: Type.Object(
    {
      id: Type.String({ description: 'Tool call id from tool.started.' }),
      tool: Type.String({ description: 'The search tool, e.g. web_search.' }),
      items: Type.Array(SourceItem, { maxItems: MAX_SOURCES }),
    },
    {
      additionalProperties: false,
      description: "What a search tool found, from its full output (tool.finished's is cut).",
    },
  ),
  'approval.requested': ApprovalRequest,
  progress: Type.Object(
    {
      text: Type.String({
        description: 'What the bridge is doing, e.g. "Adding notes.pdf to your agent\'s files".',
      }),
      done: Type.Boolean({ description: 'Whether that step is finished.' }),
    },
    {
      additionalProperties: false,
      description: 'A step of the turn before the agent answers, shown as a status line.',
    },
  ),
  usage: Type.Object(
    {
      promptTokens: Type.Integer({ minimum: 0 }),
      completionTokens: Type.Integer({ minimum: 0 }),
      totalTokens: Type.Integer({ minimum: 0 }),
      steps: Type.Integer({ minimum: 0, description: 'LLM calls the agent made.' }),
    },
    { additionalProperties: false, description: 'Token usage of the run.' },
  ),
  notice: Type.Object(
    {
      text: Type.String({ description: 'One short sentence about the chat itself.' }),
    },
    {
      additionalProperties: false,
      description:
        "Something the person should know about this chat, not the agent's words (e.g. that memory written during a discarded answer stays).",
    },
  ),
  keepalive: Type.Object(
    {},
    { additionalProperties: false, description: 'Nothing new; the connection is alive.' },
  ),
  error: ErrorBody,
  done: Type.Object(
    {
      stopReason: literalUnion(STOP_REASONS, { description: 'Why the stream ended.' }),
    },
    { additionalProperties: false, description: 'The last event of every stream.' },
  ),
} as const satisfies Record<string, TObject>

export type EventName = keyof typeof EVENT_SCHEMAS
export const EVENT_NAMES = Object.keys(EVENT_SCHEMAS).sort() as EventName[]

export type EventData<N extends EventName> = Static<(typeof EVENT_SCHEMAS)[N]>
/**
 * A bridge event as a discriminated union: `{ event: 'answer.delta', data: { text } }`. `id`:
 * where in a Letta run it came from (see resume.ts), set by the bridge for events it can replay.
 */
export type BridgeEvent = {
  [N in EventName]: { event: N; data: EventData<N>; id?: string }
}[EventName]
