import { createHash } from 'node:crypto'
import { RedisClient } from 'bun'

/** Redis failed or cannot be reached: what replicas share is not available right now. */
export class SharedStateUnavailable extends Error {
  override name = 'SharedStateUnavailable'
}

/** A command to Redis waits no longer than this; Redis answers in well under a millisecond. */
const COMMAND_TIMEOUT_MS = 2_000

/**
 * The Redis that replicas share (REDIS_URL). Keys are prefixed with the bridge's name and the
 * Letta server's address, so bridges of different Lettas can share one Redis. Commands fail at
 * once while it is unreachable (no offline queue), bounded by COMMAND_TIMEOUT_MS, so no turn
 * waits on a Redis that is down.
 */
export class SharedStore {
  readonly client: RedisClient
  private readonly prefix: string
  /** The connection being made, shared by the commands waiting for it. */
  private connecting: Promise<void> | undefined

  constructor(url: string, lettaUrl: string) {
    this.client = new RedisClient(url, {
      connectionTimeout: COMMAND_TIMEOUT_MS,
      enableOfflineQueue: false,
      autoReconnect: true,
    })
    const letta = createHash('sha256').update(lettaUrl).digest('hex').slice(0, 12)
    this.prefix = `letta-openwebui:${letta}:`
  }

  key(...parts: string[]): string {
    return this.prefix + parts.map((part) => encodeURIComponent(part)).join(':')
  }

  /** One Redis command, bounded; any failure is SharedStateUnavailable. */
  async run<T>(command: () => Promise<T>): Promise<T> {
    let timer: Timer | undefined
    try {
      return await Promise.race([
        this.connected().then(command),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error('Redis did not answer in time')),
            COMMAND_TIMEOUT_MS,
          )
        }),
      ])
    } catch (error) {
      throw new SharedStateUnavailable(error instanceof Error ? error.message : String(error))
    } finally {
      clearTimeout(timer)
    }
  }

  /** Connects first if needed: without an offline queue, a command before that would fail. */
  private connected(): Promise<void> {
    if (this.client.connected) return Promise.resolve()
    this.connecting ??= this.client.connect().finally(() => {
      this.connecting = undefined
    })
    return this.connecting
  }

  /** Whether Redis answers now (for /health); never throws. */
  async reachable(): Promise<boolean> {
    try {
      await this.run(() => this.client.send('PING', []))
      return true
    } catch {
      return false
    }
  }

  close(): void {
    this.client.close()
  }
}
