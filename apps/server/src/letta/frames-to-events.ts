import type { LettaStreamingResponse } from '@letta-ai/letta-client/resources/agents/messages'
import type { BridgeEvent, StopReason } from '@letta-openwebui/events'
import { errorBody, STOP_REASONS } from '@letta-openwebui/events'
import { agentErrorBody } from './errors.ts'
import { toolSources } from './tool-sources.ts'

/** Tool arguments and outputs are summaries for a status line, not transcripts. */
export const TOOL_TEXT_LIMIT = 500

type ToolCallDelta = {
  name?: string | null
  arguments?: string | null
  tool_call_id?: string | null
}
type ToolReturnItem = {
  tool_call_id: string
  status?: 'success' | 'error'
  tool_return?: unknown
  content?: unknown
  is_error?: boolean
}

function truncate(text: string): string {
  return text.length <= TOOL_TEXT_LIMIT ? text : `${text.slice(0, TOOL_TEXT_LIMIT - 1)}…`
}

/** Letta content is a string in practice, but may be a list of `{ type: 'text', text }` parts. */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content
  if (!Array.isArray(content)) return ''
  return content
    .map((part) => (part && typeof part === 'object' && 'text' in part ? String(part.text) : ''))
    .join('')
}

function isStopReason(value: unknown): value is StopReason {
  return (STOP_REASONS as readonly unknown[]).includes(value)
}

/**
 * Turns Letta's streaming frames into bridge events, one run at a time.
 * Token deltas are grouped by (message type, otid): reasoning, tool call and answer frames of
 * one LLM call share an `id`, so grouping by `id` would merge the thinking into the answer.
 * Tool-call arguments are accumulated by `tool_call_id` and a tool return finishes its tool.
 */
export class FrameMapper {
  runId: string | undefined
  stopReason: StopReason | undefined
  /** Frames of a type this bridge does not know (e.g. a newer Letta); ignored. */
  readonly unknownTypes: string[] = []
  /** The answer as streamed so far (what the chat shows, for its fingerprint). */
  answerText = ''
  /** Letta's id of the newest answer message: where a fork can cut the thread after this turn. */
  answerMessageId: string | undefined
  /** Every tool the agent called in this run. */
  readonly toolNames = new Set<string>()

  private readonly segments = new Map<string, number>()
  private answerOtid: string | undefined
  private readonly tools = new Map<string, { name: string; arguments: string }>()
  private lastToolId: string | undefined

  map(frame: LettaStreamingResponse): BridgeEvent[] {
    if ('run_id' in frame && typeof frame.run_id === 'string') this.runId ??= frame.run_id
    switch (frame.message_type) {
      case 'ping':
        return []
      case 'reasoning_message':
        return frame.reasoning
          ? [
              {
                event: 'reasoning.delta',
                data: { segment: this.segment(frame), text: frame.reasoning },
              },
            ]
          : []
      case 'hidden_reasoning_message': {
        const isNew = !this.segments.has(this.groupKey(frame))
        return isNew
          ? [
              {
                event: 'reasoning.hidden',
                data: { segment: this.segment(frame), state: frame.state },
              },
            ]
          : []
      }
      case 'assistant_message':
        this.answerMessageId = frame.id
        return this.answer(frame.otid ?? frame.id, contentText(frame.content))
      case 'tool_call_message':
        return this.toolCalls(frame.tool_calls, frame.tool_call)
      case 'tool_return_message':
        return this.toolReturns(
          frame.tool_returns?.length ? (frame.tool_returns as ToolReturnItem[]) : [frame],
        )
      case 'approval_request_message':
        return []
      case 'stop_reason':
        if (isStopReason(frame.stop_reason)) this.stopReason = frame.stop_reason
        return frame.stop_reason === 'requires_approval'
          ? [{ event: 'error', data: errorBody('approval_required') }]
          : []
      case 'usage_statistics':
        return [
          {
            event: 'usage',
            data: {
              promptTokens: frame.prompt_tokens ?? 0,
              completionTokens: frame.completion_tokens ?? 0,
              totalTokens: frame.total_tokens ?? 0,
              steps: frame.step_count ?? 0,
            },
          },
        ]
      case 'error_message':
        return [{ event: 'error', data: agentErrorBody(frame.message) }]
      default:
        this.unknownTypes.push(String((frame as { message_type?: unknown }).message_type))
        return []
    }
  }

  private groupKey(frame: { otid?: string | null; id: string; message_type?: string }): string {
    return `${frame.message_type}:${frame.otid ?? frame.id}`
  }

  /** Each distinct thinking message (type + otid) is its own segment, in order of arrival. */
  private segment(frame: { otid?: string | null; id: string; message_type?: string }): number {
    const key = this.groupKey(frame)
    let segment = this.segments.get(key)
    if (segment === undefined) {
      segment = this.segments.size
      this.segments.set(key, segment)
    }
    return segment
  }

  private answer(otid: string, text: string): BridgeEvent[] {
    if (!text) return []
    // A second assistant message in the same run (after a tool call) starts a new paragraph.
    const separator = this.answerOtid !== undefined && this.answerOtid !== otid ? '\n\n' : ''
    this.answerOtid = otid
    this.answerText += separator + text
    return [{ event: 'answer.delta', data: { text: separator + text } }]
  }

  private toolCalls(calls: unknown, single: ToolCallDelta | undefined): BridgeEvent[] {
    // Token mode repeats the same delta in `tool_call` and `tool_calls`: read only one of them.
    const deltas: ToolCallDelta[] = Array.isArray(calls) ? calls : single ? [single] : []
    const events: BridgeEvent[] = []
    for (const delta of deltas) {
      const id = delta.tool_call_id ?? this.lastToolId
      if (!id) continue
      let tool = this.tools.get(id)
      if (!tool) {
        tool = { name: delta.name ?? 'tool', arguments: '' }
        this.tools.set(id, tool)
        this.toolNames.add(tool.name)
        events.push({ event: 'tool.started', data: { id, name: tool.name } })
      }
      if (delta.arguments) tool.arguments += delta.arguments
      this.lastToolId = id
    }
    return events
  }

  private toolReturns(items: ToolReturnItem[]): BridgeEvent[] {
    const events: BridgeEvent[] = []
    for (const item of items) {
      const id = item.tool_call_id
      const tool = this.tools.get(id) ?? { name: 'tool', arguments: '' }
      if (!this.tools.has(id)) events.push({ event: 'tool.started', data: { id, name: tool.name } })
      this.tools.delete(id)
      const failed = item.status === 'error' || item.is_error === true
      const output = contentText(item.tool_return ?? item.content)
      const sources = failed ? [] : toolSources(tool.name, output)
      if (sources.length > 0)
        events.push({ event: 'sources', data: { id, tool: tool.name, items: sources } })
      events.push({
        event: 'tool.finished',
        data: {
          id,
          name: tool.name,
          status: failed ? 'error' : 'success',
          arguments: truncate(tool.arguments),
          output: truncate(output),
        },
      })
    }
    return events
  }
}
