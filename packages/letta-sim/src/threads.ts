import { newId } from './frames.ts'
import type { Step } from './scenarios.ts'

/** One message of a thread, as the sim keeps it (enough for the message list and a fork). */
export type ThreadMessage = {
  id: string
  role: 'system' | 'user' | 'assistant'
  text: string
  date: string
}

/** What a run was given: its thread's messages (this run's input included) and its memory. */
export type RunContext = {
  messages: Array<{ role: string; text: string }>
  /** The memory blocks as the thread's system prompt was last compiled: label → value. */
  memory: Record<string, string>
}

/** The key of an agent's own thread ("default" conversation). */
export const agentThread = (agentId: string) => `agent:${agentId}`

/** An input message's text: a string, or the text parts of a content list. */
function inputText(content: unknown): string {
  if (typeof content === 'string') return content
  if (!Array.isArray(content)) return ''
  return content
    .map((part) =>
      typeof part === 'object' && part !== null && (part as { type?: unknown }).type === 'text'
        ? String((part as { text?: unknown }).text ?? '')
        : '',
    )
    .join('')
}

/** The answer messages a scenario writes, by message id, in order (the deltas joined). */
export function answerMessages(steps: Step[]): Array<{ id: string; text: string }> {
  const byId = new Map<string, string>()
  for (const step of steps) {
    if (!('frame' in step)) continue
    const frame = step.frame as { message_type?: string; id?: string; content?: unknown }
    if (frame.message_type !== 'assistant_message' || !frame.id) continue
    byId.set(frame.id, (byId.get(frame.id) ?? '') + inputText(frame.content))
  }
  return [...byId].map(([id, text]) => ({ id, text }))
}

/**
 * Every thread's in-context messages, as Letta keeps them: a system message first (compiled
 * with the memory blocks), then inputs and answers in order. Like Letta 0.16.8, a
 * conversation's system prompt is compiled when it is created (or forked) and on `recompile`
 * only; the agent's own thread is compiled with its current memory on every turn.
 */
export class ThreadBook {
  private readonly threads = new Map<string, ThreadMessage[]>()
  private readonly compiled = new Map<string, Record<string, string>>()

  /** A new thread with its system message compiled from `memory`. */
  open(key: string, memory: Record<string, string>, copied: ThreadMessage[] = []): ThreadMessage[] {
    const system: ThreadMessage = {
      id: newId('message'),
      role: 'system',
      text: 'system prompt',
      date: new Date().toISOString(),
    }
    const messages = [system, ...copied.filter((message) => message.role !== 'system')]
    this.threads.set(key, messages)
    this.compiled.set(key, { ...memory })
    return messages
  }

  get(key: string): ThreadMessage[] | undefined {
    return this.threads.get(key)
  }

  recompile(key: string, memory: Record<string, string>): void {
    this.compiled.set(key, { ...memory })
  }

  /** Appends a send's input messages; returns what the run is given. */
  input(key: string, messages: unknown[], memory: Record<string, string>): RunContext {
    const thread = this.threads.get(key) ?? this.open(key, memory)
    // The agent's own thread is rebuilt with the current memory at each step.
    if (key.startsWith('agent:')) this.compiled.set(key, { ...memory })
    for (const message of messages) {
      const { role, content } = (message ?? {}) as { role?: unknown; content?: unknown }
      if (role !== 'user' && role !== 'assistant' && role !== 'system') continue
      thread.push({
        id: newId('message'),
        role,
        text: inputText(content),
        date: new Date().toISOString(),
      })
    }
    return {
      messages: thread.slice(1).map(({ role, text }) => ({ role, text })),
      memory: { ...(this.compiled.get(key) ?? memory) },
    }
  }

  /** Appends a run's answers under the ids its frames carry. */
  answer(key: string, answers: Array<{ id: string; text: string }>): void {
    const thread = this.threads.get(key)
    if (!thread) return
    for (const { id, text } of answers)
      thread.push({ id, role: 'assistant', text, date: new Date().toISOString() })
  }

  delete(key: string): void {
    this.threads.delete(key)
    this.compiled.delete(key)
  }

  clear(): void {
    this.threads.clear()
    this.compiled.clear()
  }
}

/** One message send as a test reads it: which thread, and its input messages as "role: text". */
export type ThreadSend = { thread: string; messages: string[] }

/**
 * The message sends among recorded requests: `thread` is the conversation id, or
 * `agent:<id>` for the agent's own thread (`/v1/agents/{id}/messages`).
 */
export function threadSends(
  requests: Array<{ method: string; path: string; body: unknown }>,
): ThreadSend[] {
  return requests
    .filter(
      (request) =>
        request.method === 'POST' &&
        /^\/v1\/(agents|conversations)\/[^/]+\/messages$/.test(request.path),
    )
    .map((request) => {
      const [, , kind, id] = request.path.split('/')
      const body = request.body as { messages?: Array<{ role: string; content: unknown }> }
      return {
        thread: kind === 'conversations' ? (id as string) : `agent:${id}`,
        messages: (body.messages ?? []).map(
          (message) => `${message.role}: ${inputText(message.content)}`,
        ),
      }
    })
}
