import { expect, test } from 'bun:test'
import { RedisClient } from 'bun'
import { startRedis } from '../src/index.ts'

test('a Redis of its own answers on its port, and is gone once stopped', async () => {
  const redis = await startRedis()
  const client = new RedisClient(redis.url)
  await client.set('hello', 'world')
  expect(await client.get('hello')).toBe('world')
  client.close()
  await redis.stop()
  const again = new RedisClient(redis.url, { autoReconnect: false, connectionTimeout: 1_000 })
  await expect(again.get('hello')).rejects.toThrow()
  again.close()
}, 120_000)
