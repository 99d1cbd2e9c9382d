import type { LettaStreamingResponse } from '@letta-ai/letta-client/resources/agents/messages'
import type { ApprovalRequest, BridgeEvent, StopReason } from '@letta-openwebui/events'
import { MAX_APPROVAL_ARGUMENT_CHARS, MAX_APPROVALS, STOP_REASONS } from '@letta-openwebui/events'
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

function truncate(text: string, limit = TOOL_TEXT_LIMIT): string {
  return text.length <= limit ? text : `${text.slice(0, limit - 1)}…`
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
  /** With stop reason requires_approval: the tool calls the agent waits to have answered. */
  readonly approvals: ApprovalRequest[] = []

  private readonly segments = new Map<string, number>()
  private answerOtid: string | undefined
  private readonly tools = new Map<string, { name: string; arguments: string }>()
  private readonly asked = new Map<string, { name: string; arguments: string }>()
  private lastToolId: string | undefined

  /**
   * `named`: tool calls answered by this run's request (approval decisions), whose returns
   * arrive without their call: named as the agent called them.
   */
  constructor(private readonly named: ReadonlyMap<string, string> = new Map()) {}

  /** The run was refused before it began (nothing shown): the next one is read afresh. */
  restart(): void {
    this.runId = undefined
    this.stopReason = undefined
  }

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
      case 'approval_request_message':
        this.collect(this.asked, frame.tool_calls, frame.tool_call)
        return []
      case 'approval_response_message':
        // Letta's echo of the decisions this run's request carried.
        return []
      case 'tool_return_message':
        return this.toolReturns(
          frame.tool_returns?.length ? (frame.tool_returns as ToolReturnItem[]) : [frame],
        )
      case 'stop_reason':
        if (isStopReason(frame.stop_reason)) this.stopReason = frame.stop_reason
        return frame.stop_reason === 'requires_approval' ? this.approvalRequests() : []
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
    return this.collect(this.tools, calls, single).map(
      ({ id, name }): BridgeEvent => ({ event: 'tool.started', data: { id, name } }),
    )
  }

  /**
   * Adds tool-call deltas to `into` (arguments accumulated by `tool_call_id`); returns the calls
   * that are new. Token mode repeats the same delta in `tool_call` and `tool_calls`: only one
   * of them is read.
   */
  private collect(
    into: Map<string, { name: string; arguments: string }>,
    calls: unknown,
    single: ToolCallDelta | null | undefined,
  ): { id: string; name: string }[] {
    const deltas: ToolCallDelta[] = Array.isArray(calls) ? calls : single ? [single] : []
    const started: { id: string; name: string }[] = []
    for (const delta of deltas) {
      const id = delta.tool_call_id ?? this.lastToolId
      if (!id) continue
      let tool = into.get(id)
      if (!tool) {
        tool = { name: delta.name ?? 'tool', arguments: '' }
        into.set(id, tool)
        this.toolNames.add(tool.name)
        started.push({ id, name: tool.name })
      }
      if (delta.arguments) tool.arguments += delta.arguments
      this.lastToolId = id
    }
    return started
  }

  /** The run stopped to ask: one event per tool call waiting for the person's decision. */
  private approvalRequests(): BridgeEvent[] {
    for (const [id, tool] of [...this.asked].slice(0, MAX_APPROVALS)) {
      this.approvals.push({
        id,
        name: tool.name,
        arguments: truncate(tool.arguments, MAX_APPROVAL_ARGUMENT_CHARS),
      })
    }
    this.asked.clear()
    return this.approvals.map((data): BridgeEvent => ({ event: 'approval.requested', data }))
  }

  private toolReturns(items: ToolReturnItem[]): BridgeEvent[] {
    const events: BridgeEvent[] = []
    for (const item of items) {
      const id = item.tool_call_id
      const tool = this.tools.get(id) ?? { name: this.named.get(id) ?? 'tool', arguments: '' }
      if (!this.tools.has(id)) events.push({ event: 'tool.started', data: { id, name: tool.name } })
      this.tools.delete(id)
      const failed = item.status === 'error' || item.is_error === true
      const output = contentText(item.tool_return ?? item.content)
      const sources = failed ? [] : toolSources(tool.name, output, tool.arguments)
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
