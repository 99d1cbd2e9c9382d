import type { Server } from 'bun'
import type { AgentInit, SimAgent } from './agents.ts'
import { agentMemory, buildAgent } from './agents.ts'
import type { ControlCall, RunView } from './control.ts'
import { CONTROL_ROUTES, runViews } from './control.ts'
import type { SimConversation } from './conversations.ts'
import type { FileProcessing, SimFile, SimFolder } from './folders.ts'
import type { RecordedRequest, Route } from './http.ts'
import { json, matchRoute, normalizePath, parseQuery, readBody, recordedBody } from './http.ts'
import type { ModelCatalog } from './models.ts'
import { DEFAULT_MODELS } from './models.ts'
import { methodNotAllowed, routeNotFound } from './responses.ts'
import type { StreamStats } from './runs.ts'
import { FINISHED_RUNS_KEPT } from './runs.ts'
import type { Scenario } from './scenarios.ts'
import { demoScenario } from './scenarios.ts'
import type { LettaCall } from './server.ts'
import { LETTA_ROUTES } from './server.ts'
import type { CancelRecord, SimState } from './state.ts'
import { createState, resetState } from './state.ts'
import { agentThread } from './threads.ts'

/**
 * Letta 0.16.8's keepalive interval as shipped: settings.py says 20 s, but its conf.yaml (which
 * the Docker image reads) sets keepalive_interval: 50, measured against the real server.
 */
const LETTA_PING_INTERVAL_MS = 50_000
/** The kit's stubbed parser failed about 45 ms after the upload (recorded). */
const FILE_PROCESSING_MS = 50

export type SimOptions = {
  /** 0 (default): any free port. The sim always listens on 127.0.0.1. */
  port?: number
  /** Keepalive ping after this much silence, when the request asks for pings. */
  pingIntervalMs?: number
  /** Played when no scenario is queued; default: demoScenario. */
  defaultScenario?: Scenario
  /** Default true: a streaming send from a non-SDK client gets 422, like real Letta. */
  requireSdkHeader?: boolean
  /** Delay on agent create/list/retrieve/delete and conversation create, to test slow lookups. */
  agentLatencyMs?: number
  /** Finished runs remembered for lookups by id (default 10,000); older ones are forgotten. */
  finishedRunsKept?: number
  /**
   * Delay between receiving a send and registering its run (and answering), like a busy Letta:
   * a client that hangs up meanwhile does not know the run id, yet the run still starts.
   */
  runStartLatencyMs?: number
  /** The model and embedding handles this Letta offers (agent creation checks against them). */
  models?: ModelCatalog
  /**
   * Whether this Letta has Redis (default true, as Letta's Docker image and Letta Cloud do).
   * With it: one run at a time per conversation (409 busy with the holder's run id), and
   * `background: true` runs that can be resumed. Without it (a plain `pip install letta`): no
   * conversation lock, and background streaming is refused with 503.
   */
  redis?: boolean
  /**
   * How a background run's chunks reach its readers. 0 (default): each at once. 500: like
   * Letta's RedisSSEStreamWriter, in batches — at most every 0.5 s (or 50 chunks), so a reader
   * gets the tokens of a slow answer in bursts about half a second apart.
   */
  redisFlushMs?: number
  /** Whether this Letta has conversations (0.16.2+; default true). */
  conversations?: boolean
  /** Letta Cloud's fork at `message_id` (default false: 0.16.x copies the whole thread). */
  forkAtMessage?: boolean
  /**
   * How an uploaded file's processing ends (default `error`, as recorded from the offline kit,
   * whose parser is stubbed and which has no embedding endpoint; `completed` plays what a Letta
   * that can parse and embed reaches: parsing → embedding → completed, not recorded).
   */
  fileProcessing?: FileProcessing
  /** How long processing takes after an upload (default 50 ms, about what the kit took). */
  fileProcessingMs?: number
}

export type LettaSim = {
  /** `http://127.0.0.1:<port>` */
  url: string
  port: number
  /** Every Letta request in arrival order (control requests under `/_sim/` excluded). */
  requests: RecordedRequest[]
  /** Live counters; `aborted` = the client went away mid-stream. */
  streams: Readonly<StreamStats>
  cancels: CancelRecord[]
  agents: Map<string, SimAgent>
  /** Conversations by id (each names its agent). */
  conversations: Map<string, SimConversation>
  /** Folders by id, and the files uploaded into them. */
  folders: Map<string, SimFolder>
  files: Map<string, SimFile>
  /** What each kept run was given: its thread's messages and compiled memory (`/_sim/runs`). */
  runs(): RunView[]
  /** FIFO: the next message (for that agent, if given) plays it. */
  enqueue(scenario: Scenario, match?: { agentId?: string }): void
  /** Seeds an agent directly, as if created through the API. */
  createAgent(init?: AgentInit): SimAgent
  /** The agent disappears behind its users' back. */
  deleteAgent(id: string): void
  /** Clears requests, queue, agents, conversations, folders, runs and counters. */
  reset(): void
  /** Ends running streams and closes the server. */
  stop(): Promise<void>
}

async function dispatch<Context>(
  routes: Route<Context>[],
  context: Context,
  request: Request,
  path: string,
): Promise<Response> {
  const match = matchRoute(routes, request.method, path)
  if (match === 404) return routeNotFound()
  if (match === 405) return methodNotAllowed()
  return match.route.handle(context, match.params)
}

function fetchHandler(state: SimState) {
  return async (request: Request, server: Server<unknown>): Promise<Response> => {
    const at = performance.now()
    const url = new URL(request.url)
    const path = normalizePath(url.pathname)
    const body = await readBody(request)
    if (path.startsWith('/_sim/')) {
      return dispatch<ControlCall>(CONTROL_ROUTES, { state, body }, request, path)
    }
    const query = parseQuery(url.searchParams)
    state.requests.push({
      method: request.method,
      path,
      query,
      headers: Object.fromEntries(request.headers),
      body: recordedBody(body),
      at,
    })
    return dispatch<LettaCall>(LETTA_ROUTES, { request, server, state, query, body }, request, path)
  }
}

/** Starts a wire-faithful Letta V1 stand-in on 127.0.0.1. */
export async function startLettaSim(options: SimOptions = {}): Promise<LettaSim> {
  const state = createState({
    pingIntervalMs: options.pingIntervalMs ?? LETTA_PING_INTERVAL_MS,
    defaultScenario: options.defaultScenario ?? demoScenario,
    requireSdkHeader: options.requireSdkHeader ?? true,
    agentLatencyMs: options.agentLatencyMs ?? 0,
    runStartLatencyMs: options.runStartLatencyMs ?? 0,
    models: options.models ?? DEFAULT_MODELS,
    redis: options.redis ?? true,
    redisFlushMs: options.redisFlushMs ?? 0,
    conversations: options.conversations ?? true,
    forkAtMessage: options.forkAtMessage ?? false,
    fileProcessing: options.fileProcessing ?? 'error',
    fileProcessingMs: options.fileProcessingMs ?? FILE_PROCESSING_MS,
    finishedRunsKept: options.finishedRunsKept ?? FINISHED_RUNS_KEPT,
  })
  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: options.port ?? 0,
    development: false,
    fetch: fetchHandler(state),
    // FastAPI's generic 500 handler hides the cause from clients.
    error: () => json({ detail: 'An unknown error occurred' }, 500),
  })
  const port = server.port
  if (port === undefined) throw new Error('letta-sim did not get a TCP port')
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests: state.requests,
    streams: state.streams,
    cancels: state.cancels,
    agents: state.agents,
    conversations: state.conversations,
    folders: state.folders,
    files: state.files,
    runs: () => runViews(state),
    enqueue(scenario, match) {
      state.queue.push(scenario, match?.agentId)
    },
    createAgent(init = {}) {
      const agent = buildAgent(init)
      state.agents.set(agent.id, agent)
      state.threads.open(agentThread(agent.id), agentMemory(agent))
      return agent
    },
    deleteAgent(id) {
      state.agents.delete(id)
    },
    reset() {
      resetState(state)
    },
    async stop() {
      state.runs.stopAll()
      await server.stop(true)
    },
  }
}
