import { beforeAll, describe, expect, test } from 'bun:test'
import { runPublish } from '../src/publish-run.ts'
import type { TierStack } from '../src/stack.ts'
import { FUNCTION_ID, listedModel, TUTOR_MODEL, tierStack } from '../src/stack.ts'

let stack: TierStack
beforeAll(async () => {
  stack = await tierStack()
}, 180_000)

type FunctionState = { content: string; is_active: boolean }
const installed = () =>
  stack.api.request<FunctionState>('GET', `/api/v1/functions/id/${FUNCTION_ID}`, {
    token: stack.admin.token,
  })

/** A failed publish prints exactly one line, on stderr, and exits non-zero. */
function expectOneLineFailure(run: { code: number; stderr: string }, mentions: RegExp) {
  expect(run.code).not.toBe(0)
  const lines = run.stderr.trim().split('\n')
  expect(lines).toHaveLength(1)
  expect(lines[0]).toMatch(/^publish failed: /)
  expect(lines[0]).toMatch(mentions)
}

describe('bun run publish into a fresh OpenWebUI', () => {
  test('installs the pipe, enables it and makes the Tutor model appear', async () => {
    expect(stack.firstPublish.stdout).toContain(`created function "${FUNCTION_ID}"`)
    const fn = await installed()
    expect(fn.is_active).toBe(true)
    expect(fn.content).toBe(await Bun.file('../pipe/dist/letta_pipe.py').text())
    const valves = await stack.api.getValves(stack.admin.token, FUNCTION_ID)
    expect(valves).toMatchObject({
      SERVER_URL: stack.bridge.url,
      API_KEY: stack.publishEnv.BRIDGE_API_KEY,
    })
    const model = await listedModel(stack, stack.admin.token)
    expect(model.name).toBe('Letta/Tutor')
  })

  test('a second run changes nothing and says so', async () => {
    const run = await runPublish(stack.publishEnv)
    expect(run.code).toBe(0)
    expect(run.stdout).toContain('nothing to change')
    expect(run.stdout).not.toMatch(/created|updated|^publish: enabled|set valves|made model/m)
  })

  test('repairs an outdated install: old content, wrong valves, disabled function', async () => {
    const token = stack.admin.token
    const fn = await installed()
    await stack.api.request('POST', `/api/v1/functions/id/${FUNCTION_ID}/update`, {
      token,
      body: {
        id: FUNCTION_ID,
        name: 'Letta Agent',
        content: fn.content.replace('version: ', 'version: 0.0.1-old-'),
        meta: { description: 'old' },
      },
    })
    const valves = await stack.api.getValves(token, FUNCTION_ID)
    await stack.api.setValves(token, FUNCTION_ID, {
      ...valves,
      SERVER_URL: 'http://127.0.0.1:9',
      SHOW_TOOL_ACTIVITY: false,
    })
    await stack.api.request('POST', `/api/v1/functions/id/${FUNCTION_ID}/toggle`, { token })
    expect((await installed()).is_active).toBe(false)

    const run = await runPublish(stack.publishEnv)
    expect(run.code).toBe(0)
    expect(run.stdout).toContain(`updated function "${FUNCTION_ID}"`)
    expect(run.stdout).toContain('set valves')
    expect(run.stdout).toContain(`enabled function "${FUNCTION_ID}"`)
    const repaired = await installed()
    expect(repaired.is_active).toBe(true)
    expect(repaired.content).toBe(fn.content)
    const after = await stack.api.getValves(token, FUNCTION_ID)
    expect(after.SERVER_URL).toBe(stack.bridge.url)
    // The admin's own valve choice survives a publish.
    expect(after.SHOW_TOOL_ACTIVITY).toBe(false)
    await stack.api.setValves(token, FUNCTION_ID, { ...after, SHOW_TOOL_ACTIVITY: true })
    expect((await listedModel(stack, token)).id).toBe(TUTOR_MODEL)
  })
})

describe('bun run publish fails with one clear line', () => {
  test('when OPENWEBUI_URL is wrong (nothing listens there)', async () => {
    const run = await runPublish({ ...stack.publishEnv, OPENWEBUI_URL: 'http://127.0.0.1:9' })
    expectOneLineFailure(run, /Cannot reach OpenWebUI at http:\/\/127\.0\.0\.1:9.*OPENWEBUI_URL/)
  })

  test('when OPENWEBUI_URL is not an OpenWebUI', async () => {
    const run = await runPublish({ ...stack.publishEnv, OPENWEBUI_URL: stack.bridge.url })
    expectOneLineFailure(run, /does not look like OpenWebUI/)
  })

  test("when the key is not an admin's", async () => {
    const password = 'user-pass-123'
    const email = `publisher-${crypto.randomUUID().slice(0, 8)}@owui-tier.test`
    await stack.api.addUser(stack.admin.token, { name: 'Pat', email, password, role: 'user' })
    const user = await stack.api.signin(email, password)
    const run = await runPublish({ ...stack.publishEnv, OPENWEBUI_API_KEY: user.token })
    expectOneLineFailure(run, /not an admin/)
  })

  test('when the key is wrong', async () => {
    const run = await runPublish({ ...stack.publishEnv, OPENWEBUI_API_KEY: 'sk-0000wrong' })
    expectOneLineFailure(run, /rejected OPENWEBUI_API_KEY/)
  })

  test('when API keys are disabled in OpenWebUI, naming the setting', async () => {
    const token = stack.admin.token
    const config = await stack.api.adminConfig(token)
    await stack.api.setAdminConfig(token, { ...config, ENABLE_API_KEYS: false })
    try {
      const run = await runPublish(stack.publishEnv)
      expectOneLineFailure(run, /ENABLE_API_KEYS.*Admin Panel → Settings → Authentication/)
    } finally {
      await stack.api.setAdminConfig(token, { ...config, ENABLE_API_KEYS: true })
    }
  })

  test('when the bridge cannot be reached for its template list', async () => {
    const run = await runPublish({ ...stack.publishEnv, BRIDGE_URL: 'http://127.0.0.1:9' })
    expectOneLineFailure(run, /Cannot reach the bridge at http:\/\/127\.0\.0\.1:9.*BRIDGE_URL/)
  })
})
