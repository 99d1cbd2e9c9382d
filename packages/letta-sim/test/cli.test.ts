import { describe, expect, it } from 'bun:test'
import { join } from 'node:path'

const CLI = join(import.meta.dir, '../src/cli.ts')

/** Runs the CLI on a free port with `flags`, hands its URL to `use`, then stops it. */
async function withCli(flags: string[], use: (url: string) => Promise<void>): Promise<void> {
  const child = Bun.spawn(['bun', CLI, '--port', '0', ...flags], { stdout: 'pipe' })
  try {
    const reader = child.stdout.getReader()
    let banner = ''
    while (!/http:\/\/\S+/.test(banner)) {
      const { value, done } = await reader.read()
      if (done) throw new Error(`letta-sim exited: ${banner}`)
      banner += new TextDecoder().decode(value)
    }
    await use(/http:\/\/127\.0\.0\.1:\d+/.exec(banner)?.[0] ?? '')
  } finally {
    child.kill()
    await child.exited
  }
}

const SDK = { 'content-type': 'application/json', 'x-stainless-package-version': '1.12.1' }

async function agentAndConversation(url: string) {
  const agent = await fetch(`${url}/v1/agents`, {
    method: 'POST',
    headers: SDK,
    body: JSON.stringify({ model: 'openai/gpt-4o-mini' }),
  })
  const agentId = ((await agent.json()) as { id: string }).id
  const created = await fetch(`${url}/v1/conversations?agent_id=${agentId}`, {
    method: 'POST',
    headers: SDK,
    body: '{}',
  })
  return { agentId, created }
}

describe('letta-sim cli', () => {
  it('answers like an older Letta with --no-conversations', async () => {
    await withCli(['--no-conversations'], async (url) => {
      const { created } = await agentAndConversation(url)
      expect(created.status).toBe(404)
      expect(await created.json()).toEqual({ detail: 'Not Found' })
    })
  })

  it('refuses background runs with --no-redis and cuts forks at message_id with --fork-at-message', async () => {
    await withCli(['--no-redis', '--fork-at-message'], async (url) => {
      const { agentId, created } = await agentAndConversation(url)
      const { id } = (await created.json()) as { id: string }
      const background = await fetch(`${url}/v1/agents/${agentId}/messages`, {
        method: 'POST',
        headers: SDK,
        body: JSON.stringify({
          messages: [{ role: 'user', content: 'Hi' }],
          streaming: true,
          background: true,
        }),
      })
      expect(background.status).toBe(503)
      await background.body?.cancel()
      const systemId = (
        (await (await fetch(`${url}/v1/conversations/${id}`)).json()) as {
          in_context_message_ids: string[]
        }
      ).in_context_message_ids[0]
      const fork = await fetch(`${url}/v1/conversations/${id}/fork`, {
        method: 'POST',
        headers: SDK,
        body: JSON.stringify({ message_id: systemId }),
      })
      // Only a cut fork (Letta Cloud's) answers with its in-context ids.
      expect(
        ((await fork.json()) as { in_context_message_ids: string[] }).in_context_message_ids,
      ).toHaveLength(1)
    })
  })

  it('forks the whole thread by default, ignoring message_id like Letta 0.16.x', async () => {
    await withCli([], async (url) => {
      const { created } = await agentAndConversation(url)
      const { id } = (await created.json()) as { id: string }
      const fork = await fetch(`${url}/v1/conversations/${id}/fork`, {
        method: 'POST',
        headers: SDK,
        body: JSON.stringify({ message_id: 'message-00000000-0000-4000-8000-000000000000' }),
      })
      expect(fork.status).toBe(200)
      expect(
        ((await fork.json()) as { in_context_message_ids: string[] }).in_context_message_ids,
      ).toEqual([])
    })
  })

  it('completes file processing with --file-processing completed, and refuses other values', async () => {
    await withCli(['--file-processing', 'completed'], async (url) => {
      const folder = await fetch(`${url}/v1/folders`, {
        method: 'POST',
        headers: SDK,
        body: JSON.stringify({ name: 'f', embedding: 'openai/text-embedding-3-small' }),
      })
      const { id } = (await folder.json()) as { id: string }
      const form = new FormData()
      form.append('file', new File(['text'], 'notes.txt', { type: 'text/plain' }))
      const upload = await fetch(`${url}/v1/folders/${id}/upload`, { method: 'POST', body: form })
      const { id: fileId } = (await upload.json()) as { id: string }
      await Bun.sleep(80)
      const file = await fetch(`${url}/v1/folders/${id}/files/${fileId}`)
      expect(((await file.json()) as { processing_status: string }).processing_status).toBe(
        'completed',
      )
    })
    const refused = Bun.spawn(['bun', CLI, '--port', '0', '--file-processing', 'maybe'], {
      stderr: 'pipe',
    })
    expect(await refused.exited).toBe(2)
    expect(await new Response(refused.stderr).text()).toContain('--file-processing')
  })
})
