import type { Step } from '@letta-openwebui/letta-sim'
import { tokenStream } from '@letta-openwebui/letta-sim'

/** The message that makes the bench's letta-sim answer with the firehose instead of its demo. */
export const FIREHOSE_MESSAGE = 'bench: firehose'

/** ~1 KB per answer event: the stream is heavy in bytes, as a long answer or tool output is. */
const TOKEN_TEXT = `${'x'.repeat(1023)} `
/**
 * 100 MB per stream: far more than a bounded bridge takes from Letta in the bench's 10 s window
 * for a client that never reads. An unbounded one drains it within seconds, and a stream that
 * ends before the window does is a miss of the case. Not endless: letta-sim keeps each answer's
 * text in its thread, and 4 GB of it ran the sim out of memory (every stream failed to open).
 */
const FIREHOSE_TOKENS = 100_000

/**
 * An answer streamed as fast as the connection takes it, far longer than any bench window. One
 * frame object repeated, so the scenario costs letta-sim a pointer per token, not a kilobyte.
 */
export function firehose(): Step[] {
  const [token, ...finish] = tokenStream({ tokens: 1, text: () => TOKEN_TEXT })
  if (!token) throw new Error('tokenStream gave no steps')
  return [...new Array<Step>(FIREHOSE_TOKENS).fill(token), ...finish]
}
