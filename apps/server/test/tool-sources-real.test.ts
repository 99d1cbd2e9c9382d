/**
 * Sources from what the real Letta 0.16.8 streamed (packages/letta-sim/fixtures/real/search_*,
 * `bun run record:letta`): every frame of a recorded search turn goes through the FrameMapper,
 * as the bridge reads Letta's stream, and the `sources` event is checked against the whole
 * tool output, past the status line's cut.
 */
import { describe, expect, it } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { LettaStreamingResponse } from '@letta-ai/letta-client/resources/agents/messages'
import type { BridgeEvent } from '@letta-openwebui/events'
import { FrameMapper, TOOL_TEXT_LIMIT } from '../src/letta/frames-to-events.ts'

/** The end of every long text the recorder wrote. */
const LAST_NOTE = "Note 11: Halley's comet comes back about every 76 years on its long orbit."
const REAL_DIR = join(import.meta.dir, '../../../packages/letta-sim/fixtures/real')

/** The JSON frames of a recorded stream, `[DONE]` left out. */
function recordedFrames(name: string): LettaStreamingResponse[] {
  const { sse } = JSON.parse(readFileSync(join(REAL_DIR, `${name}.json`), 'utf8')) as {
    sse: string[]
  }
  return sse
    .map((raw) => raw.slice(raw.indexOf('data: ') + 'data: '.length))
    .filter((data) => data !== '[DONE]')
    .map((data) => JSON.parse(data) as LettaStreamingResponse)
}

function replay(name: string) {
  const frames = recordedFrames(name)
  const mapper = new FrameMapper()
  const events: BridgeEvent[] = frames.flatMap((frame) => mapper.map(frame))
  const toolReturn = frames.find((frame) => frame.message_type === 'tool_return_message') as
    | { tool_return: string }
    | undefined
  const of = <E extends BridgeEvent['event']>(event: E) =>
    events.filter((item): item is Extract<BridgeEvent, { event: E }> => item.event === event)
  return {
    whole: toolReturn?.tool_return ?? '',
    sources: of('sources'),
    finished: of('tool.finished'),
  }
}

describe('sources from the real Letta 0.16.8 search tools', () => {
  it('conversation_search: one source per message found, each whole, from the Python repr', () => {
    const { whole, sources, finished } = replay('search_conversation_stream')
    // Letta streams the whole output; the status line shows its first 500 characters.
    expect(whole.length).toBeGreaterThan(2_000)
    expect(whole.startsWith("{'message': 'Showing 4 results:', 'results': [")).toBe(true)
    expect(finished[0]?.data.output.length).toBe(TOOL_TEXT_LIMIT)
    const [event] = sources
    expect(event?.data.tool).toBe('conversation_search')
    const items = event?.data.items ?? []
    expect(items.map((item) => item.title.replace(/ · 2026-.*/, ''))).toEqual([
      'Past conversation · assistant',
      'Past conversation · user',
      'Past conversation · assistant',
      'Past conversation · user',
    ])
    expect(items[0]?.title).toBe('Past conversation · assistant · 2026-01-01T00:00:00.000000+00:00')
    expect(items[1]?.text).toBe('Tell me about Halley (second). REC-MARKER')
    for (const item of items) {
      expect(item.url).toBeUndefined()
      // Each message as it was written (a text with an apostrophe is double-quoted in the repr).
      expect(whole).toContain(item.text)
    }
    for (const item of [items[0], items[2]]) {
      // The agent's long answers whole: their last note lies past the status line's cut.
      expect(item?.text.length).toBeGreaterThan(900)
      expect(item?.text.startsWith('About comets (')).toBe(true)
      expect(item?.text.endsWith(LAST_NOTE)).toBe(true)
    }
  })

  it('archival_memory_search: the passage whole, with its apostrophe and quotes', () => {
    const { whole, sources } = replay('search_archival_stream')
    expect(whole.length).toBeGreaterThan(1_000)
    const [event] = sources
    const items = event?.data.items ?? []
    expect(items).toHaveLength(1)
    expect(items[0]?.title).toBe('Memory · 2026-01-01T00:00:00.000000+00:00')
    expect(items[0]?.text.startsWith('Halley\'s comet, a "periodic" comet. Note 0:')).toBe(true)
    expect(items[0]?.text.length).toBeGreaterThan(TOOL_TEXT_LIMIT)
    expect(items[0]?.text.endsWith(LAST_NOTE)).toBe(true)
  })

  it('archival_memory_insert, and the web tools failing on the kit, give no sources', () => {
    for (const name of [
      'search_archival_insert_stream',
      'search_fetch_webpage_stream',
      'search_web_stream',
    ]) {
      const { sources, finished } = replay(name)
      expect(sources).toEqual([])
      expect(finished).toHaveLength(1)
    }
    expect(replay('search_web_stream').finished[0]?.data.status).toBe('error')
    expect(replay('search_fetch_webpage_stream').finished[0]?.data.output).toContain(
      'Error executing function fetch_webpage',
    )
  })
})
