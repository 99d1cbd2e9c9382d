import type { SharedStore } from './shared-store.ts'

/** A lease's key: its kind and the ids it is for, each escaped so no two keys run together. */
export const leaseKey = (kind: string, ...ids: string[]): string =>
  [kind, ...ids.map(encodeURIComponent)].join(':')

/** Held until released: while held, nobody else (no other replica either) can take the same key. */
export type Lease = { release(): Promise<void> }

/**
 * Exclusive, expiring claims on a key: one run per chat thread, one agent creation per person
 * and template. In one process without Redis, or shared by every replica on one Redis.
 */
export interface Leases {
  /** Whether other processes take these leases too (replicas on a shared Redis). */
  readonly shared: boolean
  /** The lease, or undefined when someone holds it. */
  take(key: string): Promise<Lease | undefined>
}

/** Leases of this process only (no REDIS_URL): one bridge is the whole service. */
export class LocalLeases implements Leases {
  readonly shared = false
  private readonly held = new Set<string>()

  async take(key: string): Promise<Lease | undefined> {
    if (this.held.has(key)) return undefined
    this.held.add(key)
    let released = false
    return {
      release: async () => {
        if (!released) this.held.delete(key)
        released = true
      },
    }
  }
}

/** A lease lives this long unless renewed: a replica that dies frees its leases within it. */
export const LEASE_TTL_MS = 30_000
/** Renewed this often while held. */
const RENEW_EVERY_MS = LEASE_TTL_MS / 3

// Only the holder's token may renew or free a lease (an expired one may be someone else's now).
const RENEW =
  "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end"
const RELEASE =
  "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"

/** Leases in the shared Redis: SET NX PX with a token, renewed while held, freed by the holder. */
export class RedisLeases implements Leases {
  readonly shared = true

  constructor(private readonly store: SharedStore) {}

  async take(key: string): Promise<Lease | undefined> {
    const redisKey = this.store.key('lease', key)
    const token = crypto.randomUUID()
    const { client } = this.store
    const taken = await this.store.run(() =>
      client.set(redisKey, token, 'NX', 'PX', String(LEASE_TTL_MS)),
    )
    if (taken !== 'OK') return undefined
    const renewal = setInterval(() => {
      void this.store
        .run(() => client.send('EVAL', [RENEW, '1', redisKey, token, String(LEASE_TTL_MS)]))
        .catch(() => {})
    }, RENEW_EVERY_MS)
    renewal.unref()
    let released = false
    return {
      release: async () => {
        if (released) return
        released = true
        clearInterval(renewal)
        // A lease that cannot be freed now expires within LEASE_TTL_MS.
        await this.store
          .run(() => client.send('EVAL', [RELEASE, '1', redisKey, token]))
          .catch(() => {})
      },
    }
  }
}
