/**
 * Background mode on the real Letta 0.16.8 (`background: true`): with Redis, the stream a send
 * answers (its `seq_id`s, its keepalive pings), resuming it at `POST /v1/runs/{id}/stream` during
 * and after the run, a busy conversation, a same-otid retry, a cancel; without Redis, what the
 * send is refused with and what it leaves behind. The Redis Letta runs with a short keepalive
 * (BACKGROUND_KEEPALIVE_S) so keepalive pings can be recorded.
 */
import type { Reply } from '@letta-openwebui/fake-llm'
import type { Session } from './record-session.ts'
import { firstId, newAgent, post, send, whileStreaming } from './record-session.ts'
import type { Exchange } from './recording.ts'

/** Letta's keepalive for the Redis recordings (0.16.8 ships 50 s): a ping after 2 s of silence. */
export const BACKGROUND_KEEPALIVE_S = 2
/** A silence the model keeps before answering: one keepalive ping, not two. */
const SILENCE_MS = 3_000
/** How long a resume that never ends is read before it is cut. */
const ENDLESS_READ_MS = 5_000
/** A run id Letta has never seen. */
const UNKNOWN_RUN = 'run-00000000-0000-4000-8000-000000000000'

/** An answer that runs ~3 s, long enough to act while it runs, short enough to wait for. */
const SLOW_SHORT: Reply = {
  content: Array.from({ length: 30 }, (_, i) => `w${i}`).join(' '),
  chunkDelayMs: 100,
}
/** An answer that runs ~30 s: cancelled long before its end. */
const SLOW_LONG: Reply = {
  content: Array.from({ length: 300 }, (_, i) => `w${i}`).join(' '),
  chunkDelayMs: 100,
}

const background = (content: string, extra: Record<string, unknown> = {}) =>
  send(content, { background: true, ...extra })

const seqOf = (event: string): number => Number(/"seq_id":(\d+)/.exec(event)?.[1] ?? 0)
/** The stream has got this far: a frame numbered `seq` or later arrived. */
const reached = (seq: number) => (event: string) => seqOf(event) >= seq
/** The highest `seq_id` a stream showed (its last message frame). */
const lastSeq = (exchange: Exchange): number => Math.max(0, ...(exchange.sse ?? []).map(seqOf))
const runIdOf = (exchange: Exchange): string => firstId(exchange, 'run_id', 'run')
const resume = (runId: string, body: unknown) => post(`/v1/runs/${runId}/stream`, body)
const getRun = (runId: string) => ({ method: 'GET', path: `/v1/runs/${runId}` })

/** Waits until Letta has written a run's final status. */
async function settled(s: Session, runId: string): Promise<void> {
  for (let tries = 0; tries < 100; tries++) {
    const run = await s.exchange(getRun(runId))
    if ((run.json as { status?: string }).status !== 'running') return
    await Bun.sleep(100)
  }
  throw new Error(`run ${runId} did not finish`)
}

/**
 * An agent's runs once Letta has finished its bookkeeping: none running, and every completed
 * one timed (Letta writes `total_duration_ns` a moment after the status).
 */
async function settledRuns(s: Session, agentId: string): Promise<Exchange> {
  for (let tries = 0; tries < 100; tries++) {
    const runs = await s.exchange({ method: 'GET', path: `/v1/runs/?agent_id=${agentId}` })
    const list = runs.json as Array<{ status: string; total_duration_ns: number | null }>
    const busy = list.some(
      (run) =>
        run.status === 'running' || (run.status === 'completed' && run.total_duration_ns === null),
    )
    if (!busy) return runs
    await Bun.sleep(100)
  }
  throw new Error(`the runs of ${agentId} did not settle`)
}

async function newConversation(s: Session, agentId: string): Promise<string> {
  const created = await s.exchange(post(`/v1/conversations/?agent_id=${agentId}`, {}))
  const id = (created.json as { id?: string }).id
  if (!id) throw new Error(`conversation create failed: ${JSON.stringify(created.json)}`)
  return id
}

/** A finished background answer, and every way of reading it again. */
async function recordFinishedRun(s: Session, messages: string) {
  const { keep, script } = s
  const answer = keep(
    'background_stream',
    await s.exchange(
      post(
        messages,
        background(
          `Hi ${script([{ reasoning: 'A greeting.', content: 'Hello! How can I help?' }])}`,
        ),
      ),
    ),
    'the opening ping is chunk 1 (seq_id 1); stop_reason, usage and [DONE] take numbers without showing them',
  )
  const runId = runIdOf(answer)
  const last = lastSeq(answer)
  keep('background_resume_from_start', await s.exchange(resume(runId, { starting_after: 0 })))
  keep(
    'background_resume_after_message',
    await s.exchange(resume(runId, { starting_after: 3 })),
    'every chunk numbered above starting_after, then the end',
  )
  keep(
    'background_resume_after_last_message',
    await s.exchange(resume(runId, { starting_after: last })),
    'after the last message frame: stop_reason, usage, [DONE]',
  )
  keep(
    'background_resume_past_end',
    await s.exchange(resume(runId, { starting_after: last + 3 }), { readForMs: ENDLESS_READ_MS }),
    "at [DONE]'s number (last message + 3): no chunk ends it, keepalive pings only, cut by the client",
  )
  keep(
    'background_resume_foreground_run',
    await s.exchange(
      resume(runIdOf(await s.exchange(post(messages, send('Hi again')))), { starting_after: 0 }),
    ),
  )
}

/** A failing model: a background stream ends at its error event; the run keeps the error. */
async function recordError(s: Session, messages: string) {
  const failing = () => `Hi ${s.script([{ error: { status: 429 } }])}`
  const failed = s.keep(
    'background_error_stream',
    await s.exchange(post(messages, background(failing()))),
    'the model answers 429 to every attempt: the error event (numbered) ends the stream, no [DONE]',
  )
  await settled(s, runIdOf(failed))
  s.keep('background_run_after_error', await s.exchange(getRun(runIdOf(failed))))
  const foreground = await s.exchange(post(messages, send(failing())))
  await settled(s, runIdOf(foreground))
  s.keep(
    'run_after_error',
    await s.exchange(getRun(runIdOf(foreground))),
    'a foreground run the model failed, for comparison',
  )
}

/** A silent model: keepalive pings of a background stream repeat the last seq_id. */
async function recordKeepalive(s: Session, messages: string) {
  const silent = (text: string) => `Hi ${s.script([{ delayMs: SILENCE_MS, content: text }])}`
  s.keep(
    'background_keepalive_stream',
    await s.exchange(post(messages, background(silent('After a pause.')))),
    `keepalive ${BACKGROUND_KEEPALIVE_S} s, the model silent ${SILENCE_MS / 1000} s`,
  )
  s.keep(
    'keepalive_stream',
    await s.exchange(post(messages, send(silent('After a pause.')))),
    `foreground, for comparison: keepalive ${BACKGROUND_KEEPALIVE_S} s, the model silent ${SILENCE_MS / 1000} s`,
  )
}

/** While a background run streams in a conversation: a resume, a second send, a retry. */
async function recordBusyConversation(s: Session) {
  const agent = await newAgent(s, 'rec-background-busy')
  const messages = `/v1/conversations/${await newConversation(s, agent.id)}/messages`
  const body = background(`Long ${s.script([SLOW_SHORT])}`)
  const live = await whileStreaming(s, post(messages, body), reached(8), (runId) =>
    Promise.all([
      s.exchange(resume(runId, { starting_after: 5 })),
      s.exchange(post(messages, background('Are you there?'))),
      s.exchange(post(messages, body)),
    ]),
  )
  const [resumed, busy, retry] = live.during
  s.keep('background_live_stream', live.stream)
  if (resumed) {
    s.keep('background_resume_mid_run', resumed, 'resumed after seq_id 5 while the run streams')
  }
  if (busy) s.keep('background_conversation_busy', busy, 'a second background send meanwhile')
  if (retry) {
    s.keep(
      'background_same_otid_retry',
      retry,
      "the same send again (same otid) meanwhile: the first run's stream from its start",
    )
  }
  await settled(s, runIdOf(live.stream))
  s.keep(
    'background_same_otid_retry_after_done',
    await s.exchange(post(messages, body)),
    'the same send once the run finished: its stream again, no new run',
  )
  s.keep(
    'background_runs_after_retry',
    await settledRuns(s, agent.id),
    'one run: the busy send and both retries made none',
  )
}

/** The agent's own thread has no lock: a second send and a retry each start a run. */
async function recordBusyAgent(s: Session) {
  const agent = await newAgent(s, 'rec-background-agent')
  const messages = `/v1/agents/${agent.id}/messages`
  const body = background(`Long ${s.script([SLOW_SHORT])}`)
  const live = await whileStreaming(s, post(messages, body), reached(4), async () => [
    await s.exchange(post(messages, background(`Another ${s.script([{ content: 'Second.' }])}`))),
    await s.exchange(post(messages, body)),
  ])
  const [second, retry] = live.during
  if (second) s.keep('background_agent_second_send', second, 'a run of its own, beside the first')
  if (retry) s.keep('background_agent_same_otid_retry', retry, 'no dedup here: a new run')
  s.keep(
    'background_agent_stream_without_pings',
    await s.exchange(
      post(messages, background(`Hi ${s.script([{ content: 'Hi!' }])}`, { include_pings: false })),
    ),
    'without include_pings there is no opening ping: the first message is seq_id 1',
  )
  s.keep(
    'background_agent_runs',
    await settledRuns(s, agent.id),
    'four runs: the first, the second send, the retry, the send without pings',
  )
}

/** A background run cancelled mid-way: its first reader, its status, a reader after it. */
async function recordCancel(s: Session, agentId: string) {
  const conversationId = await newConversation(s, agentId)
  const cancelled = await whileStreaming(
    s,
    post(
      `/v1/conversations/${conversationId}/messages`,
      background(`Long ${s.script([SLOW_LONG])}`),
    ),
    reached(8),
    async () => [await s.exchange(post(`/v1/conversations/${conversationId}/cancel`, {}))],
  )
  const runId = runIdOf(cancelled.stream)
  s.keep(
    'background_cancelled_stream',
    cancelled.stream,
    'Letta notices within 0.5 s: a few more deltas, then stop_reason cancelled and [DONE]',
  )
  const [cancel] = cancelled.during
  if (cancel) s.keep('background_cancel', cancel)
  await settled(s, runId)
  s.keep(
    'background_run_after_cancel',
    await s.exchange({ method: 'GET', path: `/v1/runs/${runId}` }),
  )
  s.keep(
    'background_resume_after_cancel',
    await s.exchange(resume(runId, { starting_after: 3 })),
    'a reader after the cancel replays to the same end',
  )
}

/** Background mode with Redis (the Letta of BACKGROUND_KEEPALIVE_S). */
export async function recordBackground(s: Session): Promise<void> {
  const agent = await newAgent(s, 'rec-background')
  const messages = `/v1/conversations/${await newConversation(s, agent.id)}/messages`
  await recordFinishedRun(s, messages)
  await recordKeepalive(s, messages)
  await recordError(s, messages)
  await recordBusyConversation(s)
  await recordBusyAgent(s)
  await recordCancel(s, agent.id)
  s.keep(
    'background_resume_unknown_run',
    await s.exchange(resume(UNKNOWN_RUN, { starting_after: 0 })),
  )
  s.keep('run_unknown', await s.exchange(getRun(UNKNOWN_RUN)))
}

/** Background mode on a Letta without Redis: refused, and what that leaves behind. */
export async function recordBackgroundWithoutRedis(s: Session): Promise<void> {
  const agent = await newAgent(s, 'rec-background-plain')
  const conversationId = await newConversation(s, agent.id)
  const messages = `/v1/conversations/${conversationId}/messages`
  const body = background(`Hi ${s.script([{ content: 'In the foreground.' }])}`)
  s.keep('background_without_redis', await s.exchange(post(messages, body)))
  s.keep(
    'background_without_redis_agent',
    await s.exchange(post(`/v1/agents/${agent.id}/messages`, background('Hi'))),
  )
  const runs = s.keep(
    'background_without_redis_runs',
    await s.exchange({ method: 'GET', path: `/v1/runs/?agent_id=${agent.id}` }),
    'each refused send leaves a failed background run',
  )
  const [refused] = runs.json as Array<{ id: string }>
  s.keep(
    'background_resume_without_redis',
    await s.exchange(resume(refused?.id ?? UNKNOWN_RUN, { starting_after: 0 })),
  )
  const fallback = s.keep(
    'background_without_redis_fallback_stream',
    await s.exchange(post(messages, { ...body, background: false })),
    'the same send (same otid) in the foreground',
  )
  s.keep(
    'background_without_redis_messages',
    await s.exchange({ method: 'GET', path: `${messages}?order=asc` }),
    'the refused send stored nothing: the fallback is the only turn',
  )
  s.keep(
    'background_resume_foreground_without_redis',
    await s.exchange(resume(runIdOf(fallback), { starting_after: 0 })),
    'a foreground run: 400 before the missing Redis',
  )
}
