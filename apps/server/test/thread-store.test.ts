import { Database } from 'bun:sqlite'
import { describe, expect, it } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLogger } from '../src/log.ts'
import { startServer } from '../src/server.ts'
import { SqliteThreadStore } from '../src/threads/thread-store.ts'
import { BRIDGE_KEY, eventually } from './utils.ts'

const DAY_MS = 24 * 60 * 60 * 1000
const chat = (chatId: string) => ({ userId: 'u', template: 'tutor', chatId })
const record = { agentId: 'agent-1', conversationId: 'conv-1', seen: [] }

/** A store file with chat `old` last written `days` ago and chat `fresh` just now. */
async function storeWithAnOldChat(days: number) {
  const dir = mkdtempSync(join(tmpdir(), 'thread-store-'))
  const path = join(dir, 'threads.sqlite')
  const store = new SqliteThreadStore(path)
  await store.put(chat('old'), record)
  await store.put(chat('fresh'), record)
  store.close()
  const db = new Database(path)
  db.run("UPDATE threads SET updated_at = ? WHERE chat_id = 'old'", [Date.now() - days * DAY_MS])
  db.close()
  return { dir, path }
}

describe('the thread store', () => {
  it('keeps a chat across reopening the file, and forgets chats unused for longer than asked', async () => {
    const { dir, path } = await storeWithAnOldChat(400)
    const store = new SqliteThreadStore(path)
    try {
      expect(await store.get(chat('old'))).toEqual(record)
      expect(await store.prune(Date.now() - 365 * DAY_MS)).toBe(1)
      expect(await store.get(chat('old'))).toBeUndefined()
      expect(await store.get(chat('fresh'))).toEqual(record)
    } finally {
      store.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('is pruned when the bridge starts, by THREAD_RETENTION_DAYS', async () => {
    const { dir, path } = await storeWithAnOldChat(40)
    const logs: string[] = []
    const server = await startServer({
      port: 0,
      host: '127.0.0.1',
      bridgeApiKey: BRIDGE_KEY,
      dataDir: dir,
      threadRetentionDays: 30,
      logger: createLogger('info', { write: (line) => logs.push(line) }),
    })
    try {
      expect(await eventually(() => logs.some((line) => line.includes('forgot chats')))).toBe(true)
      expect(logs.find((line) => line.includes('forgot chats'))).toContain('"forgotten":1')
    } finally {
      await server.stop()
    }
    const store = new SqliteThreadStore(path)
    expect(await store.get(chat('old'))).toBeUndefined()
    expect(await store.get(chat('fresh'))).toEqual(record)
    store.close()
    rmSync(dir, { recursive: true, force: true })
  })
})
