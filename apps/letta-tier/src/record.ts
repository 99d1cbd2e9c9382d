/**
 * `bun run record:letta`: drives the real Letta 0.16.8 through the calls the bridge makes and
 * writes what it answered (status, JSON bodies, SSE bodies) to packages/letta-sim/fixtures/real/,
 * ids and dates normalised so re-recording gives small diffs. letta-sim's conformance test holds
 * the simulation to these transcripts.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startFakeLlm } from '@letta-openwebui/fake-llm'
import { startRedis } from '@letta-openwebui/local-redis'
import { ensureKit, kitPresent, makeInstance, REPO_ROOT, startLetta } from './kit.ts'
import { cleanUp } from './processes.ts'
import { recordApprovals } from './record-approvals.ts'
import { recordFolders, recordImages } from './record-attachments.ts'
import {
  BACKGROUND_KEEPALIVE_S,
  recordBackground,
  recordBackgroundWithoutRedis,
} from './record-background.ts'
import { recordSearch } from './record-search.ts'
import type { Session } from './record-session.ts'
import { newAgent, post, send, session, whileStreaming } from './record-session.ts'
import type { Recording } from './recording.ts'
import { normalise } from './recording.ts'

const OUT_DIR = join(REPO_ROOT, 'packages/letta-sim/fixtures/real')

if (!kitPresent()) {
  console.info('record:letta needs the Letta kit (../shared/real-letta or LETTA_KIT)')
  process.exit(1)
}

const logDir = mkdtempSync(join(tmpdir(), 'letta-record-logs-'))
const fake = startFakeLlm()

const SLOW = {
  content: Array.from({ length: 300 }, (_, i) => `w${i}`).join(' '),
  chunkDelayMs: 100,
}

/** The first assistant text: the answer is under way. */
const answering = (event: string) => event.includes('"assistant_message"')

async function recordWithoutRedis(s: Session) {
  const { keep, script } = s
  const agent = await newAgent(s, 'rec-plain')
  keep('agent_create', agent.exchange)
  keep(
    'agent_list_by_tags',
    await s.exchange({
      method: 'GET',
      path: '/v1/agents/?tags=owui-user%3Arec-plain&tags=template%3Atutor&match_all_tags=true&limit=1',
    }),
  )
  const messages = `/v1/agents/${agent.id}/messages`
  const answer = await s.exchange({
    method: 'POST',
    path: messages,
    body: send(`Hi ${script([{ reasoning: 'A greeting.', content: 'Hello! How can I help?' }])}`),
  })
  keep('stream_answer', answer)
  const tool = script([
    {
      reasoning: 'I should note this.',
      toolCalls: [
        { name: 'memory_insert', arguments: { label: 'human', new_string: 'Likes tea' } },
      ],
    },
    { content: 'Noted.' },
  ])
  keep(
    'stream_tool_turn',
    await s.exchange({ method: 'POST', path: messages, body: send(`I like tea ${tool}`) }),
  )
  const limited = script([{ error: { status: 429 } }])
  keep(
    'stream_llm_rate_limit',
    await s.exchange({ method: 'POST', path: messages, body: send(`Hi ${limited}`) }),
    'the model answers 429 to every attempt',
  )
  const broken = script([{ error: { status: 500 } }])
  keep(
    'stream_llm_server_error',
    await s.exchange({ method: 'POST', path: messages, body: send(`Hi ${broken}`) }),
    'the model answers 500 to every attempt',
  )
  keep(
    'nonstream_answer',
    await s.exchange({
      method: 'POST',
      path: messages,
      body: {
        messages: [
          { role: 'user', content: `Hi ${script([{ reasoning: 'Short.', content: 'Four.' }])}` },
        ],
        streaming: false,
      },
    }),
  )
  keep(
    'nonstream_llm_rate_limit',
    await s.exchange({
      method: 'POST',
      path: messages,
      body: {
        messages: [{ role: 'user', content: `Hi ${script([{ error: { status: 429 } }])}` }],
        streaming: false,
      },
    }),
  )
  const cancelled = await whileStreaming(
    s,
    post(messages, send(`Long ${script([SLOW])}`)),
    answering,
    async (runId) => [
      await s.exchange({ method: 'POST', path: `${messages}/cancel`, body: { run_ids: [runId] } }),
    ],
  )
  keep('stream_cancelled_by_run_id', cancelled.stream, 'the stream of a run cancelled mid-answer')
  const cancelAnswer = cancelled.during[0]
  if (cancelAnswer) keep('cancel_running_run', cancelAnswer)
  const cancelledRunId = /"run_id":"(run-[0-9a-f-]+)"/.exec(
    cancelled.stream.sse?.join('') ?? '',
  )?.[1]
  if (cancelledRunId) {
    keep(
      'run_after_cancel',
      await s.exchange({ method: 'GET', path: `/v1/runs/${cancelledRunId}` }),
    )
  }
  const finishedRunId = /"run_id":"(run-[0-9a-f-]+)"/.exec(answer.sse?.join('') ?? '')?.[1]
  keep(
    'cancel_finished_run',
    await s.exchange({
      method: 'POST',
      path: `${messages}/cancel`,
      body: { run_ids: [finishedRunId] },
    }),
  )
  const idle = await newAgent(s, 'rec-idle')
  keep(
    'cancel_idle_agent',
    await s.exchange({ method: 'POST', path: `/v1/agents/${idle.id}/messages/cancel`, body: {} }),
  )
  keep(
    'send_to_missing_agent',
    await s.exchange({
      method: 'POST',
      path: '/v1/agents/agent-00000000-0000-4000-8000-000000000000/messages',
      body: send('Hi'),
    }),
  )
  const conversation = await s.exchange({
    method: 'POST',
    path: `/v1/conversations/?agent_id=${agent.id}`,
    body: {},
  })
  keep('conversation_create', conversation)
  const conversationId = (conversation.json as { id?: string }).id
  keep(
    'conversation_stream',
    await s.exchange({
      method: 'POST',
      path: `/v1/conversations/${conversationId}/messages`,
      body: {
        messages: [
          { role: 'user', content: `Hi ${script([{ content: 'Hello from a thread.' }])}` },
        ],
        stream_tokens: true,
        include_pings: true,
      },
    }),
  )
  // A send that carries earlier turns (as the bridge does into a new thread), then the thread.
  keep(
    'conversation_carry_stream',
    await s.exchange({
      method: 'POST',
      path: `/v1/conversations/${conversationId}/messages`,
      body: {
        messages: [
          { role: 'user', content: 'An earlier question' },
          { role: 'assistant', content: 'An earlier answer' },
          { role: 'user', content: `Now ${script([{ content: 'Carried on.' }])}` },
        ],
        stream_tokens: true,
        include_pings: true,
      },
    }),
  )
  // A thought and a tool call: the message list shows them as the stream did, under its ids.
  const threadTool = script([
    {
      reasoning: 'I should note this.',
      toolCalls: [
        { name: 'memory_insert', arguments: { label: 'human', new_string: 'Likes tea' } },
      ],
    },
    { content: 'Noted.' },
  ])
  keep(
    'conversation_tool_stream',
    await s.exchange({
      method: 'POST',
      path: `/v1/conversations/${conversationId}/messages`,
      body: {
        messages: [{ role: 'user', content: `I like tea ${threadTool}` }],
        stream_tokens: true,
        include_pings: true,
      },
    }),
  )
  keep(
    'conversation_messages',
    await s.exchange({
      method: 'GET',
      path: `/v1/conversations/${conversationId}/messages?order=asc`,
    }),
  )
  keep(
    'conversation_messages_default',
    await s.exchange({
      method: 'GET',
      path: `/v1/conversations/default/messages?agent_id=${agent.id}&order=asc&limit=4`,
    }),
    "agent-direct mode: the agent's own thread",
  )
  const retrieved = await s.exchange({ method: 'GET', path: `/v1/conversations/${conversationId}` })
  keep('conversation_retrieve', retrieved)
  const inContext = (retrieved.json as { in_context_message_ids?: string[] }).in_context_message_ids
  keep(
    'conversation_fork_at_message',
    await s.exchange({
      method: 'POST',
      path: `/v1/conversations/${conversationId}/fork`,
      body: { message_id: inContext?.[2] },
    }),
    'Letta 0.16.8 ignores message_id: the fork holds the whole thread',
  )
  keep(
    'conversation_messages_page',
    await s.exchange({
      method: 'GET',
      path: `/v1/conversations/${conversationId}/messages?after=${inContext?.[2]}&limit=3`,
    }),
    'newest first, yet after is a position: the 3 newest stored messages after the cursor',
  )
  keep(
    'conversation_fork',
    await s.exchange({ method: 'POST', path: `/v1/conversations/${conversationId}/fork` }),
  )
  keep(
    'conversation_update',
    await s.exchange({
      method: 'PATCH',
      path: `/v1/conversations/${conversationId}`,
      body: { summary: 'owui-chat:renamed' },
    }),
  )
  keep(
    'conversation_list',
    await s.exchange({ method: 'GET', path: `/v1/conversations/?agent_id=${agent.id}` }),
  )
  keep(
    'conversation_cancel_idle',
    await s.exchange({
      method: 'POST',
      path: `/v1/conversations/${conversationId}/cancel`,
      body: {},
    }),
    'nothing runs in the conversation',
  )
  keep(
    'conversation_recompile',
    await s.exchange({ method: 'POST', path: `/v1/conversations/${conversationId}/recompile` }),
  )
  keep(
    'conversation_delete',
    await s.exchange({ method: 'DELETE', path: `/v1/conversations/${conversationId}` }),
  )
  keep(
    'conversation_retrieve_deleted',
    await s.exchange({ method: 'GET', path: `/v1/conversations/${conversationId}` }),
  )
  keep(
    'conversation_messages_deleted',
    await s.exchange({ method: 'GET', path: `/v1/conversations/${conversationId}/messages` }),
    "a deleted conversation's messages: an empty list, not 404",
  )
  keep(
    'conversation_list_after_delete',
    await s.exchange({ method: 'GET', path: `/v1/conversations/?agent_id=${agent.id}` }),
    'the deleted conversation is gone; its forks stay',
  )
}

async function recordWithRedis(s: Session) {
  const { keep, script } = s
  const agent = await newAgent(s, 'rec-redis')
  const conversation = await s.exchange({
    method: 'POST',
    path: `/v1/conversations/?agent_id=${agent.id}`,
    body: {},
  })
  const conversationId = (conversation.json as { id?: string }).id
  const path = `/v1/conversations/${conversationId}/messages`
  const busy = await whileStreaming(
    s,
    post(path, {
      messages: [{ role: 'user', content: `Long ${script([SLOW])}` }],
      stream_tokens: true,
      include_pings: true,
    }),
    answering,
    async () => [
      await s.exchange({
        method: 'POST',
        path,
        body: { messages: [{ role: 'user', content: 'Are you there?' }], stream_tokens: true },
      }),
      await s.exchange({
        method: 'POST',
        path: `/v1/conversations/${conversationId}/cancel`,
        body: {},
      }),
      await s.exchange({
        method: 'POST',
        path: `/v1/agents/${agent.id}/messages`,
        body: send('And here?'),
      }),
    ],
  )
  const [second, cancel, direct] = busy.during
  if (second) keep('redis_conversation_busy', second, 'a second message while a run holds the lock')
  if (cancel) keep('redis_conversation_cancel', cancel)
  if (direct) {
    keep(
      'redis_agent_direct_while_conversation_busy',
      direct,
      'the agent-direct route while a conversation of the agent runs',
    )
  }
  keep('redis_conversation_stream_cancelled', busy.stream)
}

const cleanup: Array<() => unknown> = [() => fake.stop()]
let failed = false
try {
  await ensureKit(logDir)
  const recordings: Recording[] = []
  {
    const instance = makeInstance()
    cleanup.push(() => rmSync(instance, { recursive: true, force: true }))
    const letta = await startLetta({
      instance,
      openaiBaseUrl: fake.baseUrl,
      logFile: join(logDir, 'letta.log'),
    })
    cleanup.push(() => letta.child.stop())
    const s = session(letta, fake, recordings)
    await recordWithoutRedis(s)
    await recordImages(s, await recordApprovals(s))
    await recordSearch(s)
    await recordBackgroundWithoutRedis(s)
    // Last: Letta drops the connection after the missing file's 500.
    await recordFolders(s)
    await letta.child.stop()
  }
  {
    const redis = await startRedis(join(logDir, 'redis.log'))
    cleanup.push(() => redis.stop())
    const instance = makeInstance()
    cleanup.push(() => rmSync(instance, { recursive: true, force: true }))
    const letta = await startLetta({
      instance,
      openaiBaseUrl: fake.baseUrl,
      redisPort: redis.port,
      logFile: join(logDir, 'letta-redis.log'),
      env: { LETTA_KEEPALIVE_INTERVAL: String(BACKGROUND_KEEPALIVE_S) },
    })
    cleanup.push(() => letta.child.stop())
    const s = session(letta, fake, recordings)
    await recordWithRedis(s)
    await recordBackground(s)
  }
  rmSync(OUT_DIR, { recursive: true, force: true })
  mkdirSync(OUT_DIR, { recursive: true })
  for (const recording of recordings) {
    writeFileSync(join(OUT_DIR, `${recording.name}.json`), normalise(recording))
  }
  // Formatted like every other JSON file in the repo, so `bun run check` and re-recordings agree.
  await Bun.spawn([process.execPath, 'x', 'biome', 'format', '--write', OUT_DIR], {
    cwd: REPO_ROOT,
    stdout: 'ignore',
    stderr: 'ignore',
  }).exited
  console.info(`recorded ${recordings.length} exchanges into ${OUT_DIR}`)
} catch (error) {
  failed = true
  console.error(`record:letta failed: ${(error as Error).message} (logs: ${logDir})`)
} finally {
  await cleanUp(cleanup)
}
if (!failed) rmSync(logDir, { recursive: true, force: true })
process.exit(failed ? 1 : 0)
