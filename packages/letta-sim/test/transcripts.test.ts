import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type Letta from '@letta-ai/letta-client'
import { APIError } from '@letta-ai/letta-client'
import type { LettaSim, Step } from '../src/index.ts'
import {
  approvalRequest,
  demoScenario,
  dropAfter,
  errorAfterOutput,
  errorBeforeOutput,
  hiddenReasoning,
  lettaFixture,
  lettaFixtures,
  malformedFrame,
  oversizedFrame,
  reasoningToolAnswer,
  replayTranscript,
  startLettaSim,
  tokenStream,
  unknownMessageType,
} from '../src/index.ts'
import type { Frame } from './helpers.ts'
import {
  drain,
  groupById,
  groupByTypeAndOtid,
  jsonLines,
  plainTexts,
  postRaw,
  STREAM_BODY,
  sdk,
  toolArguments,
} from './helpers.ts'

const fixtures = lettaFixtures()

let sim: LettaSim
let client: Letta

beforeAll(async () => {
  sim = await startLettaSim()
  client = sdk(sim)
})
afterAll(() => sim.stop())

/**
 * Plays `steps` twice: once read raw, once through the SDK, each to an agent of its own (a
 * scenario that asks for approval leaves its thread waiting).
 */
async function playBoth(steps: Step[]) {
  sim.enqueue(steps)
  const raw = await (await postRaw(sim, sim.createAgent().id)).text()
  sim.enqueue(steps)
  const stream = await client.agents.messages.create(sim.createAgent().id, STREAM_BODY, {
    maxRetries: 0,
  })
  return { raw, ...(await drain(stream)) }
}

/** The checks every transcript must pass, expected values read from its raw JSON lines. */
function expectConsistent(raw: string, frames: Frame[]) {
  const expected = plainTexts(jsonLines(raw))
  const groups = [...groupByTypeAndOtid(frames).values()]
  const joined = (type: string) =>
    groups
      .filter((group) => group.type === type)
      .map((group) => group.text)
      .join('')
  expect(joined('reasoning_message')).toBe(expected.reasoning)
  expect(joined('assistant_message')).toBe(expected.answer)
  for (const [, args] of toolArguments(frames)) expect(() => JSON.parse(args)).not.toThrow()
  expect(frames[0]?.message_type).toBe('ping')
  expect(frames[0]?.run_id).toMatch(/^run-/)
}

describe('replaying the Letta fixtures', () => {
  it('has the transcripts described in LETTA_WIRE.md', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(3)
  })

  // The design's shared fixtures sit beside the checkout in CI: the copies here must match them.
  // Only a local clone without them may skip this; in CI their absence is a failure, not a skip.
  const shared = join(import.meta.dir, '../../../../shared/letta-fixtures')
  const inCi = process.env.CI === 'true'
  it.skipIf(!existsSync(shared) && !inCi)('keeps every shared fixture, byte for byte', () => {
    expect({ sharedFixturesBesideTheCheckout: existsSync(shared) }).toEqual({
      sharedFixturesBesideTheCheckout: true,
    })
    const names = readdirSync(shared).filter((file) => file.endsWith('.sse'))
    expect(names.length).toBeGreaterThanOrEqual(3)
    for (const name of names)
      expect({ name, text: lettaFixture(name) }).toEqual({
        name,
        text: readFileSync(join(shared, name), 'utf8'),
      })
  })

  for (const { name, transcript } of fixtures) {
    const isError = transcript.includes('\nevent: error\n')

    describe(name, () => {
      it('serves the transcript byte for byte', async () => {
        sim.enqueue(replayTranscript(transcript))
        const response = await postRaw(sim, sim.createAgent().id)
        expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8')
        expect(await response.text()).toBe(transcript)
      })

      it('rebuilds reasoning and answer through the SDK by (message_type, otid)', async () => {
        const { raw, frames, error } = await playBoth(replayTranscript(transcript))
        expect(frames.length).toBe(jsonLines(raw).length)
        expectConsistent(raw, frames)
        if (!isError) expect(error).toBeUndefined()
      })

      if (isError) {
        it('makes the SDK throw APIError after it yielded the stop_reason', async () => {
          const { frames, error } = await playBoth(replayTranscript(transcript))
          expect(frames.at(-1)?.message_type).toBe('stop_reason')
          expect(error).toBeInstanceOf(APIError)
          const apiError = error as APIError
          expect(apiError.status).toBeUndefined()
          expect(apiError.error).toMatchObject({ message_type: 'error_message' })
        })
      }
    })
  }

  it('shows that grouping by id would merge thinking into the answer', async () => {
    const transcript = lettaFixture('anthropic_token_stream_tool_then_answer.sse')
    const { frames } = await playBoth(replayTranscript(transcript))
    const mixed = [...groupById(frames).values()].filter(
      (group) => group.types.has('reasoning_message') && group.types.has('assistant_message'),
    )
    expect(mixed).toHaveLength(1)
    expect(mixed[0]?.text).toBe(
      "Got it, answer briefly.It's 18°C with light rain in Paris right now.",
    )
    const answers = [...groupByTypeAndOtid(frames).values()].filter(
      (group) => group.type === 'assistant_message',
    )
    expect(answers.map((group) => group.text)).toEqual([
      "It's 18°C with light rain in Paris right now.",
    ])
  })

  it('parses the streamed tool arguments to the query of the transcript', async () => {
    const transcript = lettaFixture('anthropic_token_stream_tool_then_answer.sse')
    const { frames } = await playBoth(replayTranscript(transcript))
    const args = [...toolArguments(frames).values()].map((text) => JSON.parse(text))
    expect(args).toEqual([{ query: 'weather in Paris today' }])
  })
})

describe('every scenario builder through the SDK', () => {
  const tool = { name: 'web_search', arguments: { query: 'derivative definition' }, result: 'ok' }
  const clean = [
    { name: 'tokenStream', steps: () => tokenStream({ tokens: 20, reasoningTokens: 3 }) },
    {
      name: 'reasoningToolAnswer',
      steps: () =>
        reasoningToolAnswer({
          reasoning: 'The student asks about derivatives. Let me search.',
          tool,
          answer: 'A derivative measures how fast something changes.',
        }),
    },
    { name: 'approvalRequest', steps: () => approvalRequest() },
    { name: 'hiddenReasoning', steps: () => hiddenReasoning({ answer: 'Done.' }) },
    { name: 'unknownMessageType', steps: () => unknownMessageType({ answer: 'Still here.' }) },
    { name: 'oversizedFrame', steps: () => oversizedFrame(256 * 1024) },
    {
      name: 'demoScenario',
      steps: () => demoScenario({ agentId: 'agent-demo', text: 'What is a derivative?' }),
    },
  ]

  for (const { name, steps } of clean) {
    it(`${name}: every frame parses, texts regroup exactly, the stream ends with [DONE]`, async () => {
      const { raw, frames, error } = await playBoth(steps())
      expect(error).toBeUndefined()
      expect(raw.endsWith('data: [DONE]\n\n')).toBe(true)
      expect(frames.length).toBe(jsonLines(raw).length)
      expectConsistent(raw, frames)
    })
  }

  it('tokenStream keeps reasoning and answer apart though they share one message id', async () => {
    const { frames } = await playBoth(tokenStream({ tokens: 4, reasoningTokens: 2 }))
    const texts = [...groupByTypeAndOtid(frames).values()].map((group) => group.text)
    expect(texts).toEqual(['thought0 thought1 ', 'token0 token1 token2 token3 '])
    expect([...groupById(frames).values()].map((group) => group.text)).toEqual([
      'thought0 thought1 token0 token1 token2 token3 ',
    ])
  })

  it('reasoningToolAnswer streams the arguments as JSON fragments of one tool call', async () => {
    const { frames } = await playBoth(
      reasoningToolAnswer({ reasoning: 'Hmm.', tool, answer: 'Yes.' }),
    )
    const calls = frames.filter((frame) => frame.message_type === 'tool_call_message')
    expect(calls.length).toBeGreaterThan(2)
    expect(new Set(calls.map((frame) => frame.otid)).size).toBe(1)
    expect([...toolArguments(frames).values()].map((text) => JSON.parse(text))).toEqual([
      tool.arguments,
    ])
    const reasoning = frames.find((frame) => frame.message_type === 'reasoning_message')
    expect(calls[0]?.id).toBe(reasoning?.id as string)
    expect(calls[0]?.otid).not.toBe(reasoning?.otid as string)
  })

  it('tokenStream with stamp: every token is the sender’s wall clock and a space', async () => {
    const before = performance.timeOrigin + performance.now()
    const { frames } = await playBoth(tokenStream({ tokens: 5, stamp: true }))
    const after = performance.timeOrigin + performance.now()
    const stamps = frames
      .filter((frame) => frame.message_type === 'assistant_message')
      .map((frame) => String(frame.content))
    expect(stamps).toHaveLength(5)
    for (const stamp of stamps) {
      expect(stamp).toMatch(/^\d+\.\d{3} $/)
      expect(Number.parseFloat(stamp)).toBeGreaterThanOrEqual(before)
      expect(Number.parseFloat(stamp)).toBeLessThanOrEqual(after)
    }
  })

  it('demoScenario quotes the student and uses a memory tool', async () => {
    const { frames } = await playBoth(
      demoScenario({ agentId: 'agent-demo', text: 'My name is Ada and I love integrals' }),
    )
    const { reasoning, answer } = plainTexts(frames)
    expect(reasoning).toContain('My name is Ada and I love integrals')
    expect(answer).toContain('My name is Ada and I love integrals')
    const call = frames.find((frame) => frame.message_type === 'tool_call_message')
    expect(call?.tool_call).toMatchObject({ name: 'core_memory_append' })
  })

  it('errorBeforeOutput: stop_reason, then the SDK throws APIError with the error payload', async () => {
    const { raw, frames, error } = await playBoth(errorBeforeOutput())
    expectConsistent(raw, frames)
    expect(frames.map((frame) => frame.message_type)).toEqual(['ping', 'stop_reason'])
    expect(raw.endsWith('data: [DONE]\n\n')).toBe(true)
    expect(error).toBeInstanceOf(APIError)
    expect((error as APIError).error).toMatchObject({ error_type: 'llm_rate_limit' })
  })

  it('errorAfterOutput: partial answer, stop_reason twice, APIError, and no [DONE]', async () => {
    const { raw, frames, error } = await playBoth(errorAfterOutput())
    expectConsistent(raw, frames)
    expect(plainTexts(frames).answer).toBe('Let me explain this step by step.')
    const stops = frames.filter((frame) => frame.message_type === 'stop_reason')
    expect(stops.map((frame) => frame.stop_reason)).toEqual(['error', 'error'])
    expect(raw).not.toContain('[DONE]')
    expect(error).toBeInstanceOf(APIError)
  })

  it('malformedFrame: the SDK fails on the frame that is not JSON', async () => {
    const { raw, frames, error } = await playBoth(malformedFrame())
    expect(plainTexts(frames).answer).toBe('Before the glitch ')
    expect(error).toBeInstanceOf(SyntaxError)
    expect(raw.endsWith('data: [DONE]\n\n')).toBe(true)
  })

  it('dropAfter: the body breaks off after n frames, without a stop_reason', async () => {
    sim.enqueue(dropAfter(3))
    const stream = await client.agents.messages.create(sim.createAgent().id, STREAM_BODY, {
      maxRetries: 0,
    })
    const { frames, error } = await drain(stream)
    expect(frames.map((frame) => frame.message_type)).toEqual([
      'ping',
      'assistant_message',
      'assistant_message',
      'assistant_message',
    ])
    expect(error).toBeDefined()
    expect(error).not.toBeInstanceOf(APIError)
  })
})
