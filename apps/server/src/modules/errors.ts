import {
  base64Chars,
  ErrorBody,
  errorBody,
  MAX_FOLDER_FILE_CHARS,
  MAX_IMAGES_BYTES,
  ROUTES,
} from '@letta-openwebui/events'
import { Elysia } from 'elysia'
import type { Logger } from '../log.ts'

/**
 * Largest request body the bridge reads: a 32,000-character message with the chat's history,
 * or a memory edit, fits.
 */
export const MAX_BODY_BYTES = 256 * 1024
/**
 * Largest message to the agent: the above, the images a message may carry (base64) and the
 * text of its files (up to 3 UTF-8 bytes per character), about 15 MB.
 */
export const MAX_CHAT_BODY_BYTES =
  MAX_BODY_BYTES + base64Chars(MAX_IMAGES_BYTES) + 3 * MAX_FOLDER_FILE_CHARS

const CHAT_ROUTES = new Set<string>([ROUTES.chat, ROUTES.chatStream])

/** The body limit of a route: only messages to the agent carry images and files. */
export const bodyLimitOf = (path: string): number =>
  CHAT_ROUTES.has(path) ? MAX_CHAT_BODY_BYTES : MAX_BODY_BYTES

/** A request refused before its handler: the status and the sentence to answer with. */
export class RequestRejected extends Error {
  override name = 'RequestRejected'
  constructor(
    readonly status: number,
    readonly body: ErrorBody,
  ) {
    super(body.message)
  }
}

type ValidationIssue = { path?: string; message?: string; summary?: string }

/** Names the fields at fault and what they should be, never the values sent. */
export function describeValidation(issues: ValidationIssue[]): string {
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
      const limit = bodyLimitOf(new URL(request.url).pathname)
      if (length > limit) {
        set.status = 413
        return errorBody('payload_too_large', `The request body is larger than ${limit} bytes.`)
      }
    })
    .onError({ as: 'global' }, ({ code, error, set }) => {
      // Elysia wraps what a parser throws in a ParseError.
      const rejected =
        error instanceof RequestRejected ? error : (error as { cause?: unknown }).cause
      if (rejected instanceof RequestRejected) {
        set.status = rejected.status
        return rejected.body
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
