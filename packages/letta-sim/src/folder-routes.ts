import type { AgentState } from '@letta-ai/letta-client/resources/agents/agents'
import type { SimFile, SimFolder } from './folders.ts'
import {
  buildFile,
  buildFolder,
  FILE_TOOLS,
  folderNotFound,
  uniqueName,
  unsupportedUpload,
  uploadType,
  viewFile,
  viewSource,
} from './folders.ts'
import type { Multipart, Route } from './http.ts'
import { isSdkClient, json, queryValue } from './http.ts'
import { invalidBody } from './responses.ts'
import type { LettaCall } from './server.ts'

/**
 * Letta's folder routes the bridge uses (`routers/v1/folders.py`, the folder routes of
 * `agents.py`): create and find a folder, upload a file and poll its processing, attach the
 * folder to an agent and list an agent's folders.
 */

/** Letta's default pages: folders 50, a folder's files 1000, an agent's folders 100. */
const FOLDERS_PAGE = 50
const FILES_PAGE = 1000
const AGENT_FOLDERS_PAGE = 100

type Body = Record<string, unknown>
const asBody = (body: unknown): Body =>
  typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Body) : {}

const notFound = (detail: string) => json({ detail }, 404)

/** Pages like Letta's list routes: in creation order (or reversed), after/before a cursor. */
function page<T extends { id: string }>(
  items: T[],
  call: LettaCall,
  defaults: { order: 'asc' | 'desc'; limit: number },
): T[] {
  const order = queryValue(call.query, 'order') ?? defaults.order
  let found = order === 'desc' ? [...items].reverse() : [...items]
  const cursor = (key: string) => {
    const id = queryValue(call.query, key)
    return id === undefined ? -1 : found.findIndex((item) => item.id === id)
  }
  const after = cursor('after')
  if (after !== -1) found = found.slice(after + 1)
  const before = cursor('before')
  if (before !== -1) found = found.slice(0, before)
  const limit = Number(queryValue(call.query, 'limit') ?? defaults.limit)
  return found.slice(0, Number.isInteger(limit) && limit >= 0 ? limit : defaults.limit)
}

/** `POST /v1/folders`: an embedding handle (or config) is required, as this Letta has no default. */
function createFolder(call: LettaCall): Response {
  const body = asBody(call.body)
  if (typeof body.name !== 'string') {
    return invalidBody("[{'type': 'missing', 'loc': ('body', 'name'), 'msg': 'Field required'}]")
  }
  const config = body.embedding_config
  const handle = body.embedding
  if (typeof config !== 'object' || config === null) {
    if (typeof handle !== 'string') {
      return json(
        {
          detail: 'INVALID_ARGUMENT: Must specify either embedding or embedding_config in request',
        },
        400,
      )
    }
    if (!call.state.settings.models.embedding.includes(handle)) {
      return json({ detail: `INVALID_ARGUMENT: Embedding model ${handle} not found` }, 400)
    }
  }
  const folder = buildFolder({
    name: body.name,
    embedding: typeof handle === 'string' ? handle : 'openai/text-embedding-3-small',
    description: typeof body.description === 'string' ? body.description : null,
    instructions: typeof body.instructions === 'string' ? body.instructions : null,
    metadata: typeof body.metadata === 'object' ? (body.metadata as Body | null) : null,
  })
  if (typeof config === 'object' && config !== null) folder.embedding_config = config as Body
  call.state.folders.set(folder.id, folder)
  return json(folder)
}

/** `GET /v1/folders`: oldest first by default, `name` an exact match. */
function listFolders(call: LettaCall): Response {
  const name = queryValue(call.query, 'name')
  const folders = [...call.state.folders.values()].filter(
    (folder) => name === undefined || folder.name === name,
  )
  return json(page(folders, call, { order: 'asc', limit: FOLDERS_PAGE }))
}

function knownFolder(call: LettaCall, folderId: string): SimFolder | Response {
  return call.state.folders.get(folderId) ?? notFound(folderNotFound(folderId))
}

function retrieveFolder(call: LettaCall, [folderId = '']: string[]): Response {
  const folder = knownFolder(call, folderId)
  return folder instanceof Response ? folder : json(folder)
}

const filesOf = (call: LettaCall, folderId: string): SimFile[] =>
  [...call.state.files.values()].filter((file) => file.folderId === folderId)

const fileView = (
  call: LettaCall,
  file: SimFile,
  extra: { justUploaded?: boolean; prefixed?: boolean } = {},
) =>
  viewFile(file, {
    processing: call.state.settings.fileProcessing,
    processingMs: call.state.settings.fileProcessingMs,
    ...extra,
  })

/**
 * `POST /v1/folders/{id}/upload` (multipart `file`, query `duplicate_handling` and `name`), in
 * Letta's order: the type (415), the folder (404), a file of the same name (by
 * `duplicate_handling`: `suffix` renames, `error` refuses, `skip` answers the stored file with
 * `X-Upload-Result: skipped`, `replace` deletes it), then the new file, `parsing`.
 */
function uploadFile(call: LettaCall, [folderId = '']: string[]): Response | Promise<Response> {
  const part = (call.body as Partial<Multipart> | undefined)?.multipart?.file
  if (!(part instanceof File)) {
    return invalidBody("[{'type': 'missing', 'loc': ('body', 'file'), 'msg': 'Field required'}]")
  }
  const type = uploadType(part.name, part.type)
  if (!type) return json({ detail: unsupportedUpload(part.name, part.type) }, 415)
  const folder = knownFolder(call, folderId)
  if (folder instanceof Response) return folder
  const original = queryValue(call.query, 'name') ?? part.name.replace(/^.*[/\\]/, '')
  const handling = queryValue(call.query, 'duplicate_handling') ?? 'suffix'
  const files = filesOf(call, folder.id)
  const existing = files.find((file) => file.originalName === original)
  if (existing && handling === 'error') {
    return json(
      {
        detail: `INVALID_ARGUMENT: File '${original}' already exists in folder '${folder.name}'`,
      },
      400,
    )
  }
  if (existing && handling === 'skip') {
    return Response.json(fileView(call, existing, { prefixed: true }), {
      headers: { 'content-type': 'application/json', 'x-upload-result': 'skipped' },
    })
  }
  if (existing && handling === 'replace') call.state.files.delete(existing.id)
  const name =
    existing && handling === 'replace'
      ? original
      : uniqueName(original, (candidate) =>
          filesOf(call, folder.id).some((file) => file.fileName === `${folder.name}/${candidate}`),
        )
  return part.text().then((text) => {
    const file = buildFile(folder, { name, originalName: original, type, text })
    call.state.files.set(file.id, file)
    return json(fileView(call, file, { justUploaded: true, prefixed: true }))
  })
}

/** `GET /v1/folders/{id}/files`: newest first. */
function listFiles(call: LettaCall, [folderId = '']: string[]): Response {
  const files = filesOf(call, folderId).map((file) => ({ ...file, view: fileView(call, file) }))
  return json(page(files, call, { order: 'desc', limit: FILES_PAGE }).map((file) => file.view))
}

/**
 * `GET /v1/folders/{id}/files/{file_id}`. An unknown file id fails inside Letta 0.16.8
 * (AttributeError): 500, recorded.
 */
function retrieveFile(call: LettaCall, [folderId = '', fileId = '']: string[]): Response {
  const file = call.state.files.get(fileId)
  if (!file) return json({ detail: 'An unknown error occurred' }, 500)
  if (file.folderId !== folderId) {
    return notFound(`File with id=${fileId} not found in folder ${folderId}`)
  }
  return json(fileView(call, file))
}

/** An agent and a folder named in the path, or Letta's 404 for either. */
function agentAndFolder(call: LettaCall, agentId: string, folderId: string) {
  const agent = call.state.agents.get(agentId)
  if (!agent) return notFound('Agent not found')
  const folder = knownFolder(call, folderId)
  return folder instanceof Response ? folder : { agent, folder }
}

/** SDK 1.x clients get nothing back from attach and detach; older ones the agent. */
const agentAnswer = (call: LettaCall, agent: AgentState) =>
  json(isSdkClient(call.request.headers) ? null : agent)

/** Attaching gives the agent Letta's file tools (open, grep, semantic search). */
function attachFolder(call: LettaCall, [agentId = '', folderId = '']: string[]): Response {
  const found = agentAndFolder(call, agentId, folderId)
  if (found instanceof Response) return found
  const { agent, folder } = found
  if (!agent.sources.some((source) => source.id === folder.id)) {
    agent.sources.push(viewSource(folder) as unknown as AgentState['sources'][number])
  }
  for (const name of FILE_TOOLS) {
    if (!agent.tools.some((tool) => tool.name === name)) {
      agent.tools.unshift({ id: `tool-${crypto.randomUUID()}`, name })
    }
  }
  return agentAnswer(call, agent)
}

/** Detaching the last folder takes the file tools away again. */
function detachFolder(call: LettaCall, [agentId = '', folderId = '']: string[]): Response {
  const found = agentAndFolder(call, agentId, folderId)
  if (found instanceof Response) return found
  const { agent, folder } = found
  agent.sources = agent.sources.filter((source) => source.id !== folder.id)
  if (agent.sources.length === 0) {
    agent.tools = agent.tools.filter(
      (tool) => !(FILE_TOOLS as readonly (string | null | undefined)[]).includes(tool.name),
    )
  }
  return agentAnswer(call, agent)
}

/** `GET /v1/agents/{id}/folders`: the attached folders as `Source`s, newest first. */
function listAgentFolders(call: LettaCall, [agentId = '']: string[]): Response {
  const agent = call.state.agents.get(agentId)
  if (!agent) return notFound('Agent not found')
  const attached = agent.sources.flatMap((source) => {
    const folder = call.state.folders.get(source.id)
    return folder ? [folder] : []
  })
  return json(page(attached, call, { order: 'desc', limit: AGENT_FOLDERS_PAGE }).map(viewSource))
}

const ID = '([^/]+)'

export const FOLDER_ROUTES: Route<LettaCall>[] = [
  { method: 'POST', pattern: /^\/v1\/folders$/, handle: createFolder },
  { method: 'GET', pattern: /^\/v1\/folders$/, handle: listFolders },
  { method: 'GET', pattern: new RegExp(`^/v1/folders/${ID}$`), handle: retrieveFolder },
  { method: 'POST', pattern: new RegExp(`^/v1/folders/${ID}/upload$`), handle: uploadFile },
  { method: 'GET', pattern: new RegExp(`^/v1/folders/${ID}/files$`), handle: listFiles },
  {
    method: 'GET',
    pattern: new RegExp(`^/v1/folders/${ID}/files/${ID}$`),
    handle: retrieveFile,
  },
  {
    method: 'PATCH',
    pattern: new RegExp(`^/v1/agents/${ID}/folders/attach/${ID}$`),
    handle: attachFolder,
  },
  {
    method: 'PATCH',
    pattern: new RegExp(`^/v1/agents/${ID}/folders/detach/${ID}$`),
    handle: detachFolder,
  },
  { method: 'GET', pattern: new RegExp(`^/v1/agents/${ID}/folders$`), handle: listAgentFolders },
]
