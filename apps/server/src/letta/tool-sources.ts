import type { SourceItem } from '@letta-openwebui/events'
import { MAX_SOURCE_CHARS, MAX_SOURCES } from '@letta-openwebui/events'

type Json = Record<string, unknown>

const cut = (text: string, limit = MAX_SOURCE_CHARS): string =>
  text.length <= limit ? text : `${text.slice(0, limit - 1)}…`

const str = (value: unknown): string | undefined =>
  typeof value === 'string' && value.trim() ? value.trim() : undefined

/**
 * A tool's output as data. Letta returns JSON text, sometimes wrapped as
 * `{"status": "OK", "message": "<the JSON>"}`; archival search may come as a Python repr, which
 * is read as JSON after swapping its quotes when that works (CAPABILITIES.md §5: parse
 * defensively). Undefined when it is plain text.
 */
function parsed(output: string): unknown {
  const attempt = (text: string): unknown => {
    try {
      return JSON.parse(text)
    } catch {
      return undefined
    }
  }
  let value =
    attempt(output) ??
    attempt(
      output
        .replace(/'/g, '"')
        .replace(/\bNone\b/g, 'null')
        .replace(/\bTrue\b/g, 'true')
        .replace(/\bFalse\b/g, 'false'),
    )
  const message = (value as Json | undefined)?.message
  if (typeof message === 'string') value = attempt(message) ?? value
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

function webPage(value: unknown, output: string): SourceItem[] {
  const page = (value ?? {}) as Json
  const url = str(page.url)
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
 * The sources a search tool gave the agent, from its whole output, for OpenWebUI's citations;
 * empty for other tools and for empty results.
 */
export function toolSources(tool: string, output: string): SourceItem[] {
  // Only the search tools' output is read (and parsed): every other tool return passes by.
  const items =
    tool === 'web_search'
      ? webResults(parsed(output))
      : tool === 'fetch_webpage'
        ? webPage(parsed(output), output)
        : tool === 'archival_memory_search'
          ? passages(parsed(output), output)
          : tool === 'conversation_search' && output.trim()
            ? [{ title: 'Past conversations', text: cut(output.trim()) }]
            : []
  return items.filter((item) => item.text || item.url).slice(0, MAX_SOURCES)
}
