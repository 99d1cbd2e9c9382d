import type { FrameInput } from './frames.ts'
import { isMessageFrame } from './frames.ts'
import type { Step } from './scenarios.ts'

type Mergeable = Extract<FrameInput, { id: string }> & Record<string, unknown>

/** Deltas of one message share (message_type, otid); `id` is shared across a whole LLM call. */
function messageKey(frame: FrameInput): string | undefined {
  if (!isMessageFrame(frame) || !frame.otid) return undefined
  return `${frame.message_type}\u0000${frame.otid}`
}

function appendText(left: unknown, right: unknown): unknown {
  if (typeof left === 'string' && typeof right === 'string') return left + right
  if (Array.isArray(left) && Array.isArray(right)) return [...left, ...right]
  return right ?? left
}

type ToolCallDelta = {
  name?: string | null
  arguments?: string | null
  tool_call_id?: string | null
}

function mergeToolCall(left: unknown, right: unknown): ToolCallDelta {
  const a = (left ?? {}) as ToolCallDelta
  const b = (right ?? {}) as ToolCallDelta
  return {
    name: a.name ?? b.name,
    arguments: (a.arguments ?? '') + (b.arguments ?? ''),
    tool_call_id: a.tool_call_id ?? b.tool_call_id,
  }
}

/** Adds one delta to the message so far: text fields concatenate, tool arguments too. */
function merge(whole: Mergeable, delta: Mergeable): Mergeable {
  const merged: Record<string, unknown> = { ...whole }
  for (const field of ['reasoning', 'content', 'hidden_reasoning'] as const) {
    if (field in delta) merged[field] = appendText(whole[field], delta[field])
  }
  if ('signature' in delta && delta.signature) merged.signature = delta.signature
  if ('tool_call' in delta) merged.tool_call = mergeToolCall(whole.tool_call, delta.tool_call)
  return merged as Mergeable
}

/** A whole tool-call message lists its calls, as step mode sends them (step_stream fixture). */
function complete(frame: Mergeable): FrameInput {
  if (!('tool_call' in frame) || Array.isArray(frame.tool_calls)) return frame
  return { ...frame, tool_calls: [frame.tool_call] } as FrameInput
}

/**
 * Step mode (no `stream_tokens`): Letta sends each message whole. Consecutive frame deltas of a
 * message become one frame, sent when its last delta would have been; other steps are kept.
 */
export function foldSteps(steps: Step[]): Step[] {
  const folded: Step[] = []
  let pending: { key: string; frame: Mergeable; stamp: boolean } | undefined
  let held: Step[] = []
  const flush = () => {
    if (pending) {
      const frame = complete(pending.frame)
      folded.push(...held, pending.stamp ? { frame, stamp: true } : { frame })
      held = []
    }
    pending = undefined
  }
  for (const step of steps) {
    if ('sleep' in step && pending) {
      held.push(step)
      continue
    }
    const key = 'frame' in step ? messageKey(step.frame) : undefined
    if (key && pending?.key === key && 'frame' in step) {
      pending.frame = merge(pending.frame, step.frame as Mergeable)
      continue
    }
    flush()
    if (key && 'frame' in step) {
      pending = { key, frame: step.frame as Mergeable, stamp: step.stamp === true }
      continue
    }
    folded.push(step)
  }
  flush()
  return folded
}
