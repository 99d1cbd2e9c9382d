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
