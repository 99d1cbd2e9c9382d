/**
 * A user message with image parts, as Letta 0.16.8 takes it (fixtures/real/image_*.json):
 * accepted, stored as a `letta` image source, refused when Pydantic or the URL check refuses it.
 */
import { describe, expect, it } from 'bun:test'
import type Letta from '@letta-ai/letta-client'
import type { APIError } from '@letta-ai/letta-client'
import { BadRequestError, UnprocessableEntityError } from '@letta-ai/letta-client'
import type { MessageCreate } from '@letta-ai/letta-client/resources/agents/agents'
import type { LettaSim } from '../src/index.ts'
import { tokenStream } from '../src/index.ts'
import type { Frame } from './helpers.ts'
import { drain, useSim } from './helpers.ts'

let sim: LettaSim
let client: Letta
useSim((started) => ({ sim, client } = started))

const TINY_PNG =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC'

const withImage = (source: unknown): MessageCreate => ({
  role: 'user',
  content: [{ type: 'text', text: 'What is this?' }, { type: 'image', source } as never],
})
const base64Png = { type: 'base64', media_type: 'image/png', data: TINY_PNG }

async function streamTo(agentId: string, message: MessageCreate) {
  sim.enqueue(tokenStream({ tokens: 2 }))
  return drain(
    await client.agents.messages.create(agentId, {
      messages: [message],
      streaming: true,
      stream_tokens: true,
    }),
  )
}

describe('image parts', () => {
  it('takes text and a base64 image, and shows the run the image without its bytes', async () => {
    const agentId = sim.createAgent().id
    const { error } = await streamTo(agentId, withImage(base64Png))
    expect(error).toBeUndefined()
    expect(sim.runs().at(-1)).toMatchObject({
      messages: [{ role: 'user', text: 'What is this?' }],
      images: [{ mediaType: 'image/png', dataLength: TINY_PNG.length }],
    })
  })

  it('stores the image as a letta source with a file id, its media type and data, like Letta', async () => {
    const agentId = sim.createAgent().id
    await streamTo(agentId, withImage(base64Png))
    const listed = (await client.agents.messages.list(agentId, { limit: 2 }))
      .items as unknown as Frame[]
    expect(listed[0]?.content).toEqual([
      { type: 'text', text: 'What is this?', signature: null },
      {
        type: 'image',
        source: {
          type: 'letta',
          file_id: expect.stringMatching(/^file-/),
          media_type: 'image/png',
          data: TINY_PNG,
          detail: null,
        },
      },
    ])
  })

  it('decodes a data: URL source into its media type and base64 data', async () => {
    const agentId = sim.createAgent().id
    await streamTo(agentId, withImage({ type: 'url', url: `data:image/webp;base64,${TINY_PNG}` }))
    expect(sim.runs().at(-1)?.images).toEqual([
      { mediaType: 'image/webp', dataLength: TINY_PNG.length },
    ])
  })

  it('takes images in a conversation too', async () => {
    const agentId = sim.createAgent().id
    const { id } = await client.conversations.create({ agent_id: agentId })
    sim.enqueue(tokenStream({ tokens: 1 }))
    await drain(
      await client.conversations.messages.create(id, { messages: [withImage(base64Png)] }),
    )
    expect(sim.runs().at(-1)).toMatchObject({
      conversationId: id,
      images: [{ mediaType: 'image/png' }],
    })
  })
})

describe('image parts Letta refuses', () => {
  it('answers 422 to an unknown source type and to a base64 source without media_type', async () => {
    const agentId = sim.createAgent().id
    for (const source of [
      { type: 'file', data: TINY_PNG },
      { type: 'base64', data: TINY_PNG },
    ]) {
      const refused = await client.agents.messages
        .create(agentId, { messages: [withImage(source)] })
        .catch((error: unknown) => error)
      expect(refused).toBeInstanceOf(UnprocessableEntityError)
      expect((refused as UnprocessableEntityError).error).toMatchObject({
        trace_id: '',
        detail: expect.stringContaining(
          source.type === 'file' ? "Input tag 'file'" : "'media_type'",
        ),
      })
    }
    expect(sim.runs()).toEqual([])
  })

  it('refuses a URL that is not http, https or data: 400, or an error event once streaming', async () => {
    const agentId = sim.createAgent().id
    const ftp = withImage({ type: 'url', url: 'ftp://example.org/a.png' })
    const detail =
      "INVALID_ARGUMENT: Unsupported image URL scheme 'ftp'. Only 'http', 'https', and 'data' " +
      'image URLs are supported. Local file paths (file://) are not allowed.'
    const refused = await client.agents.messages
      .create(agentId, { messages: [ftp] })
      .catch((error: unknown) => error)
    expect(refused).toBeInstanceOf(BadRequestError)
    expect((refused as BadRequestError).error).toEqual({ detail })
    const { error } = await streamTo(agentId, ftp)
    expect((error as APIError).error).toMatchObject({
      error_type: 'internal_error',
      message: detail,
    })
  })
})
