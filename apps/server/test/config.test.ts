import { describe, expect, it } from 'bun:test'
import { ConfigError, LETTA_CLOUD_URL, loadConfig } from '../src/config.ts'

const KEY = 'a-bridge-key-long-enough-0000'

describe('configuration from the environment', () => {
  it('uses the documented defaults', () => {
    const config = loadConfig({ BRIDGE_API_KEY: KEY })
    expect(config).toMatchObject({
      port: 8100,
      letta: undefined,
      bridgeApiKey: KEY,
      keepaliveMs: 15_000,
    })
  })

  it('waits out two of Letta 0.16.8’s 50 s keepalive gaps before calling a quiet run stalled', () => {
    const config = loadConfig({ BRIDGE_API_KEY: KEY })
    expect(config.idleTimeoutMs).toBeGreaterThan(2 * 50_000)
    // …and lets a turn run for many minutes before the turn limit stops it.
    expect(config.maxTurnMs).toBeGreaterThanOrEqual(10 * 60_000)
    expect(loadConfig({ BRIDGE_API_KEY: KEY, MAX_TURN_MS: '60000' }).maxTurnMs).toBe(60_000)
  })

  it('points at Letta Cloud when only LETTA_API_KEY is set', () => {
    expect(loadConfig({ BRIDGE_API_KEY: KEY, LETTA_API_KEY: 'sk-let-1' }).letta).toEqual({
      baseUrl: LETTA_CLOUD_URL,
      apiKey: 'sk-let-1',
    })
  })

  it('explains every bad value on its own line, without echoing secrets', () => {
    let message = ''
    try {
      loadConfig({
        PORT: 'eighty',
        LETTA_BASE_URL: 'localhost:8283',
        BRIDGE_API_KEY: 'short',
        LOG_LEVEL: 'loud',
        REDIS_URL: 'localhost:6379',
      })
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError)
      message = (error as Error).message
    }
    expect(message).toContain('PORT: expected a port number')
    expect(message).toContain('LETTA_BASE_URL: expected an http(s) URL')
    expect(message).toContain('BRIDGE_API_KEY: expected a random secret')
    expect(message).toContain('LOG_LEVEL: expected one of')
    expect(message).toContain('REDIS_URL: expected a redis:// or rediss:// URL')
    expect(message).not.toContain('short')
  })

  it('shares state through REDIS_URL only when it is set', () => {
    expect(loadConfig({ BRIDGE_API_KEY: KEY }).redisUrl).toBeUndefined()
    expect(loadConfig({ BRIDGE_API_KEY: KEY, REDIS_URL: 'redis://redis:6379/1' }).redisUrl).toBe(
      'redis://redis:6379/1',
    )
  })

  it('refuses to start without BRIDGE_API_KEY unless it is a dev run', () => {
    expect(() => loadConfig({})).toThrow(/BRIDGE_API_KEY: not set/)
    expect(loadConfig({}, { devRun: true }).bridgeApiKey).toBeUndefined()
  })
})
