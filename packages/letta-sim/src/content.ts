import { newId } from './frames.ts'

/**
 * A user message's content as Letta 0.16.8 takes it: a string, or a list of text and image parts.
 * An image source is `base64` (media_type and data), `url` (http, https or a data: URL) or
 * `letta` (a file id); Letta stores every image as a `letta` source holding the media type and
 * the base64 data (`letta/helpers/message_helper.py`).
 */

/** A content part as the message list shows it. */
export type StoredPart =
  | { type: 'text'; text: string; signature: null }
  | {
      type: 'image'
      source: { type: 'letta'; file_id: string; media_type: string; data: string; detail: null }
    }

type Part = Record<string, unknown>

const PYDANTIC_CONTENT_LIST =
  'list[tagged-union[TextContent,ImageContent,ToolCallContent,ToolReturnContent,ReasoningContent,' +
  'RedactedReasoningContent,OmittedReasoningContent,SummarizedReasoningContent]]'
const IMAGE_SOURCE_TAGS =
  "<ImageSourceType.url: 'url'>, <ImageSourceType.base64: 'base64'>, <ImageSourceType.letta: 'letta'>"
/** The fields each image source type requires (Letta's UrlImage, Base64Image, LettaImage). */
const REQUIRED_SOURCE_FIELDS: Record<string, string[]> = {
  url: ['url'],
  base64: ['media_type', 'data'],
  letta: ['file_id'],
}
/** Letta fetches http(s) images itself; a data: URL is decoded in place; nothing else is taken. */
const IMAGE_URL_SCHEMES = ['http', 'https', 'data']

const asPart = (value: unknown): Part | undefined =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Part) : undefined

const contentLists = (messages: unknown[]) =>
  messages.flatMap((message, index) => {
    const content = asPart(message)?.content
    return Array.isArray(content) ? [{ index, parts: content.map(asPart) }] : []
  })

/**
 * FastAPI's 422 for an image part Pydantic rejects: an unknown source type, or a missing field.
 * Letta's detail also lists the other union members it tried; the sim names the one that matters.
 */
export function invalidContent(messages: unknown[]): string | undefined {
  for (const { index, parts } of contentLists(messages)) {
    for (const [at, part] of parts.entries()) {
      if (part?.type !== 'image') continue
      const source = asPart(part.source) ?? {}
      const loc = `('body', 'messages', ${index}, 'function-after[generate_otid_if_missing(), MessageCreate]', 'content', '${PYDANTIC_CONTENT_LIST}', ${at}, 'image', 'source'`
      const tag = String(source.type)
      const required = REQUIRED_SOURCE_FIELDS[tag]
      if (!required) {
        return `[{'type': 'union_tag_invalid', 'loc': ${loc}), 'msg': "Input tag '${tag}' found using 'type' does not match any of the expected tags: ${IMAGE_SOURCE_TAGS}"}]`
      }
      const missing = required.find((field) => typeof source[field] !== 'string')
      if (missing) {
        return `[{'type': 'missing', 'loc': ${loc}, '${tag}', '${missing}'), 'msg': 'Field required'}]`
      }
    }
  }
  return undefined
}

/** Letta's LettaInvalidArgumentError for an image URL it will not fetch (raised when the run starts). */
export function unsupportedImageUrl(messages: unknown[]): string | undefined {
  for (const { parts } of contentLists(messages)) {
    for (const part of parts) {
      const source = asPart(part?.source)
      if (part?.type !== 'image' || source?.type !== 'url') continue
      const scheme = String(source.url).split(':')[0]?.toLowerCase() ?? ''
      if (!IMAGE_URL_SCHEMES.includes(scheme)) {
        return (
          `INVALID_ARGUMENT: Unsupported image URL scheme '${scheme}'. Only 'http', 'https', and ` +
          "'data' image URLs are supported. Local file paths (file://) are not allowed."
        )
      }
    }
  }
  return undefined
}

/** Media type and base64 data of a `data:<type>;base64,<data>` URL. */
function dataUrl(url: string): { mediaType: string; data: string } {
  const match = /^data:([^;,]+)?(?:;base64)?,(.*)$/s.exec(url)
  return { mediaType: match?.[1] ?? 'image/png', data: match?.[2] ?? '' }
}

/** An http(s) image: Letta downloads it; the sim keeps no bytes and guesses the type by name. */
function remoteImage(url: string): { mediaType: string; data: string } {
  const extension = /\.(png|jpe?g|gif|webp)(?:[?#]|$)/i.exec(url)?.[1]?.toLowerCase()
  const mediaType = extension ? `image/${extension === 'jpg' ? 'jpeg' : extension}` : 'image/jpeg'
  return { mediaType, data: '' }
}

function storedImage(source: Part): StoredPart {
  const { mediaType, data } =
    source.type === 'url'
      ? String(source.url).startsWith('data:')
        ? dataUrl(String(source.url))
        : remoteImage(String(source.url))
      : { mediaType: String(source.media_type ?? 'image/png'), data: String(source.data ?? '') }
  return {
    type: 'image',
    source: {
      type: 'letta',
      file_id: source.type === 'letta' ? String(source.file_id) : newId('file'),
      media_type: mediaType,
      data,
      detail: null,
    },
  }
}

/** A content list as Letta stores and lists it; undefined for string content. */
export function storedParts(content: unknown): StoredPart[] | undefined {
  if (!Array.isArray(content)) return undefined
  return content.map(asPart).flatMap((part): StoredPart[] => {
    if (part?.type === 'text')
      return [{ type: 'text', text: String(part.text ?? ''), signature: null }]
    if (part?.type === 'image') return [storedImage(asPart(part.source) ?? {})]
    return []
  })
}

/** An image as tests read it: what the run was given, without the bytes. */
export type ImageView = { mediaType: string; dataLength: number }

export const imageViews = (parts: StoredPart[] | undefined): ImageView[] =>
  (parts ?? []).flatMap((part) =>
    part.type === 'image'
      ? [{ mediaType: part.source.media_type, dataLength: part.source.data.length }]
      : [],
  )
