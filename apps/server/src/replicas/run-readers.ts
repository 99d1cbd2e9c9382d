import type { SharedStore } from './shared-store.ts'

/** Letta keeps a background run's stream 3 hours; a count outliving it would name nothing. */
const READERS_TTL_MS = 3 * 60 * 60 * 1000
/** Runs one process remembers (without Redis); the oldest is forgotten first. */
const MAX_LOCAL_RUNS = 10_000

/**
 * How many clients have started reading each Letta run's answer, on this replica or on any
 * sharing the Redis. A turn whose client left cancels its run only if nobody came back for the
 * answer since (the count is still the one it joined as).
 */
export interface RunReaders {
  /** A client starts reading the run; how many have, it included. */
  join(runId: string): Promise<number>
  count(runId: string): Promise<number>
}

/** One bridge: the readers are this process's. */
export class LocalRunReaders implements RunReaders {
  private readonly counts = new Map<string, number>()

  async join(runId: string): Promise<number> {
    const count = (this.counts.get(runId) ?? 0) + 1
    // Re-inserted, so the map's order is the order of last use.
    this.counts.delete(runId)
    this.counts.set(runId, count)
    if (this.counts.size > MAX_LOCAL_RUNS) {
      const oldest = this.counts.keys().next().value
      if (oldest !== undefined) this.counts.delete(oldest)
    }
    return count
  }

  async count(runId: string): Promise<number> {
    return this.counts.get(runId) ?? 0
  }
}

/** Replicas on one Redis: a counter per run, expiring with Letta's copy of the run's stream. */
export class RedisRunReaders implements RunReaders {
  constructor(private readonly store: SharedStore) {}

  async join(runId: string): Promise<number> {
    const key = this.store.key('readers', runId)
    const { client } = this.store
    const count = await this.store.run(() => client.incr(key))
    await this.store.run(() => client.pexpire(key, READERS_TTL_MS))
    return count
  }

  async count(runId: string): Promise<number> {
    const key = this.store.key('readers', runId)
    const value = await this.store.run(() => this.store.client.get(key))
    return Number(value ?? 0)
  }
}
