import { newId } from './frames.ts'

/**
 * Letta folders (its `Source`s) and the files uploaded into them, as Letta 0.16.8 shows them
 * (recorded): a folder carries its embedding config; an upload answers `parsing` at once and
 * Letta parses and embeds the file in the background, so its `processing_status` moves on
 * while clients poll it.
 */

/** The user and organisation Letta names when it runs without auth. */
const DEFAULT_USER = 'user-00000000-0000-4000-8000-000000000000'
const DEFAULT_ORG = 'org-00000000-0000-4000-8000-000000000000'
/** DEFAULT_EMBEDDING_CHUNK_SIZE in Letta 0.16; 32 is its default embedding batch. */
const EMBEDDING_CHUNK_SIZE = 300
const EMBEDDING_BATCH_SIZE = 32

/**
 * How file processing ends. `error` is what the recordings show: the offline Letta kit stubs
 * its parser (and has no embedding endpoint), so every file ends in `error` with the stub's
 * message. `completed` is what a Letta that can parse and embed reaches (parsing → embedding →
 * completed), not recorded: the kit cannot get there.
 */
export type FileProcessing = 'error' | 'completed'

/** The recorded error of the kit's stubbed parser. */
export const KIT_PROCESSING_ERROR = "object of type '_Dummy' has no len()"

export type SimFolder = {
  name: string
  description: string | null
  instructions: string | null
  metadata: Record<string, unknown> | null
  id: string
  embedding_config: Record<string, unknown>
  organization_id: string
  created_by_id: string
  last_updated_by_id: string
  created_at: string
  updated_at: string
}

export type SimFile = {
  id: string
  folderId: string
  /** The stored name: the folder's name, a slash, then the (possibly suffixed) file name. */
  fileName: string
  originalName: string
  type: string
  size: number
  text: string
  createdAt: string
  /** performance.now() at upload: processing moves on with time. */
  uploadedAt: number
}

/** Letta's folder timestamps: seconds, `Z`. */
const isoSecondsZ = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z')
/** Letta's file timestamps: microseconds, `Z`. */
const isoMicrosZ = () => new Date().toISOString().replace(/Z$/, '000Z')

function embeddingConfig(handle: string) {
  const slash = handle.indexOf('/')
  return {
    embedding_endpoint_type: 'openai',
    embedding_endpoint: 'https://api.openai.com/v1',
    embedding_model: handle.slice(slash + 1),
    embedding_dim: 1536,
    embedding_chunk_size: EMBEDDING_CHUNK_SIZE,
    handle,
    batch_size: EMBEDDING_BATCH_SIZE,
    azure_endpoint: null,
    azure_version: null,
    azure_deployment: null,
  }
}

export type FolderInit = {
  name: string
  embedding: string
  description?: string | null
  instructions?: string | null
  metadata?: Record<string, unknown> | null
}

export function buildFolder(init: FolderInit): SimFolder {
  const now = isoSecondsZ()
  return {
    name: init.name,
    description: init.description ?? null,
    instructions: init.instructions ?? null,
    metadata: init.metadata ?? null,
    id: newId('source'),
    embedding_config: embeddingConfig(init.embedding),
    organization_id: DEFAULT_ORG,
    created_by_id: DEFAULT_USER,
    last_updated_by_id: DEFAULT_USER,
    created_at: now,
    updated_at: now,
  }
}

/** An agent's folders list them as `Source`s, which name their vector store. */
export function viewSource(folder: SimFolder) {
  const { created_by_id, last_updated_by_id, created_at, updated_at, ...head } = folder
  return {
    ...head,
    vector_db_provider: 'native',
    created_by_id,
    last_updated_by_id,
    created_at,
    updated_at,
  }
}

/** File types Letta takes, by extension (`letta/services/file_processor/file_types.py`). */
const FILE_TYPES: Record<string, string> = {
  '.pdf': 'application/pdf',
  '.txt': 'text/plain',
  '.md': 'text/markdown',
  '.markdown': 'text/markdown',
  '.json': 'application/json',
  '.jsonl': 'application/jsonl',
  '.csv': 'text/csv',
  '.py': 'text/x-python',
  '.js': 'text/javascript',
  '.ts': 'text/x-typescript',
  '.java': 'text/x-java-source',
  '.c': 'text/x-c',
  '.cpp': 'text/x-c++',
  '.go': 'text/x-go',
  '.rs': 'text/x-rust',
  '.rb': 'text/x-ruby',
  '.html': 'text/html',
  '.css': 'text/css',
  '.xml': 'application/xml',
  '.yaml': 'text/x-yaml',
  '.yml': 'text/x-yaml',
  '.toml': 'application/toml',
  '.sh': 'text/x-shellscript',
  '.sql': 'text/x-sql',
}
const ALLOWED_TYPES = new Set([
  ...Object.values(FILE_TYPES),
  'text/x-markdown',
  'application/x-jsonlines',
  'text/xml',
])

const extensionOf = (name: string) => /\.[^./]+$/.exec(name)?.[0]?.toLowerCase() ?? ''

/**
 * The media type Letta files an upload under, or undefined when it refuses it (415): the
 * part's content type if allowed, else the one its extension names.
 */
export function uploadType(name: string, contentType: string): string | undefined {
  const declared = contentType.split(';')[0]?.trim().toLowerCase() ?? ''
  if (ALLOWED_TYPES.has(declared)) return declared
  return FILE_TYPES[extensionOf(name)]
}

/** Letta's 415 sentence (it names the type Python's mimetypes guessed; the sim, the declared one). */
export const unsupportedUpload = (name: string, contentType: string) =>
  `Unsupported file type: ${contentType || 'unknown'} (filename: ${name}). Supported types: ` +
  'PDF, text files (.txt, .md), JSON, and code files (.py, .js, .java, etc.).'

/** `notes.txt`, then `notes_(1).txt` … like Letta's `generate_unique_filename`. */
export function uniqueName(original: string, taken: (name: string) => boolean): string {
  if (!taken(original)) return original
  const extension = extensionOf(original)
  const base = original.slice(0, original.length - extension.length)
  for (let count = 1; ; count++) {
    const candidate = `${base}_(${count})${extension}`
    if (!taken(candidate)) return candidate
  }
}

export function buildFile(
  folder: SimFolder,
  upload: { name: string; originalName: string; type: string; text: string },
): SimFile {
  return {
    id: newId('file'),
    folderId: folder.id,
    fileName: `${folder.name}/${upload.name}`,
    originalName: upload.originalName,
    type: upload.type,
    size: new TextEncoder().encode(upload.text).byteLength,
    text: upload.text,
    createdAt: isoMicrosZ(),
    uploadedAt: performance.now(),
  }
}

type Progress = {
  status: 'parsing' | 'embedding' | 'completed' | 'error'
  error: string | null
  chunks: number | null
}

/** Where a file's processing stands `ms` after its upload. */
function progress(processing: FileProcessing, elapsedMs: number, processingMs: number): Progress {
  if (elapsedMs < processingMs / 2) return { status: 'parsing', error: null, chunks: null }
  if (processing === 'error') return { status: 'error', error: KIT_PROCESSING_ERROR, chunks: null }
  if (elapsedMs < processingMs) return { status: 'embedding', error: null, chunks: null }
  return { status: 'completed', error: null, chunks: 1 }
}

/**
 * A file as Letta's `FileMetadata` shows it. The upload's own answer keeps the folder prefix in
 * `file_name` and says `parsing`; lists and lookups strip the prefix (`strip_directory_prefix`).
 */
export function viewFile(
  file: SimFile,
  options: {
    processing: FileProcessing
    processingMs: number
    /** The upload's answer: `parsing`, whatever the time. */
    justUploaded?: boolean
    /** Keep the folder prefix (the upload's answer, and a skipped duplicate's). */
    prefixed?: boolean
  },
) {
  const state = options.justUploaded
    ? { status: 'parsing' as const, error: null, chunks: null }
    : progress(options.processing, performance.now() - file.uploadedAt, options.processingMs)
  return {
    source_id: file.folderId,
    file_name: options.prefixed ? file.fileName : file.fileName.replace(/^[^/]*\//, ''),
    original_file_name: file.originalName,
    file_path: null,
    file_type: file.type,
    file_size: file.size,
    file_creation_date: null,
    file_last_modified_date: null,
    processing_status: state.status,
    error_message: state.error,
    total_chunks: state.chunks,
    chunks_embedded: state.chunks,
    content: null,
    id: file.id,
    organization_id: DEFAULT_ORG,
    created_at: file.createdAt,
    updated_at: file.createdAt,
  }
}

/** `NoResultFound` for a folder id, as Letta's 404 handler words it. */
export const folderNotFound = (folderId: string) =>
  `Source not found with id='['${folderId}']', access level in ['read'] for actor='id='${DEFAULT_USER}' organization_id='${DEFAULT_ORG}' name='default_user''`

/** The tools Letta gives an agent when it attaches its first folder (and takes on the last detach). */
export const FILE_TOOLS = ['grep_files', 'semantic_search_files', 'open_files'] as const
