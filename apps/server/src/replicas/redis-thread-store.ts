import type { ChatKey, ThreadRecord, ThreadStore } from '../threads/thread-store.ts'
import type { SharedStore } from './shared-store.ts'

/**
 * Chat → conversation in the shared Redis (REDIS_URL): every replica continues every chat. One
 * JSON value per chat, expiring after the retention period since its last write (Redis forgets
 * it; nothing to prune).
 */
export class RedisThreadStore implements ThreadStore {
  constructor(
    private readonly store: SharedStore,
    private readonly retentionMs: number,
  ) {}

  private key(chat: ChatKey): string {
    return this.store.key('thread', chat.template, chat.userId, chat.chatId)
  }

  async get(chat: ChatKey): Promise<ThreadRecord | undefined> {
    const value = await this.store.run(() => this.store.client.get(this.key(chat)))
    return value ? (JSON.parse(value) as ThreadRecord) : undefined
  }

  async put(chat: ChatKey, record: ThreadRecord): Promise<void> {
    await this.store.run(() =>
      this.store.client.set(this.key(chat), JSON.stringify(record), 'PX', String(this.retentionMs)),
    )
  }

  async delete(chat: ChatKey): Promise<void> {
    await this.store.run(() => this.store.client.del(this.key(chat)))
  }

  async prune(): Promise<number> {
    return 0
  }

  close(): void {}
}
