/**
 * Attachments on the real Letta 0.16.8: a user message with an image part (what the model gets,
 * how the message list shows it, what is refused), and a text file put in a Letta folder that an
 * agent then has (create, upload, processing status, attach, list, detach).
 */
import type { Session } from './record-session.ts'
import { newAgent, post, send } from './record-session.ts'

/** A 1×1 PNG, so a recording stays small. */
export const TINY_PNG =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC'

const withImage = (text: string, source: unknown) => [
  { type: 'text', text },
  { type: 'image', source },
]
const base64Png = { type: 'base64', media_type: 'image/png', data: TINY_PNG }

/** An embedding Letta lists for an OpenAI-compatible endpoint (the fake model serves none). */
const EMBEDDING = 'openai/text-embedding-3-small'
/** Letta parses and embeds in the background: poll the file until it is done or failed. */
const PROCESSING_TIMEOUT_MS = 30_000
const POLL_MS = 250

/**
 * `approvalAgentId`: an agent whose thread holds answered approvals, to record what becomes of
 * an image there.
 */
export async function recordImages(s: Session, approvalAgentId: string) {
  const agent = await newAgent(s, 'rec-image')
  const messages = `/v1/agents/${agent.id}/messages`
  s.keep(
    'image_stream',
    await s.watched(
      post(
        messages,
        send(withImage(`What is this? ${s.script([{ content: 'A green dot.' }])}`, base64Png)),
      ),
    ),
    'text and a base64 PNG on a fresh thread',
  )
  s.keep(
    'image_messages',
    await s.exchange({ method: 'GET', path: `${messages}?order=desc&limit=2` }),
    'the stored image: source type letta, with a file id, the media type and the data',
  )
  s.keep(
    'image_unknown_source',
    await s.exchange(
      post(messages, send(withImage('What is this?', { type: 'file', data: TINY_PNG }))),
    ),
  )
  s.keep(
    'image_missing_media_type',
    await s.exchange(
      post(messages, send(withImage('What is this?', { type: 'base64', data: TINY_PNG }))),
    ),
  )
  s.keep(
    'image_url_bad_scheme',
    await s.exchange(
      post(
        messages,
        send(withImage('What is this?', { type: 'url', url: 'ftp://example.org/a.png' })),
      ),
    ),
  )
  const created = await s.exchange(post(`/v1/conversations/?agent_id=${agent.id}`, {}))
  const conversationId = (created.json as { id?: string }).id
  s.keep(
    'conversation_image_stream',
    await s.watched(
      post(
        `/v1/conversations/${conversationId}/messages`,
        send(withImage(`And this? ${s.script([{ content: 'Another dot.' }])}`, base64Png)),
      ),
    ),
  )
  s.keep(
    'image_after_approval_stream',
    await s.watched(
      post(
        `/v1/agents/${approvalAgentId}/messages`,
        send(withImage(`What is this? ${s.script([{ content: 'I cannot see it.' }])}`, base64Png)),
      ),
    ),
    "a thread holding an answered approval: the model gets the text and '[Image omitted]'",
  )
}

async function untilProcessed(s: Session, path: string) {
  const statuses: string[] = []
  const deadline = Date.now() + PROCESSING_TIMEOUT_MS
  for (;;) {
    const exchange = await s.exchange({ method: 'GET', path })
    const status = String((exchange.json as { processing_status?: unknown }).processing_status)
    if (statuses.at(-1) !== status) statuses.push(status)
    if (status === 'completed' || status === 'error' || Date.now() > deadline) {
      return { exchange, statuses }
    }
    await Bun.sleep(POLL_MS)
  }
}

export async function recordFolders(s: Session) {
  const agent = await newAgent(s, 'rec-folder')
  const name = `owui-files-${agent.id}`
  const create = (body: unknown) => s.exchange({ method: 'POST', path: '/v1/folders/', body })
  s.keep(
    'folder_create_without_embedding',
    await create({ name, description: 'Files the person attached.' }),
    'no embedding and no default_embedding_handle on the server',
  )
  const folder = s.keep(
    'folder_create',
    await create({ name, description: 'Files the person attached.', embedding: EMBEDDING }),
  )
  const folderId = (folder.json as { id?: string }).id
  s.keep(
    'folder_list_by_name',
    await s.exchange({ method: 'GET', path: `/v1/folders/?name=${name}&limit=1` }),
  )
  const notes = { name: 'notes.txt', type: 'text/plain', text: 'Plants need light.\n' }
  const uploadPath = `/v1/folders/${folderId}/upload?duplicate_handling=skip&name=notes.txt`
  const uploaded = s.keep('folder_upload', await s.upload(uploadPath, notes))
  const fileId = (uploaded.json as { id?: string }).id
  const processed = await untilProcessed(s, `/v1/folders/${folderId}/files/${fileId}`)
  s.keep(
    'folder_file_status',
    processed.exchange,
    `processing_status while polling: ${processed.statuses.join(' → ')} (the kit stubs the parser and has no embedding endpoint)`,
  )
  s.keep('folder_files', await s.exchange({ method: 'GET', path: `/v1/folders/${folderId}/files` }))
  s.keep(
    'folder_upload_duplicate_skip',
    await s.upload(uploadPath, notes),
    'the same name again with duplicate_handling=skip: the stored file, header X-Upload-Result: skipped',
  )
  s.keep(
    'folder_upload_unsupported',
    await s.upload(`/v1/folders/${folderId}/upload`, {
      name: 'tool.exe',
      type: 'application/octet-stream',
      text: 'MZ',
    }),
  )
  const agentFolder = (verb: string) => ({
    method: 'PATCH',
    path: `/v1/agents/${agent.id}/folders/${verb}/${folderId}`,
  })
  s.keep('agent_folder_attach', await s.exchange(agentFolder('attach')))
  s.keep(
    'agent_folders',
    await s.exchange({ method: 'GET', path: `/v1/agents/${agent.id}/folders` }),
  )
  s.keep('agent_folder_detach', await s.exchange(agentFolder('detach')))
  s.keep(
    'agent_folders_after_detach',
    await s.exchange({ method: 'GET', path: `/v1/agents/${agent.id}/folders` }),
  )
  // Last: Letta answers 500 and then drops the connection, which a next request would reuse.
  s.keep(
    'folder_file_missing',
    await s.exchange({
      method: 'GET',
      path: `/v1/folders/${folderId}/files/file-00000000-0000-4000-8000-000000000000`,
    }),
    'Letta 0.16.8 fails on the unknown id (AttributeError in retrieve_file): 500',
  )
}
