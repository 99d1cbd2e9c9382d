/**
 * Letta folders through the SDK, as Letta 0.16.8 answers them (fixtures/real/folder_*.json,
 * agent_folder*.json): create, upload, processing, duplicates, attach to an agent.
 */
import { describe, expect, it } from 'bun:test'
import type Letta from '@letta-ai/letta-client'
import type { BadRequestError } from '@letta-ai/letta-client'
import { NotFoundError } from '@letta-ai/letta-client'
import type { LettaSim, SimOptions } from '../src/index.ts'
import { startLettaSim } from '../src/index.ts'
import { sdk, useSim } from './helpers.ts'

let sim: LettaSim
let client: Letta
useSim((started) => ({ sim, client } = started))

const EMBEDDING = 'openai/text-embedding-3-small'
const notes = () => new File(['Plants need light.\n'], 'notes.txt', { type: 'text/plain' })

const folder = (letta = client, name = 'owui-files') =>
  letta.folders.create({ name, description: 'Files the person attached.', embedding: EMBEDDING })

/** Polls a file until its processing ends; returns the statuses seen in order. */
async function statuses(letta: Letta, folderId: string, fileId: string, first: string) {
  const seen = [first]
  const deadline = performance.now() + 2_000
  while (!seen.includes('completed') && !seen.includes('error') && performance.now() < deadline) {
    const file = await letta.folders.files.retrieve(fileId, { folder_id: folderId })
    if (seen.at(-1) !== file.processing_status) seen.push(String(file.processing_status))
    await Bun.sleep(5)
  }
  return seen
}

async function withSim(options: SimOptions, use: (letta: Letta) => Promise<void>) {
  const other = await startLettaSim(options)
  try {
    await use(sdk(other))
  } finally {
    await other.stop()
  }
}

describe('folders', () => {
  it('needs an embedding, one the server offers', async () => {
    const refusal = (body: Parameters<Letta['folders']['create']>[0]) =>
      client.folders.create(body).catch((error: unknown) => (error as BadRequestError).error)
    expect(await refusal({ name: 'f' })).toEqual({
      detail: 'INVALID_ARGUMENT: Must specify either embedding or embedding_config in request',
    })
    expect(await refusal({ name: 'f', embedding: 'openai/unknown' })).toEqual({
      detail: 'INVALID_ARGUMENT: Embedding model openai/unknown not found',
    })
  })

  it('creates a folder (a source-<uuid> with its embedding config) and finds it by name', async () => {
    const created = await folder()
    expect(created.id).toMatch(/^source-/)
    expect(created.embedding_config).toMatchObject({ handle: EMBEDDING, embedding_dim: 1536 })
    const found = await client.folders.list({ name: 'owui-files', limit: 1 })
    expect(found.items.map((item) => item.id)).toEqual([created.id])
    expect((await client.folders.list({ name: 'other' })).items).toEqual([])
  })

  it('uploads a file: parsing at once, then error with the recorded message by default', async () => {
    const { id: folderId } = await folder()
    const file = await client.folders.files.upload(folderId, { file: notes() })
    expect(file).toMatchObject({
      source_id: folderId,
      file_name: 'owui-files/notes.txt',
      original_file_name: 'notes.txt',
      file_type: 'text/plain',
      file_size: 19,
      processing_status: 'parsing',
    })
    expect(await statuses(client, folderId, file.id, 'parsing')).toEqual(['parsing', 'error'])
    const stored = await client.folders.files.retrieve(file.id, { folder_id: folderId })
    expect(stored).toMatchObject({
      file_name: 'notes.txt',
      error_message: "object of type '_Dummy' has no len()",
    })
    const sent = sim.requests.find((request) => request.path.endsWith('/upload'))
    expect(sent?.body).toEqual({
      multipart: {
        file: { name: 'notes.txt', type: expect.stringMatching(/^text\/plain/), size: 19 },
      },
    })
  })

  it('completes processing with fileProcessing: completed (parsing → embedding → completed)', async () => {
    await withSim({ fileProcessing: 'completed', fileProcessingMs: 40 }, async (letta) => {
      const { id: folderId } = await folder(letta)
      const file = await letta.folders.files.upload(folderId, { file: notes() })
      expect(await statuses(letta, folderId, file.id, 'parsing')).toEqual([
        'parsing',
        'embedding',
        'completed',
      ])
    })
  })

  it('handles a name already there as asked: skip, suffix, error', async () => {
    const { id: folderId } = await folder()
    const first = await client.folders.files.upload(folderId, { file: notes(), name: 'notes.txt' })
    const response = await client.folders.files
      .upload(folderId, { file: notes(), name: 'notes.txt', duplicate_handling: 'skip' })
      .asResponse()
    expect(response.headers.get('x-upload-result')).toBe('skipped')
    expect(((await response.json()) as { id: string }).id).toBe(first.id)
    const suffixed = await client.folders.files.upload(folderId, { file: notes() })
    expect(suffixed.file_name).toBe('owui-files/notes_(1).txt')
    const refused = await client.folders.files
      .upload(folderId, { file: notes(), duplicate_handling: 'error' })
      .catch((error: unknown) => error)
    expect((refused as BadRequestError).error).toEqual({
      detail: "INVALID_ARGUMENT: File 'notes.txt' already exists in folder 'owui-files'",
    })
    expect((await client.folders.files.list(folderId)).items).toHaveLength(2)
  })

  it('refuses a type Letta does not parse with 415, and an unknown folder with 404', async () => {
    const { id: folderId } = await folder()
    const exe = new File(['MZ'], 'tool.exe', { type: 'application/octet-stream' })
    const refused = await client.folders.files
      .upload(folderId, { file: exe })
      .catch((error: unknown) => error)
    expect((refused as { status?: number }).status).toBe(415)
    const missing = await client.folders.files
      .upload('source-00000000-0000-4000-8000-000000000000', { file: notes() })
      .catch((error: unknown) => error)
    expect(missing).toBeInstanceOf(NotFoundError)
  })
})

describe('an agent’s folders', () => {
  it('attaches a folder with the file tools, lists it, and detaches it again', async () => {
    const agentId = sim.createAgent().id
    const { id: folderId } = await folder()
    expect(await client.agents.folders.attach(folderId, { agent_id: agentId })).toBeNull()
    const attached = await client.agents.folders.list(agentId)
    expect(attached.items.map((item) => item.id)).toEqual([folderId])
    expect(attached.items[0]).toMatchObject({ vector_db_provider: 'native' })
    const tools = () => sim.agents.get(agentId)?.tools.map((tool) => tool.name)
    expect(tools()).toEqual(['open_files', 'semantic_search_files', 'grep_files'])
    expect(await client.agents.folders.detach(folderId, { agent_id: agentId })).toBeNull()
    expect((await client.agents.folders.list(agentId)).items).toEqual([])
    expect(tools()).toEqual([])
  })

  it('answers 404 for an unknown agent or folder', async () => {
    const { id: folderId } = await folder()
    const unknownAgent = await client.agents.folders
      .attach(folderId, { agent_id: 'agent-00000000-0000-4000-8000-000000000000' })
      .catch((error: unknown) => error)
    expect((unknownAgent as NotFoundError).error).toEqual({ detail: 'Agent not found' })
    const agentId = sim.createAgent().id
    const unknownFolder = await client.agents.folders
      .attach('source-00000000-0000-4000-8000-000000000000', { agent_id: agentId })
      .catch((error: unknown) => error)
    expect(unknownFolder).toBeInstanceOf(NotFoundError)
  })
})
