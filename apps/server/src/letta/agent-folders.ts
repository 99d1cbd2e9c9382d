import { createHash } from 'node:crypto'
import type { Attachment } from '@letta-openwebui/events'
import type { Logger } from '../log.ts'
import type { FileNote } from '../turn/user-message.ts'
import type { Letta } from './client.ts'

/** Longest Letta may take to parse and embed one file before the bridge sends its text instead. */
export const FILE_PROCESSING_MS = 60_000
/** Pause between two looks at a file's processing status (doubling from the first). */
const FIRST_POLL_MS = 250
const MAX_POLL_MS = 2_000

/** What the agent's folder is called: one per agent, so each person's files stay theirs. */
export const folderName = (agentId: string): string => `owui-files-${agentId}`

/**
 * The name a file's text is stored under: OpenWebUI's name, the first digits of the text's
 * SHA-256 (the same file sent again is found, not stored twice; another file of the same name
 * is kept apart) and `.txt`, since the text is what OpenWebUI extracted (a PDF's, too).
 */
export function storedName(file: Attachment): string {
  const hash = createHash('sha256').update(file.text).digest('hex').slice(0, 8)
  const base = file.name.replace(/[/\\]/g, '_').replace(/\.(txt|md)$/i, '')
  const extension = /\.md$/i.test(file.name) ? 'md' : 'txt'
  return `${base} (${hash}).${extension}`
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms)
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer)
        reject(signal.reason)
      },
      { once: true },
    )
  })

/**
 * The agent's Letta folder, where attached files go when a template (or the pipe's FILE_MODE
 * valve) says so: the agent then opens, greps and searches them with Letta's file tools instead
 * of reading their whole text in its context. Created and attached on first use.
 */
export class AgentFolders {
  /** Agent → its folder's id, once found or created and attached (one lookup at a time). */
  private readonly folders = new Map<string, Promise<string>>()

  constructor(
    private readonly letta: Letta,
    private readonly logger: Logger,
  ) {}

  /**
   * Stores each file in the agent's folder and waits until Letta has processed it. Returns a
   * note for each stored file and the files that could not be stored (their text then goes
   * with the message).
   */
  async store(
    agentId: string,
    embedding: string | undefined,
    files: Attachment[],
    signal: AbortSignal,
  ): Promise<{ stored: FileNote[]; failed: Attachment[] }> {
    const stored: FileNote[] = []
    const failed: Attachment[] = []
    let folderId: string
    try {
      folderId = await this.folder(agentId, embedding)
    } catch (error) {
      if (signal.aborted) throw error
      this.logger.warn('could not set up the agent folder', { agentId, cause: String(error) })
      return { stored, failed: files }
    }
    for (const file of files) {
      const name = storedName(file)
      try {
        await this.upload(folderId, name, file.text, signal)
        stored.push({ name: file.name, storedAs: name, folder: folderName(agentId) })
      } catch (error) {
        if (signal.aborted) throw error
        this.logger.warn('could not store a file in the agent folder', {
          agentId,
          cause: String(error),
        })
        failed.push(file)
      }
    }
    return { stored, failed }
  }

  private folder(agentId: string, embedding: string | undefined): Promise<string> {
    let folder = this.folders.get(agentId)
    if (!folder) {
      folder = this.findOrCreate(agentId, embedding)
      this.folders.set(agentId, folder)
      // A failure is not remembered: the next file tries again.
      folder.catch(() => this.folders.delete(agentId))
    }
    return folder
  }

  private async findOrCreate(agentId: string, embedding: string | undefined): Promise<string> {
    const name = folderName(agentId)
    const options = { maxRetries: 0 }
    const existing = await this.letta.folders.list({ name, limit: 1 }, options)
    let id = existing.items[0]?.id
    if (!id) {
      // Letta refuses a folder without an embedding: the template's, else the agent's own.
      const config = embedding
        ? undefined
        : (await this.letta.agents.retrieve(agentId, undefined, options)).embedding_config
      const folder = await this.letta.folders.create(
        {
          name,
          description: 'Files the person attached in OpenWebUI chats.',
          ...(embedding ? { embedding } : config ? { embedding_config: config } : {}),
        },
        options,
      )
      id = folder.id
    }
    const attached = await this.letta.agents.folders.list(agentId, { limit: 100 }, options)
    if (!attached.items.some((folder) => folder.id === id)) {
      await this.letta.agents.folders.attach(id, { agent_id: agentId }, options)
    }
    return id
  }

  /** Uploads one text (a file already there under the same name is kept) and waits for it. */
  private async upload(folderId: string, name: string, text: string, signal: AbortSignal) {
    const options = { maxRetries: 0, signal }
    const uploaded = await this.letta.folders.files.upload(
      folderId,
      {
        file: new File([text], name, {
          type: name.endsWith('.md') ? 'text/markdown' : 'text/plain',
        }),
        duplicate_handling: 'skip',
        name,
      },
      options,
    )
    const deadline = Date.now() + FILE_PROCESSING_MS
    let status = uploaded.processing_status
    let pause = FIRST_POLL_MS
    while (status !== 'completed') {
      if (status === 'error') throw new Error('Letta could not process the file')
      if (Date.now() + pause > deadline) throw new Error('Letta took too long to process the file')
      await sleep(pause, signal)
      pause = Math.min(pause * 2, MAX_POLL_MS)
      status = (
        await this.letta.folders.files.retrieve(uploaded.id, { folder_id: folderId }, options)
      ).processing_status
    }
  }
}
