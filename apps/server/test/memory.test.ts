import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ErrorBody, MemoryBlock, MemoryView } from '@letta-openwebui/events'
import { PROTOCOL_VERSION, ROUTES } from '@letta-openwebui/events'
import catalog from '../config/templates.json'
import type { Stack } from './utils.ts'
import { json, post, startStack } from './utils.ts'

const ask = (userId: string, extra: Record<string, unknown> = {}) => ({
  protocolVersion: PROTOCOL_VERSION,
  user: { id: userId, name: 'Ada' },
  ...extra,
})

describe('the agent’s memory, for /memory in the chat', () => {
  let stack: Stack
  beforeAll(async () => {
    stack = await startStack()
  })
  afterAll(() => stack.stop())

  it('shows this user’s agent’s blocks, without a Letta run', async () => {
    const response = await post(stack.server, ROUTES.memory, ask('mem-ada'))
    expect(response.status).toBe(200)
    const memory = await json<MemoryView>(response)
    expect(memory.template).toBe('tutor')
    const human = memory.blocks.find((block) => block.label === 'human')
    expect(human).toMatchObject({ readOnly: false, limit: expect.any(Number) })
    expect(human?.value).toContain('Name: Ada')
    expect(memory.blocks.map((block) => block.label).sort()).toEqual(['human', 'persona'])
    expect(stack.sim.requests.some((request) => request.path.endsWith('/messages'))).toBe(false)
  })

  it('saves an edit to the same agent, and never shows it to another user', async () => {
    const saved = await post(
      stack.server,
      ROUTES.memoryUpdate,
      ask('mem-bo', { label: 'human', value: 'Bo likes comets.' }),
    )
    expect(saved.status).toBe(200)
    expect(await json<MemoryBlock>(saved)).toMatchObject({
      label: 'human',
      value: 'Bo likes comets.',
    })
    const again = await json<MemoryView>(await post(stack.server, ROUTES.memory, ask('mem-bo')))
    expect(again.blocks.find((block) => block.label === 'human')?.value).toBe('Bo likes comets.')
    const other = await json<MemoryView>(await post(stack.server, ROUTES.memory, ask('mem-cy')))
    expect(JSON.stringify(other)).not.toContain('comets')
    // In Letta: Bo's agent holds it.
    const bo = [...stack.sim.agents.values()].find((agent) =>
      agent.tags.includes('owui-user:mem-bo'),
    )
    expect(bo?.blocks.find((block) => block.label === 'human')?.value).toBe('Bo likes comets.')
  })

  it('keeps an edit within the block’s limit, read-only blocks read-only, unknown blocks unknown', async () => {
    // Letta's block API checks neither: the bridge must. An agent of this user, seeded in Letta.
    stack.sim.createAgent({
      name: 'tutor-mem-dee',
      tags: ['owui-user:mem-dee', 'template:tutor', 'letta-openwebui'],
      metadata: { owui_user_id: 'mem-dee', template: 'tutor' },
      memory_blocks: [
        { label: 'human', value: 'Dee.', limit: 10 },
        { label: 'policy', value: 'Be kind.', limit: 100, read_only: true },
      ],
    })
    const tooLong = await post(
      stack.server,
      ROUTES.memoryUpdate,
      ask('mem-dee', { label: 'human', value: 'x'.repeat(11) }),
    )
    expect(tooLong.status).toBe(422)
    expect(await json<ErrorBody>(tooLong)).toMatchObject({
      code: 'memory_too_long',
      message: expect.stringContaining('at most 10 characters'),
    })
    // Letta counts characters, not UTF-16 units: ten emoji fit a ten-character block.
    const emoji = await post(
      stack.server,
      ROUTES.memoryUpdate,
      ask('mem-dee', { label: 'human', value: '🙂'.repeat(10) }),
    )
    expect(emoji.status).toBe(200)
    const readOnly = await post(
      stack.server,
      ROUTES.memoryUpdate,
      ask('mem-dee', { label: 'policy', value: 'Be mean.' }),
    )
    expect(readOnly.status).toBe(409)
    expect((await json<ErrorBody>(readOnly)).code).toBe('memory_read_only')
    const unknown = await post(
      stack.server,
      ROUTES.memoryUpdate,
      ask('mem-dee', { label: 'goals', value: 'x' }),
    )
    expect(unknown.status).toBe(404)
    expect((await json<ErrorBody>(unknown)).code).toBe('memory_block_not_found')
    const blocks = (await json<MemoryView>(await post(stack.server, ROUTES.memory, ask('mem-dee'))))
      .blocks
    expect(blocks.find((block) => block.label === 'policy')).toMatchObject({
      value: 'Be kind.',
      readOnly: true,
    })
    expect(blocks.find((block) => block.label === 'human')?.value).toBe('🙂'.repeat(10))
  })

  it('needs the key, like every /v1 route', async () => {
    const response = await post(stack.server, ROUTES.memory, ask('mem-ada'), { key: null })
    expect(response.status).toBe(401)
  })

  it('says Letta is unreachable in a sentence (502), never a 500', async () => {
    const down = await startStack({ lettaBaseUrl: 'http://127.0.0.1:9' })
    try {
      const response = await post(down.server, ROUTES.memory, ask('mem-down'))
      expect(response.status).toBe(502)
      expect((await json<ErrorBody>(response)).code).toBe('letta_unreachable')
    } finally {
      await down.stop()
    }
  })

  it('is refused when an admin turned /memory off for the template', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'templates-'))
    const file = join(dir, 'templates.json')
    writeFileSync(
      file,
      JSON.stringify({
        ...catalog,
        templates: catalog.templates.map((template) => ({ ...template, memoryCommand: false })),
      }),
    )
    const closed = await startStack({ templatesFile: file })
    try {
      const response = await post(closed.server, ROUTES.memory, ask('mem-closed'))
      expect(response.status).toBe(403)
      expect((await json<ErrorBody>(response)).code).toBe('memory_disabled')
      expect(closed.sim.agents.size).toBe(0)
    } finally {
      await closed.stop()
    }
  })
})
