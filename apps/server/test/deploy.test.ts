import { describe, expect, it } from 'bun:test'
import { join } from 'node:path'
import { DEFAULT_PORT, ROUTES } from '@letta-openwebui/events'
import { Env } from '../src/config.ts'

const ROOT = join(import.meta.dir, '../../..')
const read = (path: string) => Bun.file(join(ROOT, path)).text()

type Service = {
  build?: string
  image?: string
  ports?: string[]
  volumes?: string[]
  environment?: Record<string, string>
  depends_on?: Record<string, { condition: string }>
}

describe('the deployment files', () => {
  it('build the bridge on the Bun version the repository pins, as a non-root user, checked on /health', async () => {
    const pinned = (JSON.parse(await read('package.json')) as { packageManager: string })
      .packageManager
    const version = pinned.replace('bun@', '')
    const dockerfile = await read('Dockerfile')
    const bases = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((match) => match[1])
    expect(bases.length).toBeGreaterThan(0)
    for (const base of bases) expect(base).toBe(`oven/bun:${version}-slim`)
    expect(dockerfile).toMatch(/^USER bun$/m)
    expect(dockerfile).toContain(`EXPOSE ${DEFAULT_PORT}`)
    expect(dockerfile).toContain(`http://127.0.0.1:${DEFAULT_PORT}${ROUTES.health}`)
    expect(dockerfile).toContain('BUN_CONFIG_MAX_HTTP_REQUESTS=65535')
    // The chat → conversation map lives in DATA_DIR, on a volume the bridge's user can write.
    expect(dockerfile).toContain('DATA_DIR=/data')
    expect(dockerfile).toMatch(/^VOLUME \/data$/m)
    expect(dockerfile).toContain('chown bun:bun /data')
  })

  it('wire the bridge to Letta with settings the bridge knows, and OpenWebUI ready for publish', async () => {
    const compose = Bun.YAML.parse(await read('compose.yaml')) as {
      services: Record<string, Service>
    }
    const { bridge, letta, openwebui, redis } = compose.services
    expect(bridge?.build).toBe('.')
    for (const name of Object.keys(bridge?.environment ?? {}))
      expect(Object.keys(Env.properties)).toContain(name)
    expect(bridge?.environment?.LETTA_BASE_URL).toBe('http://letta:8283')
    expect(bridge?.environment?.BRIDGE_API_KEY).toMatch(/^\$\{BRIDGE_API_KEY:\?/)
    // The bridge is published on loopback only; OpenWebUI is what people open.
    expect(bridge?.ports).toEqual([`127.0.0.1:${DEFAULT_PORT}:${DEFAULT_PORT}`])
    expect(bridge?.environment?.DATA_DIR).toBe('/data')
    expect(bridge?.volumes).toEqual(['bridge-data:/data'])
    expect(letta?.image).toBe('letta/letta:0.16.8')
    expect(letta?.environment?.LETTA_REDIS_HOST).toBe('redis')
    expect(letta?.ports).toBeUndefined()
    expect(redis?.ports).toBeUndefined()
    expect(openwebui?.environment?.ENABLE_API_KEYS).toBe('true')
    expect(openwebui?.depends_on?.bridge?.condition).toBe('service_healthy')
  })
})
