import type {
  LettaStreamingResponse,
  Message,
} from '@letta-ai/letta-client/resources/agents/messages'
import type { ErrorFrame, StopReasonFrame, UsageFrame } from './frames.ts'
import { Envelopes, errorFrame, parseRawFrame, readEvent } from './frames.ts'
import type { Run } from './runs.ts'
import { settleRun } from './runs.ts'
import type { Step } from './scenarios.ts'

/** What a scenario amounts to without streaming: whole messages and how the run ended. */
export type Collected = {
  messages: Message[]
  stopReason?: StopReasonFrame
  usage?: UsageFrame
  error?: ErrorFrame
  dropped: boolean
}

function isMessage(
  frame: LettaStreamingResponse,
): frame is Extract<LettaStreamingResponse, Message> {
  return 'id' in frame && frame.message_type !== 'ping'
}

function take(collected: Collected, frame: LettaStreamingResponse): void {
  if (frame.message_type === 'stop_reason') collected.stopReason = frame as StopReasonFrame
  else if (frame.message_type === 'usage_statistics') collected.usage = frame as UsageFrame
  else if (isMessage(frame)) collected.messages.push(frame)
}

function parseErrorData(data: string, runId: string): ErrorFrame {
  try {
    return JSON.parse(data) as ErrorFrame
  } catch {
    return errorFrame({ error_type: 'internal_error', message: data }, runId)
  }
}

/** Plays a scenario for a non-streaming request (pass it folded: whole messages). */
export async function collectRun(run: Run, steps: Step[], signal: AbortSignal): Promise<Collected> {
  const { playback } = run
  const collected: Collected = { messages: [], dropped: false }
  const envelopes = new Envelopes(run.id)
  const clientGone = () => playback.interrupt('client_gone')
  signal.addEventListener('abort', clientGone, { once: true })
  for (const step of steps) {
    if (playback.interruption) break
    if ('frame' in step) take(collected, envelopes.fill(step))
    else if ('error' in step) collected.error = errorFrame(step.error, run.id)
    else if ('raw' in step) {
      const { event, data } = readEvent(step.raw)
      const frame = parseRawFrame(step.raw)
      if (event === 'error') collected.error = parseErrorData(data, run.id)
      else if (frame) take(collected, frame as LettaStreamingResponse)
    } else if ('sleep' in step) await playback.pause(step.sleep)
    else if ('stall' in step) await playback.pause(Number.POSITIVE_INFINITY)
    else if ('drop' in step) {
      collected.dropped = true
      break
    }
  }
  signal.removeEventListener('abort', clientGone)
  run.open = false
  if (playback.interruption === 'cancelled') {
    collected.stopReason = { message_type: 'stop_reason', stop_reason: 'cancelled' }
  }
  run.stopReason = collected.stopReason?.stop_reason
  // A run whose client left keeps running, as far as Letta is concerned.
  if (playback.interruption !== 'client_gone') {
    settleRun(run, collected.error || collected.dropped ? 'failed' : 'completed')
  }
  return collected
}
