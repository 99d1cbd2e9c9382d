import type { Decision } from './approvals.ts'
import type { ImageView, StoredPart } from './content.ts'
import { imageViews, storedParts } from './content.ts'
import { isoSeconds, newId, parseRawFrame, uuid } from './frames.ts'
import type { Step } from './scenarios.ts'

/** A tool call as Letta stores it on an assistant message (the streamed deltas joined). */
export type StoredToolCall = { name: string; arguments: string; tool_call_id: string }

/**
 * One message of a thread: Letta's `Message` row, as much of it as the message list, the runs'
 * contexts and a fork need. One LLM step is one assistant message: its reasoning, its text and
 * its tool calls (stored under the id its frames carried, or its approval request's id); a
 * tool's result is a message of its own, and so is an answer to an approval request.
 */
export type ThreadMessage = {
  id: string
  role: 'system' | 'user' | 'assistant' | 'tool' | 'approval'
  /** The content: the prompt, an input, an answer ('' for a step that only called tools). */
  text: string
  date: string
  otid: string | null
  stepId: string | null
  runId: string | null
  /** An assistant step's thinking. */
  reasoning?: string
  toolCalls?: StoredToolCall[]
  /** The step asked for approval instead of running its tool calls. */
  approval?: boolean
  /** A tool message: its `tool_return_message` fields as they were streamed. */
  toolReturn?: Record<string, unknown>
  /** A user message sent as a content list: its parts as Letta stores them (images included). */
  parts?: StoredPart[]
  /** An approval message: the decisions it carried. */
  decisions?: Decision[]
}

/**
 * What a run was given, as `/_sim/runs` and `LettaSim.runs()` show it: its thread's messages
 * after the system prompt, this run's inputs included, as {role, text} (user, system and
 * assistant inputs; the assistant's answers; neither reasoning nor tool calls or results),
 * and the memory blocks as the thread's system prompt was last compiled: label → value.
 */
export type RunContext = {
  messages: Array<{ role: string; text: string }>
  memory: Record<string, string>
}

/** What a run stored besides its text: what tests assert reached Letta (see RunView). */
export type RunTrace = {
  approvals: Decision[]
  toolReturns: Array<{ toolCallId: string; name: string | null; status: string; text: string }>
  images: ImageView[]
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

type Frame = Record<string, unknown>

/** The message frames a scenario plays, structured or raw (a replayed transcript). */
function framesOf(steps: Step[]): Frame[] {
  return steps.flatMap((step) => {
    if ('frame' in step) return [step.frame as unknown as Frame]
    if ('raw' in step) return [parseRawFrame(step.raw) ?? {}]
    return []
  })
}

const text = (value: unknown): string => (typeof value === 'string' ? value : inputText(value))

/** Joins a tool-call delta into the message's calls (name first, then argument fragments). */
function addToolCall(message: ThreadMessage, delta: unknown): void {
  const { name, arguments: args, tool_call_id } = (delta ?? {}) as Record<string, unknown>
  if (typeof tool_call_id !== 'string') return
  const calls = message.toolCalls ?? []
  message.toolCalls = calls
  let call = calls.find((candidate) => candidate.tool_call_id === tool_call_id)
  if (!call) {
    call = { name: '', arguments: '', tool_call_id }
    calls.push(call)
  }
  if (typeof name === 'string' && name) call.name = name
  if (typeof args === 'string') call.arguments += args
}

/** The fields of a `tool_return_message` after the envelope. */
const TOOL_RETURN_FIELDS = [
  'tool_return',
  'status',
  'tool_call_id',
  'stdout',
  'stderr',
  'tool_returns',
] as const

/**
 * The messages a run's frames store, in order of their first frame. Frames of one LLM step are
 * one message (keyed by their step, else their id), under the id they carried; an approval
 * request's frames carry an id of their own, which the stored step takes (as on Letta, whose
 * streamed reasoning and approval request differ in id but are listed under the request's).
 */
export function runMessages(steps: Step[], runId: string): ThreadMessage[] {
  const byKey = new Map<string, ThreadMessage>()
  for (const frame of framesOf(steps)) {
    const { id, message_type: type } = frame
    if (typeof id !== 'string' || typeof type !== 'string') continue
    const stepId = typeof frame.step_id === 'string' ? frame.step_id : null
    const envelope = {
      id,
      date: isoSeconds(),
      otid: typeof frame.otid === 'string' ? frame.otid : uuid(),
      stepId,
      runId,
    }
    if (type === 'tool_return_message') {
      const toolReturn = Object.fromEntries(TOOL_RETURN_FIELDS.map((key) => [key, frame[key]]))
      toolReturn.name = frame.name ?? null
      byKey.set(id, { ...envelope, role: 'tool', text: text(frame.tool_return), toolReturn })
      continue
    }
    const key = stepId ?? id
    const known = byKey.get(key)
    const message = known ?? { ...envelope, role: 'assistant' as const, text: '' }
    if (type === 'reasoning_message')
      message.reasoning = (message.reasoning ?? '') + text(frame.reasoning)
    else if (type === 'assistant_message') message.text += text(frame.content)
    else if (type === 'tool_call_message' || type === 'approval_request_message') {
      addToolCall(message, frame.tool_call ?? frame.tool_calls)
      if (type === 'approval_request_message') {
        message.approval = true
        message.id = id
      }
    } else continue
    if (!known) byKey.set(key, message)
  }
  return [...byKey.values()]
}

/** Whether a message is part of a run's context as tests read it (see RunContext). */
const conversational = (message: ThreadMessage): boolean =>
  message.role !== 'tool' &&
  message.role !== 'approval' &&
  !(message.role === 'assistant' && message.text === '')

/** What a run's messages amount to for RunView: its approvals, tool results and images. */
export function runTrace(messages: ThreadMessage[]): RunTrace {
  return {
    approvals: messages.flatMap((message) => message.decisions ?? []),
    toolReturns: messages.flatMap((message) =>
      message.toolReturn
        ? [
            {
              toolCallId: String(message.toolReturn.tool_call_id ?? ''),
              name: typeof message.toolReturn.name === 'string' ? message.toolReturn.name : null,
              status: String(message.toolReturn.status ?? ''),
              text: message.text,
            },
          ]
        : [],
    ),
    images: messages.flatMap((message) => imageViews(message.parts)),
  }
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

  /** A new thread with its system message compiled from `memory`, then `copied` (a fork). */
  open(key: string, memory: Record<string, string>, copied: ThreadMessage[] = []): ThreadMessage[] {
    const system: ThreadMessage = {
      id: newId('message'),
      role: 'system',
      text: systemPrompt(memory),
      date: isoSeconds(),
      otid: null,
      stepId: null,
      runId: null,
    }
    const messages = [system, ...copied.filter((message) => message.role !== 'system')]
    this.threads.set(key, messages)
    this.compiled.set(key, { ...memory })
    return messages
  }

  get(key: string): ThreadMessage[] | undefined {
    return this.threads.get(key)
  }

  /** The system prompt compiled again from `memory`; returns it (unchanged when `dryRun`). */
  recompile(key: string, memory: Record<string, string>, dryRun = false): string {
    const prompt = systemPrompt(memory)
    const system = this.threads.get(key)?.[0]
    if (dryRun) return prompt
    if (system) system.text = prompt
    this.compiled.set(key, { ...memory })
    return prompt
  }

  /**
   * Appends a send's messages: `before` as given (an approval's answer and its tool returns),
   * then the input messages (roles user, assistant, system, in order); returns what the run is
   * given.
   */
  input(
    key: string,
    messages: unknown[],
    memory: Record<string, string>,
    before: ThreadMessage[] = [],
  ): RunContext {
    const thread = this.threads.get(key) ?? this.open(key, memory)
    // The agent's own thread is rebuilt with the current memory at each step.
    if (key.startsWith('agent:')) this.recompile(key, memory)
    thread.push(...before)
    for (const message of messages) {
      const { role, content, otid } = (message ?? {}) as Record<string, unknown>
      if (role !== 'user' && role !== 'assistant' && role !== 'system') continue
      const parts = role === 'user' ? storedParts(content) : undefined
      thread.push({
        id: newId('message'),
        role,
        text: inputText(content),
        date: isoSeconds(),
        otid: typeof otid === 'string' ? otid : uuid(),
        stepId: null,
        runId: null,
        ...(parts ? { parts } : {}),
      })
    }
    return {
      messages: thread
        .slice(1)
        .filter(conversational)
        .map(({ role, text }) => ({ role, text })),
      memory: { ...(this.compiled.get(key) ?? memory) },
    }
  }

  /**
   * Ties the inputs just appended to their run (and its first step, as Letta does), then
   * appends the run's answers under the ids its frames carry.
   */
  answer(key: string, runId: string, steps: Step[]): ThreadMessage[] {
    const thread = this.threads.get(key)
    if (!thread) return []
    const answers = runMessages(steps, runId)
    const firstStep = answers.find((message) => message.stepId)?.stepId ?? null
    const inputs = thread.slice(1).filter((message) => message.runId === null)
    for (const message of inputs) {
      message.runId = runId
      // An approval's answer belongs to no step; its tool returns keep the request's.
      if (message.stepId === null && message.role !== 'approval') message.stepId = firstStep
    }
    thread.push(...answers)
    return [...inputs, ...answers]
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

/** The sim's stand-in for Letta's compiled system prompt: the memory blocks, one tag each. */
export function systemPrompt(memory: Record<string, string>): string {
  const blocks = Object.entries(memory).map(
    ([label, value]) => `<${label}>\n<value>\n${value}\n</value>\n</${label}>`,
  )
  return `<memory_blocks>\n${blocks.join('\n\n')}\n</memory_blocks>`
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
