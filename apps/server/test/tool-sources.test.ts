import { describe, expect, it } from 'bun:test'
import { MAX_SOURCES } from '@letta-openwebui/events'
import { parsePythonLiteral } from '../src/letta/python-literal.ts'
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

  it('reads the Python repr Letta 0.16.8 streams for conversation_search, quotes and escapes', () => {
    const output =
      "{'message': 'Showing 2 results:', 'results': [{'timestamp': '2026-11-01T10:00:00+00:00', " +
      "'time_ago': '2m ago', 'role': 'user', 'relevance': {'search_mode': 'sql'}, " +
      `'content': 'it\\'s "Halley"\\nline two'}, {'timestamp': '2026-11-01T10:00:01+00:00', ` +
      `'time_ago': '2m ago', 'role': 'assistant', 'content': "Halley's comet \\u00e9"}]}`
    expect(toolSources('conversation_search', output)).toEqual([
      {
        title: 'Past conversation · user · 2026-11-01T10:00:00+00:00',
        text: 'it\'s "Halley"\nline two',
      },
      {
        title: 'Past conversation · assistant · 2026-11-01T10:00:01+00:00',
        text: "Halley's comet é",
      },
    ])
    expect(
      toolSources('conversation_search', "{'message': 'No results found.', 'results': []}"),
    ).toEqual([])
  })

  it('names a fetched page by the URL the agent asked for (Letta returns markdown, or Exa JSON)', () => {
    const args = JSON.stringify({ url: 'https://example.org/comets' })
    expect(toolSources('fetch_webpage', '# Comets\n\nIcy bodies.', args)).toEqual([
      {
        title: 'https://example.org/comets',
        url: 'https://example.org/comets',
        text: '# Comets\n\nIcy bodies.',
      },
    ])
    const exa = JSON.stringify({
      title: 'Comets',
      published_date: null,
      author: null,
      text: 'Icy.',
    })
    expect(toolSources('fetch_webpage', exa, args)).toEqual([
      { title: 'Comets', url: 'https://example.org/comets', text: 'Icy.' },
    ])
  })

  it('gives nothing for other tools and for empty results', () => {
    expect(toolSources('memory_insert', 'ok')).toEqual([])
    expect(toolSources('web_search', JSON.stringify({ query: 'q', results: [] }))).toEqual([])
    expect(toolSources('conversation_search', '  ')).toEqual([])
  })
})

describe('Python literals in tool outputs', () => {
  it("keeps a '__proto__' key as data, as JSON.parse does", () => {
    const value = parsePythonLiteral("{'__proto__': {'polluted': True}, 'a': 1}") as Record<
      string,
      unknown
    >
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype)
    expect(Object.keys(value)).toEqual(['__proto__', 'a'])
    expect((value as { polluted?: boolean }).polluted).toBeUndefined()
  })
})
