import { afterAll, beforeAll, beforeEach } from 'bun:test'
import Letta from '@letta-ai/letta-client'
import type {
  LettaStreamingResponse,
  MessageCreateParamsStreaming,
} from '@letta-ai/letta-client/resources/agents/messages'
import type { LettaSim, SimOptions } from '../src/index.ts'
import { startLettaSim } from '../src/index.ts'

/** What the SDK sends to identify itself; Letta refuses streaming sends without it. */
export const SDK_HEADERS = {
  'content-type': 'application/json',
  'x-stainless-package-version': '1.12.1',
}

export const STREAM_BODY = {
  messages: [{ role: 'user' as const, content: 'What is a derivative?' }],
  streaming: true as const,
  stream_tokens: true,
  include_pings: true,
} satisfies MessageCreateParamsStreaming

export function sdk(sim: LettaSim): Letta {
  return new Letta({ baseURL: sim.url, apiKey: 'sim-key', maxRetries: 0, logLevel: 'off' })
}

/**
 * One sim for a test file, forgotten (reset) before each test, and an SDK client on it:
 * `started` receives both once the sim listens.
 */
export function useSim(
  started: (running: { sim: LettaSim; client: Letta }) => void,
  options: SimOptions = {},
): void {
  let sim: LettaSim | undefined
  beforeAll(async () => {
    sim = await startLettaSim(options)
    started({ sim, client: sdk(sim) })
  })
  afterAll(() => sim?.stop())
  beforeEach(() => sim?.reset())
}

export type Frame = LettaStreamingResponse & Record<string, unknown>

/** Everything an SDK stream yielded, and what it threw at the end, if anything. */
export async function drain(stream: AsyncIterable<LettaStreamingResponse>) {
  const frames: Frame[] = []
  let error: unknown
  try {
    for await (const frame of stream) frames.push(frame as Frame)
  } catch (caught) {
    error = caught
  }
  return { frames, error }
}

/** A streaming send without the SDK: the bytes exactly as served. */
export function postRaw(sim: LettaSim, agentId: string, body: object = STREAM_BODY) {
  return fetch(`${sim.url}/v1/agents/${agentId}/messages`, {
    method: 'POST',
    headers: SDK_HEADERS,
    body: JSON.stringify(body),
  })
}

/** The JSON objects of a transcript's data frames (not its `event: error`), read line by line. */
export function jsonLines(transcript: string): Frame[] {
  const lines = transcript.split('\n')
  return lines
    .filter((line, index) => line.startsWith('data: {') && !lines[index - 1]?.startsWith('event:'))
    .map((line) => JSON.parse(line.slice('data: '.length)) as Frame)
}

const textOf = (frame: Frame): string =>
  frame.message_type === 'reasoning_message'
    ? String(frame.reasoning)
    : frame.message_type === 'assistant_message'
      ? String(frame.content)
      : ''

/** All reasoning and all answer text, in order, straight from the frames. */
export function plainTexts(frames: Frame[]) {
  const of = (type: string) =>
    frames
      .filter((frame) => frame.message_type === type)
      .map(textOf)
      .join('')
  return { reasoning: of('reasoning_message'), answer: of('assistant_message') }
}

/** Text grouped the way LETTA_WIRE.md says: by (message_type, otid). */
export function groupByTypeAndOtid(frames: Frame[]): Map<string, { type: string; text: string }> {
  const groups = new Map<string, { type: string; text: string }>()
  for (const frame of frames) {
    const text = textOf(frame)
    if (!text) continue
    const key = `${frame.message_type}\u0000${frame.otid}`
    const group = groups.get(key) ?? { type: String(frame.message_type), text: '' }
    group.text += text
    groups.set(key, group)
  }
  return groups
}

/** The tempting mistake: grouping by message id. */
export function groupById(frames: Frame[]): Map<string, { types: Set<string>; text: string }> {
  const groups = new Map<string, { types: Set<string>; text: string }>()
  for (const frame of frames) {
    const text = textOf(frame)
    if (!text || typeof frame.id !== 'string') continue
    const group = groups.get(frame.id) ?? { types: new Set<string>(), text: '' }
    group.types.add(String(frame.message_type))
    group.text += text
    groups.set(frame.id, group)
  }
  return groups
}

/** Tool-call (and approval) argument fragments joined per tool_call_id. */
export function toolArguments(frames: Frame[]): Map<string, string> {
  const calls = new Map<string, string>()
  for (const frame of frames) {
    const call = frame.tool_call as { tool_call_id?: string; arguments?: string } | undefined
    if (!call?.tool_call_id) continue
    calls.set(call.tool_call_id, (calls.get(call.tool_call_id) ?? '') + (call.arguments ?? ''))
  }
  return calls
}

/** Polls until `check` holds or the time is up. */
export async function eventually(check: () => boolean, timeoutMs = 2_000): Promise<boolean> {
  const deadline = performance.now() + timeoutMs
  while (performance.now() < deadline) {
    if (check()) return true
    await Bun.sleep(5)
  }
  return check()
}
