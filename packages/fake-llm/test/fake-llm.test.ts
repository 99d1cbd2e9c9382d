import { afterAll, beforeEach, describe, expect, test } from 'bun:test'
import { DEFAULT_REPLY, embed, startFakeLlm } from '../src/index.ts'

const fake = startFakeLlm()
afterAll(() => fake.stop())
beforeEach(() => fake.reset())

const ask = (text: string, extra: Record<string, unknown> = {}, signal?: AbortSignal) =>
  fetch(`${fake.baseUrl}/chat/completions`, {
    method: 'POST',
    signal,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: 'You are Letta.' },
        { role: 'user', content: text },
      ],
      ...extra,
    }),
  })

/** Any JSON answer, to be picked apart by expectations. */
const body = async (response: Response | Promise<Response>): Promise<unknown> =>
  (await response).json()

/** The `data:` payloads of an SSE body, `[DONE]` included. */
async function events(response: Response): Promise<string[]> {
  const text = await response.text()
  return text
    .split('\n\n')
    .filter((block) => block.startsWith('data: '))
    .map((block) => block.slice(6))
}

const deltas = (payloads: string[]) =>
  payloads
    .filter((payload) => payload !== '[DONE]')
    .map((payload) => JSON.parse(payload))
    .flatMap((chunk) => chunk.choices.map((choice: { delta: unknown }) => choice.delta))

describe('fake-llm', () => {
  test('lists its models the way Letta discovers an OpenAI-compatible endpoint', async () => {
    const listed = await body(fetch(`${fake.baseUrl}/models`))
    expect(listed).toEqual({
      object: 'list',
      data: [expect.objectContaining({ id: 'gpt-4o-mini' })],
    })
  })

  test('streams reasoning, then content, then usage and [DONE] when nothing is scripted', async () => {
    const payloads = await events(
      await ask('hi', { stream: true, stream_options: { include_usage: true } }),
    )
    expect(payloads.at(-1)).toBe('[DONE]')
    const all = deltas(payloads)
    const reasoning = all.map((delta) => delta.reasoning_content ?? '').join('')
    const content = all.map((delta) => delta.content ?? '').join('')
    expect(reasoning).toBe(DEFAULT_REPLY.reasoning ?? '')
    expect(content).toBe(DEFAULT_REPLY.content ?? '')
    expect(JSON.parse(payloads.at(-2) ?? '{}').usage.total_tokens).toBeGreaterThan(0)
  })

  test('a script answers only the conversation carrying its marker, reply by reply', async () => {
    fake.addScript({
      match: 'MARK-tool',
      replies: [
        {
          toolCalls: [
            { name: 'memory_insert', arguments: { label: 'human', new_string: 'Likes tea' } },
          ],
        },
        { content: 'Noted.' },
      ],
    })
    const first = deltas(await events(await ask('MARK-tool remember tea', { stream: true })))
    const call = first.flatMap((delta) => delta.tool_calls ?? [])
    expect(call[0].function.name).toBe('memory_insert')
    const args = call
      .map((part: { function: { arguments: string } }) => part.function.arguments)
      .join('')
    expect(JSON.parse(args)).toEqual({ label: 'human', new_string: 'Likes tea' })
    const unrelated = await body(ask('something else'))
    expect(unrelated).toMatchObject({
      choices: [{ message: { content: DEFAULT_REPLY.content ?? '' } }],
    })
    const second = await body(ask('MARK-tool remember tea'))
    expect(second).toMatchObject({ choices: [{ message: { content: 'Noted.' } }] })
    // The last reply keeps answering: retries of a scripted call see the same thing.
    const third = await body(ask('MARK-tool remember tea'))
    expect(third).toMatchObject({ choices: [{ message: { content: 'Noted.' } }] })
    expect(fake.calls.map((seen) => seen.match)).toEqual([
      'MARK-tool',
      null,
      'MARK-tool',
      'MARK-tool',
    ])
  })

  test('answers scripted 429 and 500 with OpenAI error bodies', async () => {
    fake.addScript({ match: 'MARK-429', replies: [{ error: { status: 429 } }] })
    fake.addScript({ match: 'MARK-500', replies: [{ error: { status: 500 } }] })
    const limited = await ask('MARK-429')
    expect(limited.status).toBe(429)
    expect(await body(limited)).toMatchObject({ error: { code: 'rate_limit_exceeded' } })
    const broken = await ask('MARK-500')
    expect(broken.status).toBe(500)
    expect(await body(broken)).toMatchObject({ error: { type: 'server_error' } })
  })

  test('scripts arrive over the control API, which rejects malformed ones', async () => {
    const post = (body: unknown) =>
      fetch(`${fake.url}/_fake/scripts`, { method: 'POST', body: JSON.stringify(body) })
    expect(
      (await post({ match: 'MARK-ctl', replies: [{ content: 'From control.' }] })).status,
    ).toBe(200)
    expect((await post({ match: 'MARK-bad', replies: [] })).status).toBe(422)
    expect(await body(ask('MARK-ctl'))).toMatchObject({
      choices: [{ message: { content: 'From control.' } }],
    })
    const seen = await body(fetch(`${fake.url}/_fake/calls?match=MARK-ctl`))
    expect(seen).toHaveLength(1)
  })

  test('a caller that leaves during a scripted silence is recorded as gone', async () => {
    fake.addScript({ match: 'MARK-slow', replies: [{ delayMs: 60_000, content: 'late' }] })
    const leave = new AbortController()
    const pending = ask('MARK-slow', { stream: true }, leave.signal)
    void pending.catch(() => undefined)
    const waitFor = async (condition: () => boolean) => {
      for (const deadline = Date.now() + 5_000; !condition(); await Bun.sleep(10)) {
        if (Date.now() > deadline) throw new Error('timed out waiting for the fake')
      }
    }
    await waitFor(() => fake.calls.length === 1)
    leave.abort()
    await waitFor(() => fake.calls[0]?.aborted === true)
    expect(fake.calls[0]?.match).toBe('MARK-slow')
  })
})

describe('embeddings', () => {
  const embeddings = (body: unknown) =>
    fetch(`${fake.baseUrl}/embeddings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })

  test('the same text gets the same unit vector; texts sharing words are nearer', async () => {
    const answer = (await body(
      embeddings({
        model: 'text-embedding-3-small',
        input: ['Halley comet', 'Halley comet', 'tea'],
      }),
    )) as { data: { index: number; embedding: number[] }[] }
    const [a, b, c] = answer.data.map((item) => item.embedding)
    expect(a).toHaveLength(1536)
    expect(a).toEqual(b ?? [])
    const dot = (x: number[], y: number[]) => x.reduce((sum, v, i) => sum + v * (y[i] ?? 0), 0)
    expect(dot(a ?? [], a ?? [])).toBeCloseTo(1, 6)
    const near = embed('the Halley comet')
    expect(dot(a ?? [], near)).toBeGreaterThan(dot(c ?? [], near))
  })

  test('base64 (what the OpenAI Python client asks for) decodes to the same floats', async () => {
    const answer = (await body(embeddings({ input: 'Halley', encoding_format: 'base64' }))) as {
      data: { embedding: string }[]
    }
    const bytes = Buffer.from(answer.data[0]?.embedding ?? '', 'base64')
    const floats = Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4))
    expect(floats).toEqual(Array.from(new Float32Array(embed('Halley'))))
  })

  test('a malformed request is a 400', async () => {
    expect((await embeddings({ input: [] })).status).toBe(400)
    expect((await embeddings({ input: [1] })).status).toBe(400)
  })
})
