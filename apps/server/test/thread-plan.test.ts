import { describe, expect, it } from 'bun:test'
import { fingerprint } from '@letta-openwebui/events'
import { planThread } from '../src/threads/thread-plan.ts'

const user = (text: string) => ({ role: 'user' as const, fp: fingerprint(text) })
const answer = (text: string) => ({ role: 'assistant' as const, fp: fingerprint(text) })

describe('planThread', () => {
  const seen = [user('a'), answer('A'), user('b'), answer('B')]

  it('continues when the chat shows exactly what the thread holds', () => {
    expect(planThread(seen, [...seen])).toEqual({ kind: 'continue', carry: [] })
  })

  it('continues and carries what the chat shows beyond the thread (another model answered)', () => {
    const extra = [user('c'), answer('C from another model')]
    expect(planThread(seen, [...seen, ...extra])).toEqual({ kind: 'continue', carry: extra })
  })

  it('rewinds to the last shared message on a regenerate and an edit', () => {
    expect(planThread(seen, seen.slice(0, 2))).toEqual({
      kind: 'rewind',
      keep: 2,
      discarded: seen.slice(2),
    })
    expect(planThread(seen, [])).toEqual({ kind: 'rewind', keep: 0, discarded: seen })
  })

  it('rewinds when an answer the thread holds is not the one shown (another branch)', () => {
    const branch = [user('a'), answer('A, the first version'), user('b')]
    expect(planThread(seen, branch)).toEqual({ kind: 'rewind', keep: 1, discarded: seen.slice(1) })
  })

  it('treats whitespace and OpenWebUI’s thinking block as the same message', () => {
    const shown = [
      user(' a\n'),
      answer(
        '<details type="reasoning" done="true">\n<summary>Thought</summary>\n> hm\n</details>\nA',
      ),
    ]
    expect(planThread(seen.slice(0, 2), shown)).toEqual({ kind: 'continue', carry: [] })
  })

  it('just continues without history (a chat too long to send it)', () => {
    expect(planThread(seen, undefined)).toEqual({ kind: 'continue', carry: [] })
  })
})
