import type { Static } from '@sinclair/typebox'
import { Type } from '@sinclair/typebox'
import { literalUnion } from './validation.ts'

/**
 * Every failure the bridge can report, with the sentence a student reads in the chat.
 * Stable codes: the pipe and clients may branch on them.
 */
export const ERRORS = {
  unauthorized: {
    message: 'The Letta pipe is not authorised by the bridge server: check the API_KEY valve.',
    retryable: false,
  },
  invalid_request: { message: 'The bridge server could not read this request.', retryable: false },
  payload_too_large: {
    message: 'This message is too long for the agent. Please shorten it.',
    retryable: false,
  },
  protocol_mismatch: {
    message:
      'The Letta pipe and the bridge server are different versions: an admin should re-upload apps/pipe/dist/letta_pipe.py.',
    retryable: false,
  },
  unknown_template: { message: 'This agent template does not exist.', retryable: false },
  agent_busy: {
    message: 'Your agent is still answering your previous message. Please wait a moment.',
    retryable: true,
  },
  chat_busy: {
    message:
      'This chat is still answering your previous message. Wait for it to finish (or press stop), then send again.',
    retryable: true,
  },
  letta_unreachable: {
    message: 'The Letta server cannot be reached right now. Please try again in a minute.',
    retryable: true,
  },
  letta_misconfigured: {
    message:
      'The bridge server is not set up correctly for Letta: an admin should check its configuration and log.',
    retryable: false,
  },
  letta_auth_failed: {
    message: 'The bridge server could not log in to Letta: an admin should check LETTA_API_KEY.',
    retryable: false,
  },
  agent_not_found: {
    message: 'Your agent could not be found on the Letta server. Please try again.',
    retryable: true,
  },
  letta_busy: {
    message: 'Your agent is busy with another request. Please try again in a moment.',
    retryable: true,
  },
  rate_limited: {
    message: 'The agent is receiving too many requests. Please wait a moment and try again.',
    retryable: true,
  },
  letta_error: {
    message: 'The Letta server had a problem answering. Please try again.',
    retryable: true,
  },
  agent_error: { message: 'The agent ran into a problem while answering.', retryable: true },
  stream_interrupted: {
    message: 'The connection to the agent was lost before the answer finished.',
    retryable: true,
  },
  stream_stalled: {
    message: 'The agent stopped responding. Please try again.',
    retryable: true,
  },
  turn_timeout: {
    message:
      'The agent took too long to answer and was stopped. Please try again, perhaps with a shorter question.',
    retryable: true,
  },
  approval_gone: {
    message:
      'Nothing is waiting for your approval any more (the agent has moved on). Send your message again if you still need it.',
    retryable: false,
  },
  images_not_supported: {
    message:
      'This agent cannot see images, so your message was not sent. Send it again without the image, or choose an agent that can see.',
    retryable: false,
  },
  image_too_large: {
    message: 'An image is too large for the agent. Please send a smaller one.',
    retryable: false,
  },
  memory_disabled: {
    message: 'An admin has turned off /memory for this agent.',
    retryable: false,
  },
  memory_block_not_found: {
    message: 'Your agent has no memory block by that name. Send /memory to see its blocks.',
    retryable: false,
  },
  memory_read_only: {
    message: 'That memory block is read-only: it cannot be changed from the chat.',
    retryable: false,
  },
  memory_too_long: {
    message: 'That is more than the memory block can hold. Please shorten it.',
    retryable: false,
  },
  bridge_restarting: {
    message:
      'The bridge server restarted before your answer finished. Please send your message again.',
    retryable: true,
  },
  resume_failed: {
    message:
      'The connection broke during the answer and it could not be picked up again. Please send your message again.',
    retryable: true,
  },
  shared_state_unavailable: {
    message:
      'The bridge server cannot reach its shared store (Redis) right now. Please try again in a minute.',
    retryable: true,
  },
  internal_error: {
    message: 'Something went wrong in the bridge server. Please try again.',
    retryable: true,
  },
} as const satisfies Record<string, { message: string; retryable: boolean }>

export type ErrorCode = keyof typeof ERRORS

export const ERROR_CODES = Object.keys(ERRORS).sort() as ErrorCode[]

export const ErrorBody = Type.Object(
  {
    code: literalUnion(ERROR_CODES, { description: 'Stable machine-readable error code.' }),
    message: Type.String({ description: 'A sentence the person in the chat can read.' }),
    retryable: Type.Boolean({ description: 'Whether sending the message again may succeed.' }),
  },
  { additionalProperties: false, description: 'An error, as JSON body or as the error event.' },
)
export type ErrorBody = Static<typeof ErrorBody>

/** The error body for a code, optionally with a more specific sentence. */
export function errorBody(code: ErrorCode, message?: string): ErrorBody {
  const known = ERRORS[code]
  return { code, message: message ?? known.message, retryable: known.retryable }
}
