import { ErrorBody, errorBody } from '@letta-openwebui/events'
import { Elysia, ParseError } from 'elysia'
import type { Logger } from '../log.ts'

/** Largest request body the bridge reads (a 32,000-character message plus user fields fits). */
export const MAX_BODY_BYTES = 256 * 1024

/**
 * Deepest JSON nesting the bridge parses: a chat request needs 3 levels. Checked by a linear
 * scan before JSON.parse, so a body of 60,000 nested arrays costs one pass, not a stack overflow.
 */
export const MAX_JSON_DEPTH = 32

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

class TooDeep extends Error {
  override name = 'TooDeep'
}

type ValidationIssue = { path?: string; message?: string; summary?: string }

function describeValidation(issues: ValidationIssue[]): string {
  const lines = issues.slice(0, 3).map((issue) => {
    const field = issue.path ? issue.path.replace(/^\//, '').replaceAll('/', '.') : 'body'
    return `${field || 'body'}: ${(issue.message ?? issue.summary ?? 'invalid').toLowerCase()}`
  })
  return `The request is invalid (${lines.join('; ')}).`
}

/**
 * Every failure becomes `{ code, message, retryable }` JSON with a 4xx/5xx status:
 * never a stack trace, never Elysia's own error text.
 */
export const errors = (logger: Logger) =>
  new Elysia({ name: 'errors' })
    .model({ 'error.body': ErrorBody })
    .onRequest(({ request, set }) => {
      const length = Number(request.headers.get('content-length') ?? 0)
      if (length > MAX_BODY_BYTES) {
        set.status = 413
        return errorBody(
          'payload_too_large',
          `The request body is larger than ${MAX_BODY_BYTES} bytes.`,
        )
      }
    })
    .onParse({ as: 'global' }, async ({ request, contentType }) => {
      if (!contentType.startsWith('application/json')) return
      const text = await request.text()
      if (jsonDeeperThan(text, MAX_JSON_DEPTH)) throw new TooDeep()
      try {
        return JSON.parse(text)
      } catch {
        throw new ParseError()
      }
    })
    .onError({ as: 'global' }, ({ code, error, set }) => {
      // Elysia wraps what a parser throws in a ParseError.
      if (error instanceof TooDeep || (error as { cause?: unknown }).cause instanceof TooDeep) {
        set.status = 400
        return errorBody(
          'invalid_request',
          `The request body is nested more than ${MAX_JSON_DEPTH} levels deep.`,
        )
      }
      switch (code) {
        case 'VALIDATION':
          set.status = 422
          return errorBody('invalid_request', describeValidation(error.all as ValidationIssue[]))
        case 'PARSE':
          set.status = 400
          return errorBody('invalid_request', 'The request body is not valid JSON.')
        case 'NOT_FOUND':
          set.status = 404
          return errorBody('invalid_request', 'There is no such route on the bridge server.')
        case 'INVALID_COOKIE_SIGNATURE':
        case 'INVALID_FILE_TYPE':
          set.status = 400
          return errorBody('invalid_request')
        default: {
          const status = 'status' in error && typeof error.status === 'number' ? error.status : 500
          if (status === 413) {
            set.status = 413
            return errorBody('payload_too_large')
          }
          set.status = status >= 400 && status < 500 ? status : 500
          if (set.status === 500)
            logger.error('unhandled error', { code: String(code), error: String(error) })
          return errorBody(set.status === 500 ? 'internal_error' : 'invalid_request')
        }
      }
    })
