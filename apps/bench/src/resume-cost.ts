import { PROTOCOL_VERSION, ROUTES, SseParser } from '@letta-openwebui/events'
import { tokenStream } from '@letta-openwebui/letta-sim'
import { enqueue } from './clients.ts'
import type { Child } from './processes.ts'
import { distribution } from './stats.ts'

/** Events read before the connection is cut, and the answer's length. */
const READ_BEFORE_CUT = 1_000
const ANSWER_TOKENS = 2_000
const SAMPLES = 20

type Reading = { lastId?: string; events: number; firstEventAt?: number; doneAt?: number }

/** Reads the answer stream: events counted, the last id kept; stops after `stopAfter` answer events. */
async function read(
  bridge: { url: string; key: string },
  body: string,
  init: { lastEventId?: string; stopAfter?: number } = {},
): Promise<Reading> {
  const client = new AbortController()
  const response = await fetch(`${bridge.url}${ROUTES.chatStream}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${bridge.key}`,
      ...(init.lastEventId ? { 'last-event-id': init.lastEventId } : {}),
    },
    body,
    signal: client.signal,
  })
  const reading: Reading = { events: 0 }
  const parser = new SseParser()
  const decoder = new TextDecoder()
  try {
    for await (const chunk of response.body as ReadableStream<Uint8Array>) {
      for (const frame of parser.push(decoder.decode(chunk, { stream: true }))) {
        if (frame.event === 'keepalive') continue
        reading.firstEventAt ??= performance.now()
        reading.lastId = frame.id
        if (frame.event === 'answer.delta') reading.events++
        if (frame.event === 'error') throw new Error(`bridge error: ${frame.data}`)
        if (frame.event === 'done') reading.doneAt = performance.now()
        if (init.stopAfter && reading.events === init.stopAfter) {
          client.abort()
          return reading
        }
      }
    }
  } catch (error) {
    if (!client.signal.aborted) throw error
  }
  return reading
}

/** Whether the sim has no run streaming: the cut answer has been played to its end. */
async function simIdle(sim: Child): Promise<boolean> {
  const state = (await (await fetch(`${sim.url}/_sim/state`)).json()) as { runningRuns: number }
  return state.runningRuns === 0
}

/**
 * The cost of picking an answer up again: a 2,000-token answer read to its 1,000th event, the
 * connection cut, the run left to finish in Letta (the sim), then the same request sent again
 * with the last event id. Measured: from that request to its first event (the bridge reads the
 * run from its start and rebuilds the 1,000 events before the cursor), and to its `done`;
 * baseline: a new message's first event on the same chat.
 */
export async function resumeCostCase(sim: Child, bridge: { url: string; key: string }) {
  const firstNew: number[] = []
  const toDone: number[] = []
  const fresh: number[] = []
  let resumedEvents = 0
  for (let i = 0; i < SAMPLES; i++) {
    const body = JSON.stringify({
      protocolVersion: PROTOCOL_VERSION,
      user: { id: 'bench-resume' },
      chatId: `bench-resume-${i}`,
      message: 'bench',
    })
    await enqueue(sim.url, tokenStream({ tokens: ANSWER_TOKENS }))
    const before = await read(bridge, body, { stopAfter: READ_BEFORE_CUT })
    while (!(await simIdle(sim))) await Bun.sleep(5)
    const sentAt = performance.now()
    const after = await read(bridge, body, { lastEventId: before.lastId })
    if (after.events + before.events !== ANSWER_TOKENS)
      throw new Error(`resume lost or repeated events: ${before.events} + ${after.events}`)
    resumedEvents = after.events
    firstNew.push((after.firstEventAt ?? Number.NaN) - sentAt)
    toDone.push((after.doneAt ?? Number.NaN) - sentAt)
    await enqueue(sim.url, tokenStream({ tokens: 3 }))
    const freshAt = performance.now()
    const next = await read(bridge, body)
    fresh.push((next.firstEventAt ?? Number.NaN) - freshAt)
  }
  return {
    firstNewEvent: distribution(firstNew),
    toDone: distribution(toDone),
    newMessageFirstEvent: distribution(fresh),
    replayedBeforeCursor: READ_BEFORE_CUT,
    resumedEvents,
  }
}
