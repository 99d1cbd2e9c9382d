import type { SimAgent } from './agents.ts'
import type { SimConversation } from './conversations.ts'
import type { FileProcessing, SimFile, SimFolder } from './folders.ts'
import type { RecordedRequest } from './http.ts'
import type { ModelCatalog } from './models.ts'
import { RunBook, StreamCounters } from './runs.ts'
import type { Scenario } from './scenarios.ts'
import { ThreadBook } from './threads.ts'

/** One call to a cancel endpoint: what the caller asked for, and the runs it then cancelled. */
export type CancelRecord = {
  agentId?: string
  conversationId?: string
  /** The `run_ids` the caller named; null when it named none (Letta then picks active runs). */
  requested: string[] | null
  /** The runs asked for, or else the running ones the sim found. */
  runIds: string[]
  /** performance.now() on arrival. */
  at: number
}

export type SimSettings = {
  pingIntervalMs: number
  defaultScenario: Scenario
  requireSdkHeader: boolean
  agentLatencyMs: number
  runStartLatencyMs: number
  finishedRunsKept: number
  models: ModelCatalog
  redis: boolean
  /** How a background run's chunks reach its readers: at once (0) or batched (see RunLog). */
  redisFlushMs: number
  /** Letta 0.16.2+: the conversations API; false answers its routes like an older Letta. */
  conversations: boolean
  /** Letta Cloud's fork, cut at `message_id`; 0.16.x copies the whole thread. */
  forkAtMessage: boolean
  /** How uploaded files' processing ends, and after how long (see SimOptions). */
  fileProcessing: FileProcessing
  fileProcessingMs: number
}

/** Scenarios waiting for a message: FIFO, optionally reserved for one agent. */
export class ScenarioQueue {
  private entries: Array<{ scenario: Scenario; agentId?: string }> = []

  push(scenario: Scenario, agentId?: string): void {
    this.entries.push(agentId === undefined ? { scenario } : { scenario, agentId })
  }

  /** The oldest scenario for this agent or for anyone, removed from the queue. */
  take(agentId: string): Scenario | undefined {
    const index = this.entries.findIndex(
      (entry) => entry.agentId === undefined || entry.agentId === agentId,
    )
    if (index === -1) return undefined
    return this.entries.splice(index, 1)[0]?.scenario
  }

  get size(): number {
    return this.entries.length
  }

  clear(): void {
    this.entries = []
  }
}

/** Everything the simulated Letta holds, and everything it recorded. */
export type SimState = {
  settings: SimSettings
  agents: Map<string, SimAgent>
  conversations: Map<string, SimConversation>
  folders: Map<string, SimFolder>
  files: Map<string, SimFile>
  runs: RunBook
  threads: ThreadBook
  queue: ScenarioQueue
  requests: RecordedRequest[]
  streams: StreamCounters
  cancels: CancelRecord[]
}

export function createState(settings: SimSettings): SimState {
  return {
    settings,
    agents: new Map(),
    conversations: new Map(),
    folders: new Map(),
    files: new Map(),
    runs: new RunBook(settings.finishedRunsKept, settings.redisFlushMs),
    threads: new ThreadBook(),
    queue: new ScenarioQueue(),
    requests: [],
    streams: new StreamCounters(),
    cancels: [],
  }
}

/** Back to empty. Arrays and maps are cleared in place: callers hold references to them. */
export function resetState(state: SimState): void {
  state.runs.clear()
  state.threads.clear()
  state.agents.clear()
  state.conversations.clear()
  state.folders.clear()
  state.files.clear()
  state.queue.clear()
  state.requests.length = 0
  state.cancels.length = 0
  state.streams.reset()
}
