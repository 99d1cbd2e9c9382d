import type { SourceItem } from '@letta-openwebui/events'
import { MAX_SOURCE_CHARS, MAX_SOURCES } from '@letta-openwebui/events'
import { parsePythonLiteral } from './python-literal.ts'

type Json = Record<string, unknown>

const cut = (text: string, limit = MAX_SOURCE_CHARS): string =>
  text.length <= limit ? text : `${text.slice(0, limit - 1)}…`

const str = (value: unknown): string | undefined =>
  typeof value === 'string' && value.trim() ? value.trim() : undefined

/**
 * A tool's output as data. Letta 0.16.8 streams a tool's dict or list return as Python's
 * `str()` of it (conversation_search, archival_memory_search: recorded from the real server),
 * and a string return as it is: JSON text from the web tools (with Exa), sometimes wrapped as
 * `{"status": "OK", "message": "<the JSON>"}`. Undefined when it is plain text (fetch_webpage's
 * markdown without Exa).
 */
function parsed(output: string): unknown {
  const attempt = (text: string): unknown => {
    const trimmed = text.trim()
    if (!/^[[{(]/.test(trimmed)) return undefined
    try {
      return JSON.parse(trimmed)
    } catch {
      return parsePythonLiteral(trimmed)
    }
  }
  let value = attempt(output)
  const message = (value as Json | undefined)?.message
  if (typeof message === 'string') value = attempt(message) ?? value
  else if (message && typeof message === 'object') value = message
  return value
}

const objects = (value: unknown): Json[] =>
  Array.isArray(value)
    ? value.filter((item): item is Json => typeof item === 'object' && item !== null)
    : []

function webResults(value: unknown): SourceItem[] {
  return objects((value as Json | undefined)?.results).map((result) => {
    const highlights = Array.isArray(result.highlights)
      ? result.highlights.filter((part) => typeof part === 'string').join(' … ')
      : undefined
    const url = str(result.url)
    return {
      title: cut(str(result.title) ?? url ?? 'Web result', 300),
      ...(url ? { url: cut(url, 2_000) } : {}),
      text: cut(str(highlights) ?? str(result.summary) ?? str(result.text) ?? ''),
    }
  })
}

/**
 * fetch_webpage: without an Exa key Letta returns the page as markdown text (trafilatura or
 * readability); with one, JSON `{title, published_date, author, text}`. Neither names the URL:
 * it comes from the call's own `url` argument.
 */
function webPage(value: unknown, output: string, args: Json): SourceItem[] {
  const page = (value ?? {}) as Json
  const url = str(page.url) ?? str(args.url)
  const text = str(page.content) ?? str(page.text) ?? str(page.markdown) ?? (value ? '' : output)
  return [
    {
      title: cut(str(page.title) ?? url ?? 'Web page', 300),
      ...(url ? { url: cut(url, 2_000) } : {}),
      text: cut(text),
    },
  ]
}

function passages(value: unknown, output: string): SourceItem[] {
  const found = objects(Array.isArray(value) ? value : (value as Json | undefined)?.results)
  if (found.length === 0)
    return output.trim() ? [{ title: 'Memory', text: cut(output.trim()) }] : []
  return found.map((passage) => ({
    title: cut(`Memory${str(passage.timestamp) ? ` · ${str(passage.timestamp)}` : ''}`, 300),
    text: cut(str(passage.content) ?? str(passage.text) ?? ''),
  }))
}

/**
 * conversation_search: `{'message': 'Showing N results:', 'results': [{timestamp, time_ago,
 * role, relevance?, content}]}` (a message whose text is JSON has that JSON's fields instead of
 * `content`); `{'message': 'No results found.', 'results': []}`. Plain text (older Letta) is one
 * source.
 */
function pastMessages(value: unknown, output: string): SourceItem[] {
  const results = (value as Json | undefined)?.results
  if (!Array.isArray(results)) {
    return output.trim() ? [{ title: 'Past conversations', text: cut(output.trim()) }] : []
  }
  return objects(results).map((found) => {
    const { timestamp, time_ago: _ago, role, relevance: _relevance, ...rest } = found
    const text =
      str(found.content) ??
      str(found.message) ??
      (Object.keys(rest).length ? JSON.stringify(rest) : '')
    const label = [str(role), str(timestamp)].filter(Boolean).join(' · ')
    return { title: cut(`Past conversation${label ? ` · ${label}` : ''}`, 300), text: cut(text) }
  })
}

/** The tool call's arguments (the model's JSON), or none. */
function callArguments(args: string): Json {
  try {
    const value: unknown = JSON.parse(args)
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Json)
      : {}
  } catch {
    return {}
  }
}

/**
 * The sources a search tool gave the agent, from its whole output, for OpenWebUI's citations;
 * empty for other tools and for empty results.
 */
export function toolSources(tool: string, output: string, args = ''): SourceItem[] {
  // Only the search tools' output is read (and parsed): every other tool return passes by.
  const items =
    tool === 'web_search'
      ? webResults(parsed(output))
      : tool === 'fetch_webpage'
        ? webPage(parsed(output), output, callArguments(args))
        : tool === 'archival_memory_search'
          ? passages(parsed(output), output)
          : tool === 'conversation_search'
            ? pastMessages(parsed(output), output)
            : []
  return items.filter((item) => item.text || item.url).slice(0, MAX_SOURCES)
}
