/**
 * Search tools on the real Letta 0.16.8, with long results: what the bridge builds OpenWebUI's
 * sources from. A thread with long messages is searched (`conversation_search`), a long passage
 * is stored and found again (`archival_memory_insert` / `archival_memory_search`, embedded by
 * the fake model's `/v1/embeddings`), and the web tools are called as the kit has them
 * (`fetch_webpage` of a long page on a loopback server, `web_search` without Exa).
 */
import { recordedAgentBody } from '@letta-openwebui/letta-sim'
import type { Session } from './record-session.ts'
import { post, send } from './record-session.ts'

/** Long enough that a search's output is well over the bridge's 500-character status line. */
const LONG_NOTE = Array.from(
  { length: 12 },
  (_, i) => `Note ${i}: Halley's comet comes back about every 76 years on its long orbit.`,
).join(' ')

/** The built-in tools a letta_v1_agent lacks by default, and an embedding model for archival. */
const SEARCH_AGENT = {
  tools: ['web_search', 'fetch_webpage', 'archival_memory_insert', 'archival_memory_search'],
  embedding: 'openai/text-embedding-3-small',
}

const searchAgentBody = () => ({ ...recordedAgentBody('rec-search'), ...SEARCH_AGENT })

/** A long article on 127.0.0.1, for `fetch_webpage`. */
function startPage() {
  const paragraphs = Array.from(
    { length: 40 },
    (_, i) => `<p>Paragraph ${i}: comets are icy bodies that grow a tail near the Sun.</p>`,
  ).join('')
  return Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    fetch: () =>
      new Response(
        `<!doctype html><html><head><title>Comets</title></head><body><article><h1>Comets</h1>${paragraphs}</article></body></html>`,
        { headers: { 'content-type': 'text/html; charset=utf-8' } },
      ),
  })
}

/** One scripted tool call, then a short answer: the model's side of a search turn. */
const searchTurn = (s: Session, name: string, args: Record<string, unknown>, answer: string) =>
  s.script([
    { reasoning: 'Let me look that up.', toolCalls: [{ name, arguments: args }] },
    { content: answer },
  ])

export async function recordSearch(s: Session): Promise<void> {
  const { keep } = s
  const created = await s.exchange({
    method: 'POST',
    path: '/v1/agents/',
    body: searchAgentBody(),
  })
  const agentId = (created.json as { id?: string }).id
  if (!agentId) throw new Error(`search agent create failed: ${JSON.stringify(created.json)}`)
  const messages = `/v1/agents/${agentId}/messages`

  // Long messages first, so that a search of the thread finds them.
  for (const turn of ['first', 'second']) {
    const marker = s.script([{ content: `About comets (${turn}): ${LONG_NOTE}` }])
    await s.exchange(post(messages, send(`Tell me about Halley (${turn}). ${marker}`)))
  }
  const conversation = searchTurn(s, 'conversation_search', { query: 'Halley' }, 'Found them.')
  keep(
    'search_conversation_stream',
    await s.watched(post(messages, send(`What did we say about Halley? ${conversation}`))),
    'conversation_search over long messages: the whole result in tool_return (a Python repr)',
  )
  keep(
    'search_conversation_messages',
    await s.exchange({ method: 'GET', path: `${messages}?order=desc&limit=3` }),
    'the stored tool return: the same text as streamed',
  )

  const insert = searchTurn(
    s,
    'archival_memory_insert',
    { content: `Halley's comet, a "periodic" comet. ${LONG_NOTE}` },
    'Stored.',
  )
  keep(
    'search_archival_insert_stream',
    await s.exchange(post(messages, send(`Keep this about Halley. ${insert}`))),
  )
  const archival = searchTurn(s, 'archival_memory_search', { query: 'Halley comet' }, 'Found it.')
  keep(
    'search_archival_stream',
    await s.watched(post(messages, send(`What do you remember of Halley? ${archival}`))),
    'archival_memory_search: a list of passages as a Python repr',
  )

  const page = startPage()
  try {
    const fetchPage = searchTurn(
      s,
      'fetch_webpage',
      { url: `http://127.0.0.1:${page.port}/comets` },
      'I could not read it.',
    )
    keep(
      'search_fetch_webpage_stream',
      await s.exchange(post(messages, send(`Read this page about comets. ${fetchPage}`))),
      'the kit has neither lxml nor trafilatura: fetch_webpage fails on import, before fetching',
    )
  } finally {
    page.stop(true)
  }
  const web = searchTurn(s, 'web_search', { query: 'Halley comet' }, 'The search failed.')
  keep(
    'search_web_stream',
    await s.exchange(post(messages, send(`Search the web for Halley. ${web}`))),
    'web_search without exa-py (and without an Exa key): an error return',
  )
}
