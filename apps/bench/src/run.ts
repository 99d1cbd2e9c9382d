import { mkdirSync, writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { join } from 'node:path'
import { stallAfter, tokenStream } from '@letta-openwebui/letta-sim'
import { startRedis } from '@letta-openwebui/local-redis'
import { caseChart } from './chart.ts'
import type { StreamRecord } from './clients.ts'
import { createSimAgent, enqueue, openUnread, pool, readBridge, readDirect } from './clients.ts'
import { FIREHOSE_MESSAGE } from './firehose.ts'
import type { CaseFigures, HistoryEntry } from './history.ts'
import { appendHistory, gitState, readHistory } from './history.ts'
import { measureConcurrentPipes, measurePipeCost } from './pipe-cost.ts'
import { cpuMs, cpuPercent, openFileHardLimit, rssBytes } from './proc.ts'
import type { Child } from './processes.ts'
import {
  startBridgeProcess,
  startFloorProxy,
  startPeerProcess,
  startSimProcess,
} from './processes.ts'
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
/**
 * The peer's idle streams: 2,000 unless BENCH_PEER_IDLE_STREAMS says otherwise. Asked for 9,750,
 * it had opened fewer than half within holdIdleStreams' two minutes, at a full core: that figure
 * would be its opening, not its holding.
 */
const PEER_IDLE_STREAMS = Math.min(
  IDLE_STREAMS,
  Number(process.env.BENCH_PEER_IDLE_STREAMS ?? 2_000),
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
  options: { simPingMs?: number; keepaliveMs?: number; redisUrl?: string; kept?: boolean },
  run: (sim: Child, bridge: Child) => Promise<T>,
): Promise<T> {
  const sim = await startSimProcess(options.simPingMs ?? 20_000)
  const bridge = await startBridgeProcess({
    LETTA_BASE_URL: sim.url,
    BRIDGE_API_KEY: BRIDGE_KEY,
    KEEPALIVE_MS: String(options.keepaliveMs ?? 15_000),
    LETTA_IDLE_TIMEOUT_MS: '600000',
    ...(options.redisUrl ? { REDIS_URL: options.redisUrl } : {}),
    ...(options.kept === false ? { RESUMABLE_STREAMS: 'false' } : {}),
  })
  try {
    return await run(sim, bridge)
  } finally {
    await bridge.stop()
    await sim.stop()
  }
}

/** First messages create each user's agent, so measured streams hit the cache. */
async function warmUsers(sim: Child, proxy: Child, users: number, prefix: string) {
  await enqueue(sim.url, tokenStream({ tokens: 1 }), users)
  await pool(users, 64, (i) => readBridge({ url: proxy.url, key: BRIDGE_KEY }, `${prefix}-${i}`))
}

/** Case 1's streams: 100 tokens at 20 tokens/s, each stamped with the sender's clock. */
const latencyScenario = () =>
  tokenStream({ tokens: LATENCY_TOKENS, tokensPerSecond: TOKENS_PER_SECOND, stamp: true })

/** `streams` latency-case streams read by `read`, started over one token interval like independent users. */
async function readSpread(
  sim: Child,
  streams: number,
  read: (index: number) => Promise<StreamRecord>,
): Promise<StreamRecord[]> {
  await enqueue(sim.url, latencyScenario(), streams)
  return Promise.all(
    Array.from({ length: streams }, async (_, i) => {
      await Bun.sleep((i / streams) * (1000 / TOKENS_PER_SECOND))
      return read(i)
    }),
  )
}

/** The latency-case streams read by `read` through `proxy`, with the CPU each process used. */
async function readSpreadMeasured(
  sim: Child,
  proxy: Child,
  streams: number,
  read: (index: number) => Promise<StreamRecord>,
) {
  const cpuBefore = cpuMs(proxy.pid)
  const simCpuBefore = cpuMs(sim.pid)
  const clientCpuBefore = process.cpuUsage()
  const started = performance.now()
  const records = await readSpread(sim, streams, read)
  const elapsed = performance.now() - started
  // The machine's other load in the same window: letta-sim and these readers share the cores.
  const clientUsage = process.cpuUsage(clientCpuBefore)
  return {
    records,
    cpuPercent: ((cpuMs(proxy.pid) - cpuBefore) / elapsed) * 100,
    simCpuPercent: ((cpuMs(sim.pid) - simCpuBefore) / elapsed) * 100,
    clientCpuPercent: ((clientUsage.user + clientUsage.system) / 1000 / elapsed) * 100,
  }
}

/** Direct vs. proxied distributions of the latencies `pick` takes from each stream. */
function compare(
  direct: StreamRecord[],
  through: StreamRecord[],
  pick: (streams: StreamRecord[]) => number[],
) {
  const d = distribution(pick(direct))
  const t = distribution(pick(through))
  return { direct: d, through: t, addedP50: t.p50 - d.p50, addedP99: t.p99 - d.p99 }
}

/**
 * Case 1 (and the active half of case 4): per-event latency at N concurrent 20 tokens/s streams,
 * direct, through the bridge, through the barest Bun proxy (the floor: the same reads, nothing
 * done to them), and through the peer when one is given.
 */
async function latencyCase(sim: Child, bridge: Child, streams: number, peer?: Child) {
  const agents = await pool(streams, 64, (i) => createSimAgent(sim.url, `direct-${streams}-${i}`))
  const direct = await readSpread(sim, streams, (i) => readDirect(sim.url, agents[i] ?? ''))
  const judged = (measured: Awaited<ReturnType<typeof readSpreadMeasured>>) => {
    const { records, ...cpu } = measured
    const all = compare(direct, records, latencies)
    const steady = compare(direct, records, steadyLatencies)
    return { all, steady, ...cpu, lostEvents: streams * LATENCY_TOKENS - all.through.count }
  }
  // The bridge and the peer speak the bridge's protocol: each user's agent is made first.
  const proxied = async (proxy: Child) => {
    await warmUsers(sim, proxy, streams, `lat${streams}`)
    return judged(
      await readSpreadMeasured(sim, proxy, streams, (i) =>
        readBridge({ url: proxy.url, key: BRIDGE_KEY }, `lat${streams}-${i}`),
      ),
    )
  }
  const bridged = await proxied(bridge)
  const floorProxy = await startFloorProxy(sim.url)
  const floor = await readSpreadMeasured(sim, floorProxy, streams, (i) =>
    readDirect(floorProxy.url, agents[i] ?? ''),
  )
    .then(judged)
    .finally(() => floorProxy.stop())
  return { streams, ...bridged, floor, peer: peer ? await proxied(peer) : undefined }
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

/** Answer events per second over `streams` read at once: from the first token of any to the last of all. */
function eventsPerSecond(streams: StreamRecord[]): number {
  const first = Math.min(...streams.map((stream) => stream.firstTokenAt ?? Number.NaN))
  const last = Math.max(...streams.map((stream) => stream.lastTokenAt ?? Number.NaN))
  const tokens = streams.reduce((sum, stream) => sum + stream.tokens, 0)
  return tokens / ((last - first) / 1000)
}

type FullSpeed = { streams: number; tokens: number; rounds: number }
/** Case 3: one stream, many rounds (a single stream's rate varies more than many streams'). */
const ONE_STREAM: FullSpeed = { streams: 1, tokens: THROUGHPUT_TOKENS, rounds: 3 }
/** Case 3b: 50 streams at once; 4,000 tokens each keeps the peer's rounds to seconds. */
const FIFTY_STREAMS: FullSpeed = { streams: 50, tokens: 4_000, rounds: 2 }

/**
 * Case 3: `streams` streams at full speed at once, read directly, through the bridge and through
 * the peer (when one is given), in interleaved rounds; the best round of each counts.
 */
async function fullSpeedCase(sim: Child, bridge: Child, shape: FullSpeed, peer?: Child) {
  const { streams, tokens, rounds } = shape
  const prefix = `full${streams}`
  const agents = await pool(streams, 64, (i) => createSimAgent(sim.url, `${prefix}-${i}`))
  await warmUsers(sim, bridge, streams, prefix)
  if (peer) await warmUsers(sim, peer, streams, prefix)
  const measure = async (read: (index: number) => Promise<StreamRecord>) => {
    await enqueue(sim.url, tokenStream({ tokens }), streams)
    return eventsPerSecond(await Promise.all(Array.from({ length: streams }, (_, i) => read(i))))
  }
  const through = (proxy: Child) => (i: number) =>
    readBridge({ url: proxy.url, key: BRIDGE_KEY }, `${prefix}-${i}`)
  const direct: number[] = []
  const bridged: number[] = []
  const peered: number[] = []
  for (let round = 0; round < rounds; round++) {
    direct.push(await measure((i) => readDirect(sim.url, agents[i] ?? '')))
    bridged.push(await measure(through(bridge)))
    if (peer) peered.push(await measure(through(peer)))
  }
  const best = (values: number[]) => Math.max(...values)
  return {
    streams,
    directEventsPerSecond: best(direct),
    bridgeEventsPerSecond: best(bridged),
    ratio: best(bridged) / best(direct),
    peerEventsPerSecond: peer ? best(peered) : undefined,
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
  // The bridge reads a kept run on for its resume window after the client left: the next
  // proxy's streams are counted only once Letta's side of these has closed.
  await settle(sim, baseline)
  return {
    streams: opened,
    rssBeforeMb: rssBefore / 2 ** 20,
    rssOpenMb: rssOpen / 2 ** 20,
    bytesPerStream: (rssOpen - rssBefore) / Math.max(1, opened),
    cpuPercent: cpu,
  }
}

/** Waits (≤ 60 s) until letta-sim has no more streams open than `baseline`. */
async function settle(sim: Child, baseline: number): Promise<void> {
  const deadline = performance.now() + 60_000
  while ((await activeSimStreams(sim)) > baseline && performance.now() < deadline)
    await Bun.sleep(200)
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
  await settle(sim, baseline)
  return {
    clients: held.filter(Boolean).length,
    failedToOpen: held.filter((response) => !response).length,
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
const kb = (bytes: number) => `${round(bytes / 1024, 1)} KB`
const peerBaseline = 'baseline: the peer, FastAPI + httpx'
/** The issue's bar for the bridge against the peer: 4× its throughput, ¼ of its added p99. */
const PEER_FACTOR = 4

/**
 * `bun run bench [latency] [ttft] [throughput] [throughput50] [idle] [pipe] [pipe50] [unread]
 * [redis] [resume]`: some cases only; default all (and only then is the run added to the history).
 */
const CASES = [
  'latency',
  'ttft',
  'throughput',
  'throughput50',
  'idle',
  'pipe',
  'pipe50',
  'unread',
  'redis',
  'resume',
] as const
const asked = process.argv.slice(2)
const unknown = asked.filter((name) => !(CASES as readonly string[]).includes(name))
if (unknown.length > 0) throw new Error(`unknown bench case ${unknown}; choose from ${CASES}`)
const wanted = (name: (typeof CASES)[number]) => asked.length === 0 || asked.includes(name)

/** Each charted case's figures of this run, for bench/results/history.jsonl. */
const figures: Record<string, CaseFigures> = {}
/** What the peer said about itself (versions, event loop, HTTP parser), for the table's footnote. */
let peerStack: Record<string, unknown> | undefined

/** A fresh peer for one case, so that no case inherits another's memory or connections. */
async function withPeer<T>(sim: Child, run: (peer: Child) => Promise<T>): Promise<T> {
  const peer = await startPeerProcess(sim.url, BRIDGE_KEY)
  peerStack ??= peer.announced
  try {
    return await run(peer)
  } finally {
    await peer.stop()
  }
}

/** Concurrency the peer is measured at: 1,000 Python streams at 20 tok/s would measure its backlog. */
const PEER_LATENCY_STREAMS = new Set([1, 100])

async function latencyRows(sim: Child, bridge: Child) {
  for (const streams of [1, 100, 1000]) {
    log(`latency at ${streams} concurrent streams…`)
    const result = PEER_LATENCY_STREAMS.has(streams)
      ? await withPeer(sim, (peer) => latencyCase(sim, bridge, streams, peer))
      : await latencyCase(sim, bridge, streams)
    results[`latency_${streams}`] = result
    figures[`latency_${streams}`] = {
      title: `p99 latency per event, ${streams} × 20 tok/s streams, all events`,
      unit: 'ms',
      better: 'lower',
      values: {
        direct: result.all.direct.p99,
        bridge: result.all.through.p99,
        'bare Bun proxy': result.floor.all.through.p99,
        ...(result.peer ? { peer: result.peer.all.through.p99 } : {}),
      },
    }
    const target = streams === 100 ? 1 : streams === 1000 ? 25 : undefined
    const views = [
      [`1. added latency per event, ${streams} × 20 tok/s, all events`, result.all],
      [`1. … after each stream's first second`, result.steady],
    ] as const
    for (const [label, view] of views)
      addRow({
        case: `${label} (p50 / p99)`,
        direct: `${ms(view.direct.p50)} / ${ms(view.direct.p99)}`,
        bridge: `${ms(view.through.p50)} / ${ms(view.through.p99)}`,
        added: `${ms(view.addedP50)} / ${ms(view.addedP99)}`,
        target: target ? `p99 added ≤ ${target} ms` : '—',
        met: target ? view.addedP99 <= target : null,
      })
    const { floor, peer } = result
    const alongside = (view: typeof floor) =>
      `${ms(view.all.addedP50)} / ${ms(view.all.addedP99)} (after 1 s: ${ms(view.steady.addedP99)}), ${round(view.cpuPercent, 1)} % CPU`
    // What Bun itself adds on this machine at this concurrency: a target below it is out of reach
    // of any Bun proxy, and what the bridge adds over it is the bridge's own.
    addRow({
      case: `1. added latency per event, ${streams} × 20 tok/s: p50 / p99 added, all events, and CPU (baseline: bare Bun proxy)`,
      direct: alongside(floor),
      bridge: alongside(result),
      added: `p99 ${ms(result.all.addedP99 - floor.all.addedP99)} over the floor's (after 1 s: ${ms(result.steady.addedP99 - floor.steady.addedP99)})`,
      target: '—',
      met: null,
    })
    if (peer) {
      const judged = streams === 100
      addRow({
        case: `1. added latency per event, ${streams} × 20 tok/s: p50 / p99 added, all events, and CPU (${peerBaseline})`,
        direct: alongside(peer),
        bridge: alongside(result),
        // Below zero the peer's tail is within the noise of the direct readers': no ratio to take.
        added:
          peer.all.addedP99 > 0
            ? `p99 added ${round(result.all.addedP99 / peer.all.addedP99, 2)}× the peer's`
            : "the peer's p99 added is within noise",
        target: judged ? `p99 added ≤ 1/${PEER_FACTOR} of the peer's` : '—',
        met: judged ? result.all.addedP99 <= peer.all.addedP99 / PEER_FACTOR : null,
      })
    }
    if (streams === 1000)
      addRow({
        case: '4b. 1,000 active streams: CPU, % of one core (p99 added: all / after 1 s)',
        direct: `bare Bun proxy ${round(floor.cpuPercent, 1)} % (letta-sim ${round(result.simCpuPercent, 0)} %, readers ${round(result.clientCpuPercent, 0)} %)`,
        bridge: `${round(result.cpuPercent, 1)} %`,
        added: `${ms(result.all.addedP99)} / ${ms(result.steady.addedP99)}`,
        target: 'CPU ≤ 40 %; p99 added ≤ 25 ms',
        met: result.cpuPercent <= 40 && result.all.addedP99 <= 25,
      })
  }
}

async function firstTokenRows(sim: Child, bridge: Child) {
  log('time to first token…')
  const ttft = await firstTokenCase(sim, bridge)
  results.time_to_first_token = ttft
  figures.time_to_first_token = {
    title: 'time to first token, known chat (p50)',
    unit: 'ms',
    better: 'lower',
    values: { direct: ttft.direct.p50, bridge: ttft.knownChat.p50 },
  }
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

/** Case 3 (one stream) or 3b (50 at once): against direct readers, then against the peer. */
async function fullSpeedRows(sim: Child, bridge: Child, shape: FullSpeed) {
  const one = shape.streams === 1
  log(one ? 'single-stream throughput…' : `${shape.streams} streams at full speed at once…`)
  const result = await withPeer(sim, (peer) => fullSpeedCase(sim, bridge, shape, peer))
  const key = one ? 'throughput' : `throughput_${shape.streams}`
  results[key] = result
  const label = one
    ? '3. one stream at full speed (events/s)'
    : `3b. ${shape.streams} streams at full speed at once (events/s, all streams together)`
  const share = one ? 0.8 : 0.7
  const peer = result.peerEventsPerSecond ?? Number.NaN
  figures[key] = {
    title: label.replace(/^3b?\. /, ''),
    unit: 'events/s',
    better: 'higher',
    values: {
      direct: result.directEventsPerSecond,
      bridge: result.bridgeEventsPerSecond,
      peer,
    },
  }
  addRow({
    case: label,
    direct: String(Math.round(result.directEventsPerSecond)),
    bridge: String(Math.round(result.bridgeEventsPerSecond)),
    added: `${round(result.ratio * 100, 1)} % of direct`,
    target: `≥ ${share * 100} % of direct`,
    met: result.ratio >= share,
  })
  addRow({
    case: `${label.replace(' (', ` (${peerBaseline}; `)}`,
    direct: String(Math.round(peer)),
    bridge: String(Math.round(result.bridgeEventsPerSecond)),
    added: `${round(result.bridgeEventsPerSecond / peer, 1)}× the peer`,
    target: `≥ ${PEER_FACTOR}× the peer`,
    met: result.bridgeEventsPerSecond >= PEER_FACTOR * peer,
  })
}

async function idleRow(sim: Child, bridge: Child) {
  log(`${IDLE_STREAMS} idle streams through the bridge…`)
  await warmUsers(sim, bridge, IDLE_STREAMS, 'idle')
  const idle = await holdIdleStreams(sim, bridge, IDLE_STREAMS, (i, signal) =>
    readBridge({ url: bridge.url, key: BRIDGE_KEY }, `idle-${i}`, signal),
  )
  results.idle_streams = idle
  // The floors: the same streams through the barest Bun pass-through proxy, and through one that
  // reads each chunk in JavaScript (as anything that looks at the events must).
  const throughFloor = async (readsInJs: boolean) => {
    const name = readsInJs ? 'floor-js' : 'floor'
    log(
      `${IDLE_STREAMS} idle streams through a bare Bun proxy${readsInJs ? ' that reads in JS' : ''}…`,
    )
    const floor = await startFloorProxy(sim.url, readsInJs)
    try {
      const agents = await pool(IDLE_STREAMS, 64, (i) => createSimAgent(sim.url, `${name}-${i}`))
      return await holdIdleStreams(sim, floor, IDLE_STREAMS, (i, signal) =>
        readDirect(floor.url, agents[i] ?? '', signal),
      )
    } finally {
      await floor.stop()
    }
  }
  const bare = await throughFloor(false)
  results.idle_streams_floor = bare
  const reading = await throughFloor(true)
  results.idle_streams_floor_reading = reading
  log(`${PEER_IDLE_STREAMS} idle streams through the peer…`)
  // Stall scenarios of streams the floor failed to open are still queued: they must not answer
  // the peer's first messages (which would then never end). The peer creates its own agents.
  await fetch(`${sim.url}/_sim/reset`, { method: 'POST' })
  const peer = await withPeer(sim, async (peer) => {
    await warmUsers(sim, peer, PEER_IDLE_STREAMS, 'idle')
    return holdIdleStreams(sim, peer, PEER_IDLE_STREAMS, (i, signal) =>
      readBridge({ url: peer.url, key: BRIDGE_KEY }, `idle-${i}`, signal),
    )
  })
  results.idle_streams_peer = peer
  figures.idle_streams = {
    title: `memory per idle stream (${idle.streams} streams; the peer ${peer.streams})`,
    unit: 'KB',
    better: 'lower',
    values: {
      'bare Bun proxy': bare.bytesPerStream / 1024,
      'JS-reading proxy': reading.bytesPerStream / 1024,
      bridge: idle.bytesPerStream / 1024,
      peer: peer.bytesPerStream / 1024,
    },
  }
  const perStream = (held: typeof idle) =>
    `${kb(held.bytesPerStream)}, ${round(held.cpuPercent, 1)} % CPU`
  addRow({
    case: `4a. ${idle.streams} idle streams: RSS per stream / CPU (baseline: bare Bun proxy)`,
    direct: perStream(bare),
    bridge: perStream(idle),
    added: `${kb(idle.bytesPerStream - bare.bytesPerStream)} (bridge ${round(idle.rssBeforeMb, 0)} → ${round(idle.rssOpenMb, 0)} MB)`,
    target: '≤ 30 KB per stream',
    met: idle.bytesPerStream <= 30 * 1024,
  })
  addRow({
    case: `4a. ${idle.streams} idle streams: RSS per stream / CPU (baseline: a bare Bun proxy that reads each chunk in JS, as any proxy that looks at the events must)`,
    direct: perStream(reading),
    bridge: perStream(idle),
    added: `${kb(idle.bytesPerStream - reading.bytesPerStream)}`,
    target: '—',
    met: null,
  })
  addRow({
    case: `4a. idle streams: RSS per stream / CPU (${peerBaseline}, holding ${peer.streams}; the bridge ${idle.streams})`,
    direct: perStream(peer),
    bridge: perStream(idle),
    added: `${round(idle.bytesPerStream / peer.bytesPerStream, 2)}× the peer's per stream (peer ${round(peer.rssBeforeMb, 0)} → ${round(peer.rssOpenMb, 0)} MB)`,
    target: '—',
    met: null,
  })
}

async function pipeRow(sim: Child, bridge: Child) {
  log('pipe cost…')
  const pipe = await measurePipeCost(sim, bridge, BRIDGE_KEY)
  results.pipe_cost = pipe
  figures.pipe_cost = {
    title: 'generated pipe under the OpenWebUI harness, CPU per token',
    unit: 'µs',
    better: 'lower',
    values: { 'raw SSE reader': pipe.baselineMicrosPerToken, pipe: pipe.pipeMicrosPerToken },
  }
  addRow({
    case: '5. generated pipe, CPU per token (harness, full speed)',
    direct: `${round(pipe.baselineMicrosPerToken, 1)} µs (raw SSE reader)`,
    bridge: `${round(pipe.pipeMicrosPerToken, 1)} µs (pipe)`,
    added: `${round(pipe.pipeMicrosPerToken - pipe.baselineMicrosPerToken, 1)} µs`,
    target: '≤ 50 µs per token',
    met: pipe.pipeMicrosPerToken <= 50,
  })
}

/** Case 5b: the chats of case 3b through OpenWebUI's path (the pipe) instead of a bare reader. */
async function concurrentPipeRow(sim: Child, bridge: Child) {
  const { streams, tokens } = FIFTY_STREAMS
  log(`${streams} chats at once through the generated pipe…`)
  await warmUsers(sim, bridge, streams, 'pipe50')
  const result = await measureConcurrentPipes(sim, bridge, BRIDGE_KEY, {
    streams,
    tokens,
    users: 'pipe50',
  })
  results.pipe_50 = result
  const ratio = result.pipe.eventsPerSecond / result.raw.eventsPerSecond
  figures.pipe_50 = {
    title: `${streams} chats at full speed at once, read in one Python process`,
    unit: 'events/s',
    better: 'higher',
    values: { 'raw SSE reader': result.raw.eventsPerSecond, pipe: result.pipe.eventsPerSecond },
  }
  addRow({
    case: `5b. generated pipe, ${streams} chats at full speed at once: events/s, all together (CPU per event; baseline: raw SSE readers)`,
    direct: `${Math.round(result.raw.eventsPerSecond)} (${round(result.raw.cpuMicrosPerEvent, 1)} µs)`,
    bridge: `${Math.round(result.pipe.eventsPerSecond)} (${round(result.pipe.cpuMicrosPerEvent, 1)} µs)`,
    added: `${round(ratio * 100, 1)} % of the raw readers`,
    target: '—',
    met: null,
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
        `${round(held.secondHalfGrowthMb, 1)} MB (whole window ${round(held.growthMb, 1)} MB, peak ${round(held.peakGrowthMb, 1)} MB; ${held.lasted} streams still open${held.failedToOpen > 0 ? `; ${held.failedToOpen} failed to open` : ''})${held.stoppedAtCeiling ? `, stopped at the ${UNREAD_RSS_CEILING_BYTES / 2 ** 30} GB ceiling after ${round(held.windowMs / 1000, 1)} s` : ''}`
      addRow({
        case: `6. ${clients} clients that never read, Letta at full speed for ${UNREAD_WINDOW_MS / 1000} s: RSS growth over the last ${UNREAD_WINDOW_MS / 2000} s (baseline: bare Bun proxy)`,
        direct: growth(bare),
        bridge: growth(through),
        added: `${round(through.secondHalfGrowthMb - bare.secondHalfGrowthMb, 1)} MB (bridge ${round(through.rssBeforeMb, 0)} → ${round(through.rssEndMb, 0)} MB)`,
        target: 'flat: ≤ 1 MB per client',
        met:
          through.failedToOpen === 0 &&
          bare.failedToOpen === 0 &&
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
      throughput: await fullSpeedCase(sim, bridge, ONE_STREAM),
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
  const [loadAtStart = Number.NaN] = loadavg()
  // Before the run writes bench/results/latest.*, which would count as uncommitted changes.
  const git = gitState()
  await withStack({}, async (sim, bridge) => {
    if (wanted('latency')) await latencyRows(sim, bridge)
    if (wanted('ttft')) await firstTokenRows(sim, bridge)
    if (wanted('throughput')) await fullSpeedRows(sim, bridge, ONE_STREAM)
    if (wanted('throughput50')) await fullSpeedRows(sim, bridge, FIFTY_STREAMS)
  })

  await withStack({ simPingMs: 5_000, keepaliveMs: 5_000 }, async (sim, bridge) => {
    if (wanted('idle')) await idleRow(sim, bridge)
    if (wanted('pipe')) await pipeRow(sim, bridge)
    if (wanted('pipe50')) await concurrentPipeRow(sim, bridge)
  })

  // Letta's ordinary streams, which wait for their reader: what the case counts as still open.
  // A kept run's stream is Letta's Redis copy, read no faster than the client reads, the same way.
  if (wanted('unread')) await withStack({ kept: false }, unreadRows)
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
  const machine = `${navigator.hardwareConcurrency} cores (load average ${round(loadAtStart, 1)} as the run began), Bun ${Bun.version}${peerStack ? `; the peer: FastAPI ${peerStack.fastapi}, uvicorn ${peerStack.uvicorn} on ${peerStack.loop} and ${peerStack.http}, httpx ${peerStack.httpx}` : ''}`
  process.stdout.write(`\n${table}\n\n${machine}; ${round((wallClock() - started) / 1000, 0)} s\n`)
  const dir = join(import.meta.dir, '../../../bench/results')
  mkdirSync(dir, { recursive: true })
  const stamp = new Date().toISOString().replaceAll(':', '-').slice(0, 19)
  const report = JSON.stringify(
    { date: new Date().toISOString(), machine, peer: peerStack, table, results },
    null,
    2,
  )
  writeFileSync(join(dir, `${stamp}.json`), report)
  // Only a run of every case may stand as the latest table.
  if (asked.length > 0) return
  writeFileSync(join(dir, 'latest.json'), report)
  writeFileSync(join(dir, 'latest.md'), `${table}\n`)
  recordHistory(dir, { loadAtStart, ...git })
}

/** A full run joins the history, and each charted case's SVG is drawn again from all of it. */
function recordHistory(dir: string, run: Pick<HistoryEntry, 'loadAtStart' | 'commit' | 'dirty'>) {
  const file = join(dir, 'history.jsonl')
  appendHistory(file, {
    date: new Date().toISOString(),
    ...run,
    cores: navigator.hardwareConcurrency,
    bun: Bun.version,
    // Its URL changes every run: only its stack is history.
    peer:
      peerStack &&
      Object.fromEntries(Object.entries(peerStack).filter(([key]) => key !== 'peerUrl')),
    cases: figures,
  })
  const history = readHistory(file)
  for (const name of Object.keys(figures)) {
    const svg = caseChart(name, history)
    if (svg) writeFileSync(join(dir, `${name.replaceAll('_', '-')}.svg`), svg)
  }
}

await main()
