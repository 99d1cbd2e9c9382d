import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

/**
 * Letta SSE transcripts kept with the stand-in, so a fresh clone can replay them. They are
 * source-faithful (built with Letta's own schema classes, in the server's emission order),
 * copied verbatim from the design's shared fixtures; add new ones here as `.sse` files.
 */
export const LETTA_FIXTURES_DIR = join(import.meta.dir, '../fixtures')

export interface LettaFixture {
  name: string
  transcript: string
}

/** One transcript by file name, e.g. `anthropic_token_stream_tool_then_answer.sse`. */
export function lettaFixture(name: string): string {
  return readFileSync(join(LETTA_FIXTURES_DIR, name), 'utf8')
}

/** Every transcript, sorted by file name so tests and reports list them in a stable order. */
export function lettaFixtures(): LettaFixture[] {
  return readdirSync(LETTA_FIXTURES_DIR)
    .filter((name) => name.endsWith('.sse'))
    .sort()
    .map((name) => ({ name, transcript: lettaFixture(name) }))
}

/**
 * The agent the recordings in `fixtures/real/` were made with: the bridge's create body, with
 * the model as a self-hosted Letta behind a fake OpenAI endpoint names it. The recorder and the
 * conformance test both send exactly this.
 */
export function recordedAgentBody(user: string) {
  return {
    name: `tutor-${user}`,
    model: 'openai-proxy/gpt-4o-mini',
    memory_blocks: [
      { label: 'persona', value: 'I am a patient tutor.' },
      { label: 'human', value: `About the student.\nName: ${user}` },
    ],
    tags: [`owui-user:${user}`, 'template:tutor', 'letta-openwebui'],
    metadata: { owui_user_id: user, template: 'tutor' },
  }
}

/** The message bodies the recorder and the conformance test send: streamed as the bridge does. */
export const recordedSend = {
  streamed: (messages: unknown[]) => ({
    messages,
    streaming: true,
    stream_tokens: true,
    include_pings: true,
  }),
  unstreamed: (messages: unknown[]) => ({ messages, streaming: false }),
  user: (content: unknown) => ({ role: 'user', content, otid: crypto.randomUUID() }),
  /** An answer to an approval in the list form (Letta 0.13+): one decision for one tool call. */
  decision: (toolCallId: string, approve: boolean, reason?: string) => ({
    type: 'approval',
    approvals: [
      { type: 'approval', tool_call_id: toolCallId, approve, ...(reason ? { reason } : {}) },
    ],
  }),
}

/** The approval request's message id and tool call id, from a recorded stream's events. */
export function recordedPendingRequest(sse: string[] | undefined): {
  messageId: string
  toolCallId: string
} {
  for (const event of sse ?? []) {
    if (!event.startsWith('data: {') || !event.includes('"approval_request_message"')) continue
    const frame = JSON.parse(event.slice('data: '.length)) as {
      id?: string
      tool_call?: { tool_call_id?: string }
    }
    if (frame.id) return { messageId: frame.id, toolCallId: frame.tool_call?.tool_call_id ?? '' }
  }
  throw new Error(`no approval request in ${JSON.stringify(sse)}`)
}
