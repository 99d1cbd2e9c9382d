import { createHash } from 'node:crypto'
import type { Static } from '@sinclair/typebox'
import { Type } from '@sinclair/typebox'

/**
 * A chat's visible history, as the pipe sends it with each message: one compact fingerprint per
 * earlier message, so the bridge can tell a next message from a regenerate or an edit, and the
 * text of the newest ones, so a rewound thread can carry them to the agent.
 */

/** Messages of history a request may name; a longer chat is sent without history (no rewind). */
export const MAX_HISTORY_MESSAGES = 500
/** Text carried per history message at most; longer text is cut (its fingerprint is not). */
export const MAX_CARRIED_MESSAGE_CHARS = 4_000
/** Text carried in all: the newest messages' text, until this budget is spent. */
export const MAX_CARRIED_CHARS = 16_000

// OpenWebUI keeps the thinking and tool blocks it shows inside an answer's stored content; what
// the agent said is the text around them. The pipe's zero-width space keeps tags in answers inert.
// The generator writes these patterns into the pipe, so both sides normalise alike.
export const FINGERPRINT_RULES = {
  /** Dropped first: the pipe's zero-width space, so an inert tag reads as the agent wrote it. */
  inert: /\u200b/g,
  /** Then removed, in order (case-insensitive, across lines). */
  remove: [/<details\b[^>]*>[\s\S]*?<\/details>/gi, /<think>[\s\S]*?<\/think>/gi],
  /** Then the text is NFC-normalised and this whitespace dropped (listed: `\s` differs by language). */
  ignored: /[\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]+/g,
  /** Hex digits of SHA-256 kept. */
  digits: 16,
}

/**
 * The text a fingerprint is taken of: OpenWebUI's `<details>` and `<think>` blocks removed,
 * Unicode NFC, and no whitespace at all, so a paragraph break the pipe adds between two parts
 * of an answer, or OpenWebUI's trimming, does not make the same message look different.
 */
export function fingerprintText(text: string): string {
  const kept = FINGERPRINT_RULES.remove.reduce(
    (rest, block) => rest.replace(block, ''),
    text.replace(FINGERPRINT_RULES.inert, ''),
  )
  return kept.normalize('NFC').replace(FINGERPRINT_RULES.ignored, '')
}

/** 16 hex digits of SHA-256 over `fingerprintText`: equal for the same message, as the pipe sees it. */
export function fingerprint(text: string): string {
  return createHash('sha256')
    .update(fingerprintText(text), 'utf8')
    .digest('hex')
    .slice(0, FINGERPRINT_RULES.digits)
}

export const Fingerprint = Type.String({
  pattern: '^[0-9a-f]{16}$',
  description: 'fingerprint(text): 16 hex digits of SHA-256 over the normalised text.',
})

export const HistoryMessage = Type.Object(
  {
    role: Type.Union([Type.Literal('user'), Type.Literal('assistant')], {
      description: 'Who wrote it, as the chat shows it.',
    }),
    fp: Fingerprint,
    text: Type.Optional(
      Type.String({
        maxLength: MAX_CARRIED_MESSAGE_CHARS,
        description: 'Its text (cut), sent for the newest messages within the carried budget.',
      }),
    ),
  },
  { additionalProperties: false, description: 'One earlier message of the chat, as shown.' },
)
export type HistoryMessage = Static<typeof HistoryMessage>
