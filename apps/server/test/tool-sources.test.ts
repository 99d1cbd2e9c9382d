import { describe, expect, it } from 'bun:test'
import { MAX_SOURCES } from '@letta-openwebui/events'
import { toolSources } from '../src/letta/tool-sources.ts'

describe('sources from a search tool’s full output', () => {
  it('reads web_search results, also wrapped in Letta’s {status, message}, at most 10', () => {
    const results = Array.from({ length: 12 }, (_, i) => ({
      title: `Result ${i}`,
      url: `https://example.org/${i}`,
      summary: `Summary ${i}`,
    }))
    const wrapped = JSON.stringify({
      status: 'OK',
      message: JSON.stringify({ query: 'q', results }),
    })
    const items = toolSources('web_search', wrapped)
    expect(items).toHaveLength(MAX_SOURCES)
    expect(items[0]).toEqual({ title: 'Result 0', url: 'https://example.org/0', text: 'Summary 0' })
  })

  it('reads a fetched page, archival passages (JSON or Python repr) and past conversations', () => {
    expect(
      toolSources(
        'fetch_webpage',
        JSON.stringify({ title: 'Page', url: 'https://p.org', content: 'Body' }),
      ),
    ).toEqual([{ title: 'Page', url: 'https://p.org', text: 'Body' }])
    const passages = [{ id: 'passage-1', timestamp: '2026-11-01', content: 'Ada likes comets' }]
    const expected = [{ title: 'Memory · 2026-11-01', text: 'Ada likes comets' }]
    expect(toolSources('archival_memory_search', JSON.stringify(passages))).toEqual(expected)
    expect(
      toolSources(
        'archival_memory_search',
        "[{'id': 'passage-1', 'timestamp': '2026-11-01', 'content': 'Ada likes comets', 'tags': None}]",
      ),
    ).toEqual(expected)
    expect(toolSources('conversation_search', 'You said you like comets.')).toEqual([
      { title: 'Past conversations', text: 'You said you like comets.' },
    ])
  })

  it('gives nothing for other tools and for empty results', () => {
    expect(toolSources('memory_insert', 'ok')).toEqual([])
    expect(toolSources('web_search', JSON.stringify({ query: 'q', results: [] }))).toEqual([])
    expect(toolSources('conversation_search', '  ')).toEqual([])
  })
})
