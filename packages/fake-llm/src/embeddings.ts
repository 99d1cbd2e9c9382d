/**
 * `POST /v1/embeddings`, deterministic: a text's vector is its words hashed into buckets
 * (a bag of words, L2-normalised), so texts sharing words are near each other and the same text
 * always gets the same vector. Enough for Letta's archival memory to insert passages and find
 * them again; not a language model.
 */

/** OpenAI's text-embedding-3-small size, when the request names no `dimensions`. */
export const EMBEDDING_DIM = 1536
/** The model named in answers when the request names none (`GET /v1/models` lists only chat models). */
export const DEFAULT_EMBEDDING_MODEL = 'text-embedding-3-small'

/** FNV-1a, 32 bits: a stable bucket per word. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193) >>> 0
  }
  return hash
}

/** The vector of one text: word counts in hashed buckets, unit length (bucket 0 for no words). */
export function embed(text: string, dimensions = EMBEDDING_DIM): number[] {
  const vector = new Array<number>(dimensions).fill(0)
  const tokens = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []
  for (const token of tokens) {
    const bucket = fnv1a(token) % dimensions
    vector[bucket] = (vector[bucket] ?? 0) + 1
  }
  const norm = Math.hypot(...vector)
  if (norm === 0) {
    vector[0] = 1
    return vector
  }
  return vector.map((value) => value / norm)
}

/** float32 little-endian, base64: what OpenAI answers for `encoding_format: "base64"`. */
function base64(vector: number[]): string {
  return Buffer.from(new Float32Array(vector).buffer).toString('base64')
}

type EmbeddingsBody = {
  model?: unknown
  input?: unknown
  dimensions?: unknown
  encoding_format?: unknown
}

/** The answer to one embeddings request, or an OpenAI-style 400 for a malformed one. */
export function embeddingsAnswer(value: unknown): {
  status: number
  body: unknown
} {
  const body = (typeof value === 'object' && value !== null ? value : undefined) as
    | EmbeddingsBody
    | undefined
  const input = body?.input
  const texts = typeof input === 'string' ? [input] : input
  const dimensions = body?.dimensions === undefined ? EMBEDDING_DIM : Number(body.dimensions)
  if (
    !Array.isArray(texts) ||
    texts.length === 0 ||
    !texts.every((text) => typeof text === 'string') ||
    !Number.isInteger(dimensions) ||
    dimensions < 1 ||
    dimensions > 4096
  ) {
    return {
      status: 400,
      body: {
        error: {
          message: 'input must be a string or a non-empty list of strings',
          type: 'invalid_request_error',
          param: 'input',
          code: null,
        },
      },
    }
  }
  const asBase64 = body?.encoding_format === 'base64'
  const tokens = (texts as string[]).reduce((sum, text) => sum + Math.ceil(text.length / 4), 0)
  return {
    status: 200,
    body: {
      object: 'list',
      data: (texts as string[]).map((text, index) => {
        const vector = embed(text, dimensions)
        return { object: 'embedding', index, embedding: asBase64 ? base64(vector) : vector }
      }),
      model: String(body?.model ?? DEFAULT_EMBEDDING_MODEL),
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    },
  }
}
