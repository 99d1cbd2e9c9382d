import type { HistoryMessage } from '@letta-openwebui/events'
import type { SeenMessage } from './thread-store.ts'

/**
 * What a new message does to its chat's thread, from the chat's visible history:
 * - `continue`: the thread holds exactly the visible messages it has seen; `carry` are visible
 *   messages it never got (answered by another model, or lost to a failed turn), sent along.
 * - `rewind`: the thread holds messages the chat no longer shows (a regenerate replaced an
 *   answer, an edit replaced a message and everything after it); only the first `keep` of them
 *   are still what the person sees.
 */
export type ThreadPlan =
  | { kind: 'continue'; carry: HistoryMessage[] }
  | { kind: 'rewind'; keep: number; discarded: SeenMessage[] }

/** Without history (a chat too long to send it) the thread just continues. */
export function planThread(seen: SeenMessage[], visible: HistoryMessage[] | undefined): ThreadPlan {
  if (!visible) return { kind: 'continue', carry: [] }
  let kept = 0
  while (
    kept < seen.length &&
    kept < visible.length &&
    seen[kept]?.role === visible[kept]?.role &&
    seen[kept]?.fp === visible[kept]?.fp
  ) {
    kept++
  }
  if (kept === seen.length) return { kind: 'continue', carry: visible.slice(kept) }
  return { kind: 'rewind', keep: kept, discarded: seen.slice(kept) }
}
