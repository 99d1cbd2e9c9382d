import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { stallAfter, tokenStream } from '@letta-openwebui/letta-sim'
import { startRedis } from '@letta-openwebui/local-redis'
import type { StreamRecord } from './clients.ts'
import { createSimAgent, enqueue, openUnread, pool, readBridge, readDirect } from './clients.ts'
import { FIREHOSE_MESSAGE } from './firehose.ts'
import { measurePipeCost } from './pipe-cost.ts'
import { cpuMs, cpuPercent, openFileHardLimit, rssBytes } from './proc.ts'
import type { Child } from './processes.ts'
import { startBridgeProcess, startFloorProxy, startSimProcess } from './processes.ts'
import { resumeCostCase } from './resume-cost.ts'
import { distribution, round, wallClock } from './stats.ts'

const BRIDGE_KEY = 'bench-bridge-key-0123456789abcdef'
const TOKENS_PER_SECOND = 20
/** Tokens per stream in the latency cases: 5 s of streaming at 20 tokens/s. */
const LATENCY_TOKENS = 100
/**
 * 10,000 unless the machine's open-file limit forbids: the bridge holds two sockets per stream
 * (client side and Letta side), and past the limit new connections fail, not the bridge.
 */
const IDLE_STREAMS = Math.min(
  Number(process.env.BENCH_IDLE_STREAMS ?? 10_000),
  Math.floor((openFileHardLimit() - 500) / 2),
)
const THROUGHPUT_TOKENS = 20_000
/** Case 6: how long the clients that never read are held while Letta streams at full speed. */
const UNREAD_WINDOW_MS = 10_000
/** Case 6 ends early past this, so that a bridge without back-pressure cannot exhaust the machine. */
const UNREAD_RSS_CEILING_BYTES = 4 * 2 ** 30

type Row = {
  case: string
  direct: string
  bridge: string
  added: string
  target: string
  met: boolean | null
}
const rows: Row[] = []
/** Prints each row as soon as it is measured, so a long run shows progress. */
function addRow(row: Row) {
  rows.push(row)
  log(`${row.case}: direct ${row.direct} | bridge ${row.bridge} | added ${row.added}`)
}
const results: Record<string, unknown> = {}

function log(message: string) {
  process.stderr.write(`[bench] ${message}\n`)
}

const latencies = (streams: StreamRecord[]) => streams.flatMap((stream) => stream.latencies)
/**
 * Every stream's tokens after its first second. All streams of a case start within one token
 * interval (1,000 new chats in 50 ms at the largest size); this leaves that start-up burst out.
 */
const steadyLatencies = (streams: StreamRecord[]) =>
  streams.flatMap((stream) => stream.latencies.slice(TOKENS_PER_SECOND))

async function withStack<T>(
  options: { simPingMs?: number; keepaliveMs?: number; redisUrl?: string },
  run: (sim: Child, bridge: Child) => Promise<T>,
): Promise<T> {
  const sim = await startSimProcess(options.simPingMs ?? 20_000)
  const bridge = await startBridgeProcess({
    LETTA_BASE_URL: sim.url,
    BRIDGE_API_KEY: BRIDGE_KEY,
    KEEPALIVE_MS: String(options.keepaliveMs ?? 15_000),
    LETTA_IDLE_TIMEOUT_MS: '600000',
    ...(options.redisUrl ? { REDIS_URL: options.redisUrl } : {}),
  })
  try {
    return await run(sim, bridge)
  } finally {
    await bridge.stop()
    await sim.stop()
  }
}

/** First messages create each user's agent, so measured streams hit the cache. */
async function warmUsers(sim: Child, bridge: Child, users: number, prefix: string) {
  await enqueue(sim.url, tokenStream({ tokens: 1 }), users)
  await pool(users, 64, (i) => readBridge({ url: bridge.url, key: BRIDGE_KEY }, `${prefix}-${i}`))
}

/** Case 1 (and the active half of case 4): per-event latency at N concurrent 20 tokens/s streams. */
async function latencyCase(sim: Child, bridge: Child, streams: number) {
  const scenario = tokenStream({
    tokens: LATENCY_TOKENS,
    tokensPerSecond: TOKENS_PER_SECOND,
    stamp: true,
  })
  const agents = await pool(streams, 64, (i) => createSimAgent(sim.url, `direct-${streams}-${i}`))
  await enqueue(sim.url, scenario, streams)
  // Starts spread over one token interval, like independent users.
  const spread = async <T>(i: number, read: () => Promise<T>) => {
    await Bun.sleep((i / streams) * (1000 / TOKENS_PER_SECOND))
    return read()
  }
  const direct = await Promise.all(
    agents.map((agentId, i) => spread(i, () => readDirect(sim.url, agentId))),
  )

  await warmUsers(sim, bridge, streams, `lat${streams}`)
  await enqueue(sim.url, scenario, streams)
  const cpuBefore = cpuMs(bridge.pid)
  const simCpuBefore = cpuMs(sim.pid)
  const clientCpuBefore = process.cpuUsage()
  const started = performance.now()
  const through = await Promise.all(
    Array.from({ length: streams }, (_, i) =>
      spread(i, () => readBridge({ url: bridge.url, key: BRIDGE_KEY }, `lat${streams}-${i}`)),
    ),
  )
  const elapsed = performance.now() - started
  const bridgeCpu = ((cpuMs(bridge.pid) - cpuBefore) / elapsed) * 100
  // The machine's other load in the same window: letta-sim and these readers share the cores.
  const simCpu = ((cpuMs(sim.pid) - simCpuBefore) / elapsed) * 100
  const clientUsage = process.cpuUsage(clientCpuBefore)
  const clientCpu = ((clientUsage.user + clientUsage.system) / 1000 / elapsed) * 100
  /** Direct vs. bridged distributions of the latencies `pick` takes from each stream. */
  const compare = (pick: (streams: StreamRecord[]) => number[]) => {
    const d = distribution(pick(direct))
    const b = distribution(pick(through))
    return { direct: d, bridge: b, addedP50: b.p50 - d.p50, addedP99: b.p99 - d.p99 }
  }
  const all = compare(latencies)
  return {
    streams,
    all,
    steady: compare(steadyLatencies),
    bridgeCpuPercent: bridgeCpu,
    simCpuPercent: simCpu,
    clientCpuPercent: clientCpu,
    lostEvents: streams * LATENCY_TOKENS - all.bridge.count,
  }
}

/**
 * Case 2: time to the first answer token, direct vs. a known chat vs. a new chat of a known user
 * (its conversation is created) vs. a new user (agent and conversation created).
 */
async function firstTokenCase(sim: Child, bridge: Child) {
  const samples = 40
  const scenario = tokenStream({ tokens: 3 })
  const ttft = (stream: StreamRecord) => (stream.firstTokenAt ?? Number.NaN) - stream.sentAt
  const agentId = await createSimAgent(sim.url, 'ttft-direct')
  const direct: number[] = []
  const known: number[] = []
  const newChat: number[] = []
  const fresh: number[] = []
  const target = { url: bridge.url, key: BRIDGE_KEY }
  await warmUsers(sim, bridge, 1, 'ttft-known')
  await enqueue(sim.url, scenario)
  await readBridge(target, 'ttft-known-0', undefined, 'ttft-chat')
  for (let i = 0; i < samples; i++) {
    await enqueue(sim.url, scenario)
    direct.push(ttft(await readDirect(sim.url, agentId)))
    await enqueue(sim.url, scenario)
    known.push(ttft(await readBridge(target, 'ttft-known-0', undefined, 'ttft-chat')))
    await enqueue(sim.url, scenario)
    newChat.push(ttft(await readBridge(target, 'ttft-known-0', undefined, `ttft-chat-${i}`)))
    await enqueue(sim.url, scenario)
    fresh.push(ttft(await readBridge(target, `ttft-new-${i}`, undefined, 'ttft-first-chat')))
  }
  const d = distribution(direct)
  const k = distribution(known)
  const c = distribution(newChat)
  const n = distribution(fresh)
  return {
    direct: d,
    knownChat: k,
    newChat: c,
    newUser: n,
    knownOverheadP50: k.p50 - d.p50,
    newChatOverheadP50: c.p50 - d.p50,
    newOverheadP50: n.p50 - d.p50,
  }
}

/** Case 3: one stream at full speed. */
async function throughputCase(sim: Child, bridge: Child) {
  const scenario = tokenStream({ tokens: THROUGHPUT_TOKENS })
  const rate = (stream: StreamRecord) =>
    stream.tokens / (((stream.lastTokenAt ?? 0) - (stream.firstTokenAt ?? 0)) / 1000)
  const agentId = await createSimAgent(sim.url, 'throughput')
  await warmUsers(sim, bridge, 1, 'tp')
  const direct: number[] = []
  const through: number[] = []
  for (let round = 0; round < 3; round++) {
    await enqueue(sim.url, scenario)
    direct.push(rate(await readDirect(sim.url, agentId)))
    await enqueue(sim.url, scenario)
    through.push(rate(await readBridge({ url: bridge.url, key: BRIDGE_KEY }, 'tp-0')))
  }
  const best = (values: number[]) => Math.max(...values)
  return {
    directEventsPerSecond: best(direct),
    bridgeEventsPerSecond: best(through),
    ratio: best(through) / best(direct),
  }
}

/**
 * Case 4: many idle streams held open (one token, then only keepalives) through `proxy`, whose
 * memory and CPU are measured. `open(i, signal)` starts stream i.
 */
async function holdIdleStreams(
  sim: Child,
  proxy: Child,
  streams: number,
  open: (index: number, signal: AbortSignal) => Promise<unknown>,
) {
  await Bun.sleep(2_000)
  const rssBefore = rssBytes(proxy.pid)
  await enqueue(sim.url, stallAfter(3), streams)
  const abort = new AbortController()
  const active = () => activeSimStreams(sim)
  const baseline = await active()
  const held = Array.from({ length: streams }, (_, i) =>
    open(i, abort.signal).catch(() => undefined),
  )
  let opened = 0
  const waitStarted = performance.now()
  while (performance.now() - waitStarted < 120_000) {
    opened = (await active()) - baseline
    if (opened >= streams) break
    await Bun.sleep(500)
  }
  // CPU over 10 s of keepalives first; RSS after, once the garbage of opening has been collected.
  const cpu = await cpuPercent(proxy.pid, 10_000)
  const rssOpen = rssBytes(proxy.pid)
  abort.abort()
  await Promise.all(held)
  return {
    streams: opened,
    rssBeforeMb: rssBefore / 2 ** 20,
    rssOpenMb: rssOpen / 2 ** 20,
    bytesPerStream: (rssOpen - rssBefore) / Math.max(1, opened),
    cpuPercent: cpu,
  }
}

async function activeSimStreams(sim: Child): Promise<number> {
  const state = (await (await fetch(`${sim.url}/_sim/state`)).json()) as {
    streams: { active: number }
  }
  return state.streams.active
}

/**
 * Case 6: `clients` streams opened through `proxy` and never read while letta-sim answers each
 * with an endless full-speed firehose. Filling their buffers leaves garbage that the collector
 * returns when it likes, so the figure that tells a bound from a leak is the growth over the
 * window's second half: flat when bounded, hundreds of MB per second when not.
 */
async function holdUnreadStreams(
  sim: Child,
  proxy: Child,
  clients: number,
  open: (index: number, signal: AbortSignal) => Promise<Response>,
) {
  await Bun.sleep(2_000)
  const rssBefore = rssBytes(proxy.pid)
  const baseline = await activeSimStreams(sim)
  const abort = new AbortController()
  // Held until the end: a response nobody references is collected, and Bun closes its connection.
  const held = await Promise.all(
    Array.from({ length: clients }, (_, i) => open(i, abort.signal).catch(() => undefined)),
  )
  const started = performance.now()
  let peak = rssBefore
  let rssHalfway: number | undefined
  while (performance.now() - started < UNREAD_WINDOW_MS && peak < UNREAD_RSS_CEILING_BYTES) {
    await Bun.sleep(200)
    const rss = rssBytes(proxy.pid)
    peak = Math.max(peak, rss)
    if (performance.now() - started >= UNREAD_WINDOW_MS / 2) rssHalfway ??= rss
  }
  const windowMs = performance.now() - started
  const rssEnd = rssBytes(proxy.pid)
  // Streams Letta still had open: each client's stream lasted the whole window.
  const lasted = (await activeSimStreams(sim)) - baseline
  abort.abort()
  const deadline = performance.now() + 60_000
  while ((await activeSimStreams(sim)) > baseline && performance.now() < deadline)
    await Bun.sleep(200)
  return {
    clients: held.filter(Boolean).length,
    lasted,
    windowMs,
    rssBeforeMb: rssBefore / 2 ** 20,
    rssPeakMb: peak / 2 ** 20,
    rssEndMb: rssEnd / 2 ** 20,
    growthMb: (rssEnd - rssBefore) / 2 ** 20,
    peakGrowthMb: (peak - rssBefore) / 2 ** 20,
    secondHalfGrowthMb: (rssEnd - (rssHalfway ?? rssBefore)) / 2 ** 20,
    stoppedAtCeiling: peak >= UNREAD_RSS_CEILING_BYTES,
  }
}

const ms = (value: number) => `${round(value, 2)} ms`

/**
 * `bun run bench [latency] [ttft] [throughput] [idle] [pipe] [unread] [redis] [resume]`: some cases only;
 * default all.
 */
const CASES = [
  'latency',
  'ttft',
  'throughput',
  'idle',
  'pipe',
  'unread',
  'redis',
  'resume',
] as const
const asked = process.argv.slice(2)
const unknown = asked.filter((name) => !(CASES as readonly string[]).includes(name))
if (unknown.length > 0) throw new Error(`unknown bench case ${unknown}; choose from ${CASES}`)
const wanted = (name: (typeof CASES)[number]) => asked.length === 0 || asked.includes(name)

async function latencyRows(sim: Child, bridge: Child) {
  for (const streams of [1, 100, 1000]) {
    log(`latency at ${streams} concurrent streams…`)
    const result = await latencyCase(sim, bridge, streams)
    results[`latency_${streams}`] = result
    const target = streams === 100 ? 1 : streams === 1000 ? 25 : undefined
    const views = [
      [`1. added latency per event, ${streams} × 20 tok/s, all events`, result.all],
      [`1. … after each stream's first second`, result.steady],
    ] as const
    for (const [label, view] of views)
      addRow({
        case: `${label} (p50 / p99)`,
        direct: `${ms(view.direct.p50)} / ${ms(view.direct.p99)}`,
        bridge: `${ms(view.bridge.p50)} / ${ms(view.bridge.p99)}`,
        added: `${ms(view.addedP50)} / ${ms(view.addedP99)}`,
        target: target ? `p99 added ≤ ${target} ms` : '—',
        met: target ? view.addedP99 <= target : null,
      })
    if (streams === 1000)
      addRow({
        case: '4b. 1,000 active streams: CPU, % of one core (p99 added: all / after 1 s)',
        direct: `letta-sim ${round(result.simCpuPercent, 0)} %, readers ${round(result.clientCpuPercent, 0)} %`,
        bridge: `${round(result.bridgeCpuPercent, 1)} %`,
        added: `${ms(result.all.addedP99)} / ${ms(result.steady.addedP99)}`,
        target: 'p99 added ≤ 25 ms',
        met: result.all.addedP99 <= 25,
      })
  }
}

async function firstTokenRows(sim: Child, bridge: Child) {
  log('time to first token…')
  const ttft = await firstTokenCase(sim, bridge)
  results.time_to_first_token = ttft
  addRow({
    case: '2. time to first token, known chat (p50)',
    direct: ms(ttft.direct.p50),
    bridge: ms(ttft.knownChat.p50),
    added: ms(ttft.knownOverheadP50),
    target: '≤ 5 ms',
    met: ttft.knownOverheadP50 <= 5,
  })
  addRow({
    case: '2. time to first token, new chat of a known user: conversation created (p50)',
    direct: ms(ttft.direct.p50),
    bridge: ms(ttft.newChat.p50),
    added: ms(ttft.newChatOverheadP50),
    target: '—',
    met: null,
  })
  addRow({
    case: '2. time to first token, new user: agent and conversation created (p50)',
    direct: ms(ttft.direct.p50),
    bridge: ms(ttft.newUser.p50),
    added: ms(ttft.newOverheadP50),
    target: '—',
    met: null,
  })
}

async function throughputRow(sim: Child, bridge: Child) {
  log('single-stream throughput…')
  const throughput = await throughputCase(sim, bridge)
  results.throughput = throughput
  addRow({
    case: '3. one stream at full speed (events/s)',
    direct: String(Math.round(throughput.directEventsPerSecond)),
    bridge: String(Math.round(throughput.bridgeEventsPerSecond)),
    added: `${round(throughput.ratio * 100, 1)} % of direct`,
    target: '≥ 50 % of direct',
    met: throughput.ratio >= 0.5,
  })
}

async function idleRow(sim: Child, bridge: Child) {
  log(`${IDLE_STREAMS} idle streams through the bridge…`)
  await warmUsers(sim, bridge, IDLE_STREAMS, 'idle')
  const idle = await holdIdleStreams(sim, bridge, IDLE_STREAMS, (i, signal) =>
    readBridge({ url: bridge.url, key: BRIDGE_KEY }, `idle-${i}`, signal),
  )
  results.idle_streams = idle
  // The floor: the same streams through the barest Bun pass-through proxy.
  log(`${IDLE_STREAMS} idle streams through a bare Bun proxy (the floor)…`)
  const floor = await startFloorProxy(sim.url)
  try {
    const agents = await pool(IDLE_STREAMS, 64, (i) => createSimAgent(sim.url, `floor-${i}`))
    const bare = await holdIdleStreams(sim, floor, IDLE_STREAMS, (i, signal) =>
      readDirect(floor.url, agents[i] ?? '', signal),
    )
    results.idle_streams_floor = bare
    const perStream = (held: typeof idle) =>
      `${round(held.bytesPerStream / 1024, 1)} KB, ${round(held.cpuPercent, 1)} % CPU`
    addRow({
      case: `4a. ${idle.streams} idle streams: RSS per stream / CPU (baseline: bare Bun proxy)`,
      direct: perStream(bare),
      bridge: perStream(idle),
      added: `${round((idle.bytesPerStream - bare.bytesPerStream) / 1024, 1)} KB (bridge ${round(idle.rssBeforeMb, 0)} → ${round(idle.rssOpenMb, 0)} MB)`,
      target: '≤ 30 KB per stream',
      met: idle.bytesPerStream <= 30 * 1024,
    })
  } finally {
    await floor.stop()
  }
}

async function pipeRow(sim: Child, bridge: Child) {
  log('pipe cost…')
  const pipe = await measurePipeCost(sim, bridge, BRIDGE_KEY)
  results.pipe_cost = pipe
  addRow({
    case: '5. generated pipe, CPU per token (harness, full speed)',
    direct: `${round(pipe.baselineMicrosPerToken, 1)} µs (raw SSE reader)`,
    bridge: `${round(pipe.pipeMicrosPerToken, 1)} µs (pipe)`,
    added: `${round(pipe.pipeMicrosPerToken - pipe.baselineMicrosPerToken, 1)} µs`,
    target: '≤ 50 µs per token',
    met: pipe.pipeMicrosPerToken <= 50,
  })
}

async function unreadRows(sim: Child, bridge: Child) {
  const floor = await startFloorProxy(sim.url)
  try {
    for (const clients of [3, 30]) {
      log(`${clients} clients that never read, through the bridge…`)
      await warmUsers(sim, bridge, clients, `unread${clients}`)
      const through = await holdUnreadStreams(sim, bridge, clients, (i, signal) =>
        openUnread(
          { url: bridge.url, key: BRIDGE_KEY },
          `unread${clients}-${i}`,
          FIREHOSE_MESSAGE,
          signal,
        ),
      )
      log(`${clients} clients that never read, through a bare Bun proxy (the floor)…`)
      const agents = await pool(clients, 64, (i) =>
        createSimAgent(sim.url, `unread-floor-${clients}-${i}`),
      )
      const bare = await holdUnreadStreams(sim, floor, clients, (i, signal) =>
        openUnread({ url: floor.url, agentId: agents[i] ?? '' }, '', FIREHOSE_MESSAGE, signal),
      )
      results[`unread_${clients}`] = { bridge: through, floor: bare }
      const growth = (held: typeof through) =>
        `${round(held.secondHalfGrowthMb, 1)} MB (whole window ${round(held.growthMb, 1)} MB, peak ${round(held.peakGrowthMb, 1)} MB; ${held.lasted} streams still open)${held.stoppedAtCeiling ? `, stopped at the ${UNREAD_RSS_CEILING_BYTES / 2 ** 30} GB ceiling after ${round(held.windowMs / 1000, 1)} s` : ''}`
      addRow({
        case: `6. ${through.clients} clients that never read, Letta at full speed for ${UNREAD_WINDOW_MS / 1000} s: RSS growth over the last ${UNREAD_WINDOW_MS / 2000} s (baseline: bare Bun proxy)`,
        direct: growth(bare),
        bridge: growth(through),
        added: `${round(through.secondHalfGrowthMb - bare.secondHalfGrowthMb, 1)} MB (bridge ${round(through.rssBeforeMb, 0)} → ${round(through.rssEndMb, 0)} MB)`,
        target: 'flat: ≤ 1 MB per client',
        met:
          !through.stoppedAtCeiling &&
          through.lasted === clients &&
          through.secondHalfGrowthMb <= clients,
      })
    }
  } finally {
    await floor.stop()
  }
}

/**
 * Case 7: what REDIS_URL costs (replicas sharing threads, thread guards and agent creation): the
 * same first-token and full-speed cases through a bridge without it (baseline) and with a local
 * Redis, in this run.
 */
async function redisRows() {
  log('REDIS_URL set vs. unset…')
  const measure = (redisUrl?: string) =>
    withStack({ redisUrl }, async (sim, bridge) => ({
      ttft: await firstTokenCase(sim, bridge),
      throughput: await throughputCase(sim, bridge),
    }))
  const without = await measure()
  const redis = await startRedis()
  const withRedis = await measure(redis.url).finally(() => redis.stop())
  results.redis = { without, withRedis }
  const ttftRow = (label: string, pick: (ttft: typeof without.ttft) => number) =>
    addRow({
      case: `7. REDIS_URL: time to first token, ${label} (p50; baseline: without)`,
      direct: ms(pick(without.ttft)),
      bridge: ms(pick(withRedis.ttft)),
      added: ms(pick(withRedis.ttft) - pick(without.ttft)),
      target: '—',
      met: null,
    })
  ttftRow('known chat', (ttft) => ttft.knownChat.p50)
  ttftRow('new chat', (ttft) => ttft.newChat.p50)
  ttftRow('new user', (ttft) => ttft.newUser.p50)
  const ratio =
    withRedis.throughput.bridgeEventsPerSecond / without.throughput.bridgeEventsPerSecond
  addRow({
    case: '7. REDIS_URL: one stream at full speed (events/s; baseline: without)',
    direct: String(Math.round(without.throughput.bridgeEventsPerSecond)),
    bridge: String(Math.round(withRedis.throughput.bridgeEventsPerSecond)),
    added: `${round(ratio * 100, 1)} % of without`,
    target: '—',
    met: null,
  })
}

/** Case 8: what picking up an answer costs (Last-Event-ID after a cut connection). */
async function resumeRows(sim: Child, bridge: Child) {
  log('resuming an answer after a cut connection…')
  const cost = await resumeCostCase(sim, { url: bridge.url, key: BRIDGE_KEY })
  results.resume = cost
  addRow({
    case: `8. resume after ${cost.replayedBeforeCursor.toLocaleString('en')} events: first new event (p50; baseline: a new message's first event)`,
    direct: ms(cost.newMessageFirstEvent.p50),
    bridge: ms(cost.firstNewEvent.p50),
    added: ms(cost.firstNewEvent.p50 - cost.newMessageFirstEvent.p50),
    target: '—',
    met: null,
  })
  addRow({
    case: `8. resume: the remaining ${cost.resumedEvents.toLocaleString('en')} events to done (p50)`,
    direct: '—',
    bridge: ms(cost.toDone.p50),
    added: '—',
    target: '—',
    met: null,
  })
}

async function main() {
  const started = wallClock()
  await withStack({}, async (sim, bridge) => {
    if (wanted('latency')) await latencyRows(sim, bridge)
    if (wanted('ttft')) await firstTokenRows(sim, bridge)
    if (wanted('throughput')) await throughputRow(sim, bridge)
  })

  await withStack({ simPingMs: 5_000, keepaliveMs: 5_000 }, async (sim, bridge) => {
    if (wanted('idle')) await idleRow(sim, bridge)
    if (wanted('pipe')) await pipeRow(sim, bridge)
  })

  if (wanted('unread')) await withStack({}, unreadRows)
  if (wanted('redis')) await redisRows()
  if (wanted('resume')) await withStack({}, resumeRows)
  const table = [
    '| case | direct (baseline) | through the bridge | added | target | met |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows.map(
      (row) =>
        `| ${row.case} | ${row.direct} | ${row.bridge} | ${row.added} | ${row.target} | ${row.met === null ? '' : row.met ? 'yes' : '**no**'} |`,
    ),
  ].join('\n')
  const machine = `${navigator.hardwareConcurrency} cores, Bun ${Bun.version}`
  process.stdout.write(`\n${table}\n\n${machine}; ${round((wallClock() - started) / 1000, 0)} s\n`)
  const dir = join(import.meta.dir, '../../../bench/results')
  mkdirSync(dir, { recursive: true })
  const stamp = new Date().toISOString().replaceAll(':', '-').slice(0, 19)
  const report = JSON.stringify(
    { date: new Date().toISOString(), machine, table, results },
    null,
    2,
  )
  writeFileSync(join(dir, `${stamp}.json`), report)
  // Only a run of every case may stand as the latest table.
  if (asked.length > 0) return
  writeFileSync(join(dir, 'latest.json'), report)
  writeFileSync(join(dir, 'latest.md'), `${table}\n`)
}

await main()
