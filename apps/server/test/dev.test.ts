import { describe, expect, it } from 'bun:test'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Health } from '@letta-openwebui/events'
import { DEMO_BANNER } from '../src/server.ts'
import { json } from './utils.ts'

const ENTRY = join(import.meta.dir, '../src/index.ts')

/** Runs the real entry point like `bun run dev` does and returns its first log lines + URL. */
async function launch(env: Record<string, string>) {
  const child = Bun.spawn(['bun', ENTRY, '--dev'], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      PORT: '0',
      // Not the checkout's apps/server/data.
      DATA_DIR: mkdtempSync(join(tmpdir(), 'bridge-dev-data-')),
      ...env,
    },
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const lines: string[] = []
  const decoder = new TextDecoder()
  const reader = child.stdout.getReader()
  let url: string | undefined
  const deadline = performance.now() + 10_000
  while (!url && performance.now() < deadline) {
    const { value, done } = await reader.read()
    if (done) break
    for (const line of decoder.decode(value).split('\n').filter(Boolean)) {
      lines.push(line)
      const entry = JSON.parse(line)
      if (entry.message === 'bridge listening') url = entry.url
    }
  }
  reader.releaseLock()
  return { child, lines, url }
}

describe('bun run dev', () => {
  it('starts in demo mode with a loud first line when no Letta is configured', async () => {
    const { child, lines, url } = await launch({})
    try {
      expect(JSON.parse(lines[0] ?? '{}').message).toBe(DEMO_BANNER)
      const health = await json<Health>(await fetch(`${url}/health`))
      expect(health).toMatchObject({ status: 'ok', letta: { mode: 'demo', reachable: true } })
    } finally {
      child.kill()
      await child.exited
    }
  })

  it('listens on 127.0.0.1 only while authentication is off', async () => {
    const { child, url, lines } = await launch({})
    try {
      const port = new URL(url ?? '').port
      expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200)
      // 127.0.0.2 is this machine too: a server bound to 0.0.0.0 would answer there.
      const outside = await fetch(`http://127.0.0.2:${port}/health`).catch((error) => error)
      expect(outside).toBeInstanceOf(Error)
      expect(lines.some((line) => line.includes('authentication is OFF'))).toBe(true)
    } finally {
      child.kill()
      await child.exited
    }
  })

  it('starts when the configured Letta is down, and /health says why it is degraded', async () => {
    const { child, url } = await launch({ LETTA_BASE_URL: 'http://127.0.0.1:9' })
    try {
      const health = await json<Health>(await fetch(`${url}/health`))
      expect(health.status).toBe('degraded')
      expect(health.letta).toMatchObject({
        mode: 'letta',
        reachable: false,
        url: 'http://127.0.0.1:9',
      })
      expect(health.letta.problem).toContain('is Letta running?')
    } finally {
      child.kill()
      await child.exited
    }
  })

  it('refuses to start in production without BRIDGE_API_KEY, saying why', async () => {
    const child = Bun.spawn(['bun', ENTRY], {
      env: { PATH: process.env.PATH ?? '', PORT: '0' },
      stderr: 'pipe',
      stdout: 'pipe',
    })
    expect(await child.exited).toBe(1)
    expect(await new Response(child.stderr).text()).toContain('BRIDGE_API_KEY')
  })
})
