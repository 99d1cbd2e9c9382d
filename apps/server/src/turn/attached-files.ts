import type { Attachment } from '@letta-openwebui/events'
import { MAX_INLINE_FILE_CHARS } from '@letta-openwebui/events'
import type { FileNote } from './user-message.ts'

/**
 * Files whose text goes with the message, within the inline budget: in order, each file gets
 * what the budget has left, and a cut file says how much of it the agent sees. A file the pipe
 * already cut keeps its whole length in `fullChars`.
 */
export function inlineFiles(files: Attachment[], budget = MAX_INLINE_FILE_CHARS): FileNote[] {
  let left = budget
  return files.map((file) => {
    const fullChars = Math.max(file.fullChars ?? 0, file.text.length)
    const text = cutUtf16(file.text, left)
    left -= text.length
    return text.length < fullChars
      ? { name: file.name, text, fullChars }
      : { name: file.name, text }
  })
}

/** At most `limit` UTF-16 code units, never half a surrogate pair. */
function cutUtf16(text: string, limit: number): string {
  if (text.length <= limit) return text
  const end = limit > 0 && /[\uD800-\uDBFF]/.test(text.charAt(limit - 1)) ? limit - 1 : limit
  return text.slice(0, Math.max(end, 0))
}
