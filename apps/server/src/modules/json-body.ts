import { errorBody } from '@letta-openwebui/events'
import type { TSchema } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { Value } from '@sinclair/typebox/value'
import { describeValidation, MAX_BODY_BYTES, RequestRejected } from './errors.ts'

/**
 * Deepest JSON nesting the bridge parses: a chat request needs 3 levels. Checked by a linear
 * scan before JSON.parse, so a body of 60,000 nested arrays costs one pass, not a stack overflow.
 */
export const MAX_JSON_DEPTH = 32

/** How many problems a 422 names: enough to fix a request, cheap to compute. */
const PROBLEMS_NAMED = 3

/** Whether JSON text nests objects/arrays deeper than `limit` (strings and escapes skipped). */
export function jsonDeeperThan(text: string, limit: number): boolean {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (inString) {
      if (code === 0x5c)
        i++ // a backslash escapes the next character
      else if (code === 0x22) inString = false
    } else if (code === 0x22) inString = true
    else if (code === 0x7b || code === 0x5b) {
      if (++depth > limit) return true
    } else if (code === 0x7d || code === 0x5d) depth--
  }
  return false
}

/**
 * The body's bytes, read no further than `limit`: a chunked body (no Content-Length for
 * `onRequest` to check) is refused as soon as it passes the route's limit, not once it is all in.
 */
async function readUpTo(request: Request, limit: number): Promise<Uint8Array> {
  const tooLarge = () =>
    new RequestRejected(
      413,
      errorBody('payload_too_large', `The request body is larger than ${limit} bytes.`),
    )
  if (!request.body) return new Uint8Array()
  const chunks: Uint8Array[] = []
  let size = 0
  for await (const chunk of request.body) {
    size += chunk.byteLength
    if (size > limit) throw tooLarge()
    chunks.push(chunk)
  }
  return Buffer.concat(chunks, size)
}

/**
 * A route's JSON body, checked in the order that costs least: size (a chunked body has no
 * Content-Length for `onRequest` to check), depth, `JSON.parse`, then the route's schema. The
 * schema is checked here too, with properties it does not name dropped as Elysia does, so an
 * invalid body gets its 422 without Elysia building its validation error, which pretty-prints
 * the whole body (a 240 KB invalid body: ~80 ms that way); Elysia's own check then passes.
 */
export function jsonBody(schema: TSchema, limit = MAX_BODY_BYTES) {
  const compiled = TypeCompiler.Compile(schema)
  return async ({ request }: { request: Request }): Promise<unknown> => {
    const text = new TextDecoder().decode(await readUpTo(request, limit))
    if (jsonDeeperThan(text, MAX_JSON_DEPTH)) {
      throw new RequestRejected(
        400,
        errorBody(
          'invalid_request',
          `The request body is nested more than ${MAX_JSON_DEPTH} levels deep.`,
        ),
      )
    }
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch {
      throw new RequestRejected(
        400,
        errorBody('invalid_request', 'The request body is not valid JSON.'),
      )
    }
    const cleaned = Value.Clean(schema, value)
    if (compiled.Check(cleaned)) return cleaned
    const problems = []
    for (const problem of compiled.Errors(cleaned)) {
      problems.push(problem)
      if (problems.length >= PROBLEMS_NAMED) break
    }
    throw new RequestRejected(422, errorBody('invalid_request', describeValidation(problems)))
  }
}
