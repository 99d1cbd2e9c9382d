import { Database } from 'bun:sqlite'
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'

/** One message of a chat as the bridge last saw it delivered to the chat's Letta thread. */
export type SeenMessage = {
  role: 'user' | 'assistant'
  /** fingerprint() of its text (packages/events). */
  fp: string
  /** Letta's id of the answer's last message, where a fork may cut the thread. */
  messageId?: string
  /** The agent called a memory tool while writing this answer. */
  wroteMemory?: boolean
}

/** Which OpenWebUI chat: a user's chat with one template's agent. */
export type ChatKey = { userId: string; template: string; chatId: string }

/** A chat's Letta conversation and the messages it holds, as the chat showed them. */
export type ThreadRecord = {
  agentId: string
  conversationId: string
  /** Every message of the chat the conversation holds, oldest first. */
  seen: SeenMessage[]
  /** When, and against which memory, the conversation's system prompt was last compiled. */
  compiled?: CompiledStamp
  /** The last turn stopped for the person's approval: the answer it had shown until then. */
  awaiting?: string
  /** OpenWebUI ids of the files the conversation has been given (sent once per thread). */
  files?: string[]
}

/**
 * Letta 0.16.8 compiles a conversation's system prompt (with the agent's memory blocks) when the
 * conversation is created and then only on `recompile`: a memory write, even in the same
 * conversation, is not seen by its next turn until then.
 */
export type CompiledStamp = {
  /** The bridge process that knew the agent's memory version then. */
  boot: string
  /** Memory writes this process had seen for the agent then. */
  memory: number
  /** Date.now() of the compile. */
  at: number
}

/**
 * Where chat → conversation lives. Asynchronous on purpose: the embedded store is SQLite in the
 * data directory, a shared one (several replicas) can sit on a network store behind the same calls.
 */
export interface ThreadStore {
  get(key: ChatKey): Promise<ThreadRecord | undefined>
  put(key: ChatKey, record: ThreadRecord): Promise<void>
  delete(key: ChatKey): Promise<void>
  /** Forgets chats not written since `before` (ms since the epoch); returns how many. */
  prune(before: number): Promise<number>
  close(): void
}

/** The embedded store: one SQLite file (WAL), one row per chat, zero set-up. */
export class SqliteThreadStore implements ThreadStore {
  private readonly db: Database
  private readonly select
  private readonly upsert
  private readonly remove
  private readonly removeOld

  /** `path` is a file (its directory is created) or `:memory:`. */
  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true })
    this.db = new Database(path, { create: true, strict: true })
    this.db.run('PRAGMA journal_mode = WAL')
    // No fsync per turn: a power cut may lose the newest rows (those chats then start a new
    // thread, carrying what they show), never corrupt the file.
    this.db.run('PRAGMA synchronous = NORMAL')
    // A second bridge process on the same file waits for the lock instead of failing at once.
    this.db.run('PRAGMA busy_timeout = 5000')
    this.db.run(`CREATE TABLE IF NOT EXISTS threads (
      user_id TEXT NOT NULL,
      template TEXT NOT NULL,
      chat_id TEXT NOT NULL,
      agent_id TEXT NOT NULL,
      conversation_id TEXT NOT NULL,
      seen TEXT NOT NULL,
      compiled TEXT,
      state TEXT,
      updated_at INTEGER NOT NULL,
      PRIMARY KEY (user_id, template, chat_id)
    ) WITHOUT ROWID`)
    // A data directory from before approvals and files.
    const columns = this.db.query<{ name: string }, []>('PRAGMA table_info(threads)').all()
    if (!columns.some((column) => column.name === 'state'))
      this.db.run('ALTER TABLE threads ADD COLUMN state TEXT')
    this.db.run('CREATE INDEX IF NOT EXISTS threads_by_age ON threads (updated_at)')
    this.select = this.db.query<
      {
        agent_id: string
        conversation_id: string
        seen: string
        compiled: string | null
        state: string | null
      },
      [string, string, string]
    >(
      'SELECT agent_id, conversation_id, seen, compiled, state FROM threads WHERE user_id = ? AND template = ? AND chat_id = ?',
    )
    this.upsert = this.db.query(
      `INSERT INTO threads (user_id, template, chat_id, agent_id, conversation_id, seen, compiled, state, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (user_id, template, chat_id) DO UPDATE SET
         agent_id = excluded.agent_id, conversation_id = excluded.conversation_id,
         seen = excluded.seen, compiled = excluded.compiled, state = excluded.state,
         updated_at = excluded.updated_at`,
    )
    this.remove = this.db.query(
      'DELETE FROM threads WHERE user_id = ? AND template = ? AND chat_id = ?',
    )
    this.removeOld = this.db.query('DELETE FROM threads WHERE updated_at < ?')
  }

  async get(key: ChatKey): Promise<ThreadRecord | undefined> {
    const row = this.select.get(key.userId, key.template, key.chatId)
    if (!row) return undefined
    return {
      agentId: row.agent_id,
      conversationId: row.conversation_id,
      seen: JSON.parse(row.seen) as SeenMessage[],
      ...(row.compiled ? { compiled: JSON.parse(row.compiled) as CompiledStamp } : {}),
      ...(row.state ? (JSON.parse(row.state) as Pick<ThreadRecord, 'awaiting' | 'files'>) : {}),
    }
  }

  async put(key: ChatKey, record: ThreadRecord): Promise<void> {
    this.upsert.run(
      key.userId,
      key.template,
      key.chatId,
      record.agentId,
      record.conversationId,
      JSON.stringify(record.seen),
      record.compiled ? JSON.stringify(record.compiled) : null,
      record.awaiting !== undefined || record.files?.length
        ? JSON.stringify({ awaiting: record.awaiting, files: record.files })
        : null,
      Date.now(),
    )
  }

  async delete(key: ChatKey): Promise<void> {
    this.remove.run(key.userId, key.template, key.chatId)
  }

  async prune(before: number): Promise<number> {
    return this.removeOld.run(before).changes
  }

  close(): void {
    this.db.close()
  }
}
