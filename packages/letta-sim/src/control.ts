import type { Route } from './http.ts'
import { isLettaId, json } from './http.ts'
import { parseScenario } from './scenarios.ts'
import type { SimState } from './state.ts'
import { resetState } from './state.ts'

/** A request to the `/_sim/` control API, used by tests and benchmarks in other processes. */
export type ControlCall = { state: SimState; body: unknown }

function enqueue({ state, body }: ControlCall): Response {
  const request = (typeof body === 'object' && body !== null ? body : {}) as {
    scenario?: unknown
    agentId?: unknown
  }
  const steps = parseScenario(request.scenario)
  if (!steps) {
    return json({ detail: 'scenario must be a list of steps (see letta-sim scenarios.ts)' }, 422)
  }
  if (request.agentId !== undefined && typeof request.agentId !== 'string') {
    return json({ detail: 'agentId must be a string' }, 422)
  }
  state.queue.push(steps, request.agentId)
  return json({ queued: state.queue.size })
}

function snapshot({ state }: ControlCall): Response {
  return json({
    streams: state.streams,
    cancels: state.cancels,
    agents: state.agents.size,
    conversations: state.conversations.size,
    queued: state.queue.size,
    runningRuns: state.runs.running({}).length,
  })
}

/** A run as tests see it: where it ran and what the model was given. */
export type RunView = {
  id: string
  agentId: string
  conversationId: string | null
  status: string
  /** The thread's messages at run start, this run's input included: [{role, text}]. */
  messages: Array<{ role: string; text: string }>
  /** The memory blocks as the thread's system prompt was compiled then: label → value. */
  memory: Record<string, string>
  /** How the run ended, as its stream said (`requires_approval`, `end_turn` …); null while open. */
  stopReason: string | null
  /** The answers this run's request gave to its thread's pending approval request. */
  approvals: Array<{ tool_call_id: string; approve: boolean; reason: string | null }>
  /** The tool results the run stored: denied calls' errors (by the sim) and the scenario's. */
  toolReturns: Array<{ toolCallId: string; name: string | null; status: string; text: string }>
  /** The images of this run's input messages, without their bytes. */
  images: Array<{ mediaType: string; dataLength: number }>
}

/** Runs still kept (the newest `finishedRunsKept`), oldest first. */
export function runViews(state: SimState): RunView[] {
  return state.runs.list({ order: 'asc', limit: Number.MAX_SAFE_INTEGER }).map((run) => ({
    id: run.id,
    agentId: run.agentId,
    conversationId: run.conversationId ?? null,
    status: run.status,
    messages: run.context?.messages ?? [],
    memory: run.context?.memory ?? {},
    stopReason: run.stopReason ?? null,
    approvals: run.context?.approvals ?? [],
    toolReturns: run.context?.toolReturns ?? [],
    images: run.context?.images ?? [],
  }))
}

function deleteAgent({ state }: ControlCall, [agentId = '']: string[]): Response {
  if (!state.agents.delete(agentId)) {
    const detail = isLettaId('agent', agentId) ? `Agent with ID ${agentId} not found` : 'Not Found'
    return json({ detail }, 404)
  }
  return json({ deleted: agentId })
}

export const CONTROL_ROUTES: Route<ControlCall>[] = [
  { method: 'POST', pattern: /^\/_sim\/enqueue$/, handle: enqueue },
  { method: 'GET', pattern: /^\/_sim\/requests$/, handle: ({ state }) => json(state.requests) },
  { method: 'GET', pattern: /^\/_sim\/state$/, handle: snapshot },
  // What each run was given (RunView): for tests of what the agent's context holds.
  { method: 'GET', pattern: /^\/_sim\/runs$/, handle: ({ state }) => json(runViews(state)) },
  {
    method: 'POST',
    pattern: /^\/_sim\/reset$/,
    handle: ({ state }) => {
      resetState(state)
      return json({ ok: true })
    },
  },
  { method: 'DELETE', pattern: /^\/_sim\/agents\/([^/]+)$/, handle: deleteAgent },
]
