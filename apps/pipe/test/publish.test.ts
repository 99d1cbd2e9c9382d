import { afterAll, afterEach, beforeAll, describe, expect, test } from 'bun:test'
import { startServer } from '@letta-openwebui/server/server'
import { OptionsError, readOptions } from '../src/publish/options.ts'
import { publish } from '../src/publish/run.ts'
import { startFakeOpenWebUI } from './fake-openwebui.ts'

const BRIDGE_KEY = 'publish-test-bridge-key-0123'
const PIPE = '"""\ntitle: Letta Agent\ndescription: A test pipe.\n"""\nclass Pipe: ...\n'

let bridge: Awaited<ReturnType<typeof startServer>>
let owui: ReturnType<typeof startFakeOpenWebUI>
beforeAll(async () => {
  bridge = await startServer({
    port: 0,
    host: '127.0.0.1',
    bridgeApiKey: BRIDGE_KEY,
    logLevel: 'error',
  })
})
afterAll(() => bridge.stop())
afterEach(() => owui?.stop())

const options = (argv: string[] = [], overrides: Record<string, string> = {}) => {
  const read = readOptions(argv, {
    OPENWEBUI_URL: owui.url,
    OPENWEBUI_API_KEY: 'sk-test',
    BRIDGE_URL: bridge.url,
    BRIDGE_API_KEY: BRIDGE_KEY,
    ...overrides,
  })
  if (read === 'help') throw new Error('unexpected --help')
  return read
}
const run = async (content = PIPE, argv: string[] = []) => {
  const lines: string[] = []
  const result = await publish(options(argv), content, (line) => lines.push(line))
  return { ...result, lines }
}

describe('bun run publish (against a fake OpenWebUI)', () => {
  test('installs, sets the valves, enables once and makes the models public', async () => {
    owui = startFakeOpenWebUI({ templates: ['tutor'] })
    const first = await run()
    expect(first.changed).toBe(true)
    expect(owui.state.functions.get('letta')).toMatchObject({ content: PIPE, is_active: true })
    expect(owui.state.valves.get('letta')).toEqual({ SERVER_URL: bridge.url, API_KEY: BRIDGE_KEY })
    expect(owui.state.models.get('letta.tutor')?.access_grants).toEqual([
      { principal_type: 'user', principal_id: '*', permission: 'read' },
    ])
    const second = await run()
    expect(second.changed).toBe(false)
    expect(owui.state.toggles).toBe(1)
  })

  test('updates changed content and keeps the valves an admin set', async () => {
    owui = startFakeOpenWebUI({ templates: ['tutor'] })
    await run()
    owui.state.valves.set('letta', { SERVER_URL: 'http://old:1', SHOW_THINKING: false })
    const again = await run(`${PIPE}# v2\n`)
    expect(again.lines).toContain('updated function "letta" to the current pipe')
    expect(owui.state.valves.get('letta')).toEqual({
      SERVER_URL: bridge.url,
      API_KEY: BRIDGE_KEY,
      SHOW_THINKING: false,
    })
  })

  test('--private-models leaves the models alone', async () => {
    owui = startFakeOpenWebUI({ templates: ['tutor'] })
    await run(PIPE, ['--private-models'])
    expect(owui.state.models.size).toBe(0)
  })

  test('names ENABLE_API_KEYS when OpenWebUI refuses API keys', async () => {
    owui = startFakeOpenWebUI({ templates: ['tutor'] })
    owui.state.apiKeysEnabled = false
    await expect(run()).rejects.toThrow(/ENABLE_API_KEYS/)
  })

  test("refuses a key that is not an admin's", async () => {
    owui = startFakeOpenWebUI({ templates: ['tutor'] })
    owui.state.role = 'user'
    await expect(run()).rejects.toThrow(/not an admin/)
  })
})

describe('publish options', () => {
  test('OPENWEBUI_URL and OPENWEBUI_API_KEY are required, each with one line', () => {
    expect(() => readOptions([], {})).toThrow(OptionsError)
    expect(() => readOptions([], { OPENWEBUI_URL: 'http://x' })).toThrow(/OPENWEBUI_API_KEY/)
  })

  test('the bridge URL follows PORT, and the valves default to the bridge', () => {
    const read = readOptions([], {
      OPENWEBUI_URL: 'http://o',
      OPENWEBUI_API_KEY: 'k',
      PORT: '9000',
      BRIDGE_API_KEY: 'b',
    })
    expect(read).toMatchObject({
      bridgeUrl: 'http://localhost:9000',
      serverUrl: 'http://localhost:9000',
      pipeApiKey: 'b',
      publicModels: true,
    })
  })
})
