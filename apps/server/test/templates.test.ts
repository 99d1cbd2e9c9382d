import { afterAll, describe, expect, it } from 'bun:test'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startLettaSim } from '@letta-openwebui/letta-sim'
import { ConfigError, loadConfig } from '../src/config.ts'
import { startServer } from '../src/server.ts'
import { loadTemplateCatalog } from '../src/templates.ts'

const dir = mkdtempSync(join(tmpdir(), 'templates-test-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** A self-hosted Letta's catalog: its own model handle, no embedding endpoint. */
const selfHosted = {
  defaultTemplate: 'coach',
  templates: [
    {
      name: 'coach',
      title: 'Coach',
      description: 'A running coach.',
      model: 'openai-proxy/gpt-4o-mini',
      persona: 'I am a running coach.',
      human: 'About the runner:',
      tools: [],
    },
  ],
}

function file(name: string, content: string): string {
  const path = join(dir, name)
  writeFileSync(path, content)
  return path
}

describe('agent templates from TEMPLATES_FILE', () => {
  it('creates agents with the file’s model handle and no embedding when none is given', async () => {
    const sim = await startLettaSim({
      models: { llm: ['openai-proxy/gpt-4o-mini'], embedding: [] },
    })
    const server = await startServer({
      lettaBaseUrl: sim.url,
      bridgeApiKey: 'templates-test-key-0123456789',
      host: '127.0.0.1',
      logLevel: 'error',
      templatesFile: file('self-hosted.json', JSON.stringify(selfHosted)),
    })
    try {
      expect(server.agents).toBeDefined()
      const agentId = await server.agents.resolve({ id: 'runner-1' }, 'coach')
      const created = sim.requests.find((request) => request.method === 'POST')
      expect(created?.body).toMatchObject({ model: 'openai-proxy/gpt-4o-mini' })
      expect(created?.body).not.toHaveProperty('embedding')
      expect(sim.agents.get(agentId)?.tags).toContain('template:coach')
    } finally {
      await server.stop()
      await sim.stop()
    }
  })

  it('is read from the environment', () => {
    const config = loadConfig({ BRIDGE_API_KEY: 'k'.repeat(16), TEMPLATES_FILE: '/etc/t.json' })
    expect(config.templatesFile).toBe('/etc/t.json')
  })

  it('names the file and the problem when the file is missing, not JSON or invalid', () => {
    expect(() => loadTemplateCatalog(join(dir, 'absent.json'))).toThrow(ConfigError)
    expect(() => loadTemplateCatalog(join(dir, 'absent.json'))).toThrow(
      /TEMPLATES_FILE: .*absent\.json/,
    )
    expect(() => loadTemplateCatalog(file('broken.json', '{"templates": ['))).toThrow(
      /broken\.json/,
    )
    const noModel = { ...selfHosted, templates: [{ ...selfHosted.templates[0], model: '' }] }
    expect(() => loadTemplateCatalog(file('bad.json', JSON.stringify(noModel)))).toThrow(
      /bad\.json is invalid at \/templates\/0\/model/,
    )
    expect(() =>
      loadTemplateCatalog(
        file('nodefault.json', JSON.stringify({ ...selfHosted, defaultTemplate: 'x' })),
      ),
    ).toThrow(/default template "x" is not defined/)
  })
})
