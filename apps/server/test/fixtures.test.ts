import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { lettaFixture, lettaFixtures, replayTranscript } from '@letta-openwebui/letta-sim'
import type { Stack } from './utils.ts'
import { startStack, streamChat, summarize } from './utils.ts'

type Frame = Record<string, unknown> & { message_type?: string; otid?: string }

/** What a person should see, read straight from the transcript's JSON lines. */
function expectedFrom(transcript: string) {
  const frames: Frame[] = transcript
    .split('\n')
    .filter((line) => line.startsWith('data: {'))
    .map((line) => JSON.parse(line.slice(6)))
  const reasoning = new Map<string, string>()
  let answer = ''
  const tools = new Map<string, { name: string; status?: string }>()
  for (const frame of frames) {
    if (frame.message_type === 'reasoning_message') {
      reasoning.set(String(frame.otid), (reasoning.get(String(frame.otid)) ?? '') + frame.reasoning)
    }
    if (frame.message_type === 'assistant_message') answer += frame.content
    const call = frame.tool_call as { tool_call_id: string; name?: string } | undefined
    if (call && !tools.has(call.tool_call_id))
      tools.set(call.tool_call_id, { name: String(call.name) })
    if (frame.message_type === 'tool_return_message') {
      const tool = tools.get(String(frame.tool_call_id))
      if (tool) tool.status = String(frame.status)
    }
  }
  const stop = frames.find((frame) => frame.message_type === 'stop_reason')?.stop_reason
  const errorLine = transcript.split('\n\n').find((block) => block.startsWith('event: error'))
  const error = errorLine ? JSON.parse(errorLine.split('data: ')[1] ?? '{}') : undefined
  return {
    reasoning: [...reasoning.values()],
    answer,
    tools: [...tools.values()].flatMap((tool) => [
      `start ${tool.name}`,
      ...(tool.status ? [`finish ${tool.name} ${tool.status}`] : []),
    ]),
    stop,
    error: error as { message: string; detail?: string } | undefined,
  }
}

const fixtures = lettaFixtures()

describe('every Letta fixture through the bridge', () => {
  let stack: Stack
  beforeAll(async () => {
    stack = await startStack()
  })
  afterAll(() => stack.stop())

  it('has fixtures to replay', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(3)
  })

  for (const { name, transcript } of fixtures) {
    it(`${name}: exact thinking, answer and tools, then one done`, async () => {
      const expected = expectedFrom(transcript)
      stack.sim.enqueue(replayTranscript(transcript))
      const events = await streamChat(stack.server)
      const seen = summarize(events)

      expect(seen.reasoning).toEqual(expected.reasoning)
      expect(seen.answer).toBe(expected.answer)
      expect(seen.tools).toEqual(expected.tools)
      expect(seen.doneCount).toBe(1)
      expect(events.at(-1)?.event).toBe('done')
      expect(seen.stopReason).toBe(expected.stop as never)
      if (expected.error) {
        const error = events.find((event) => event.event === 'error')
        expect(error?.data).toMatchObject({ message: expected.error.message })
        // Letta's internal detail (provider error text) never reaches the student.
        expect(JSON.stringify(events)).not.toContain(expected.error.detail ?? '\u0000')
      } else {
        expect(seen.errors).toEqual([])
        expect(events.some((event) => event.event === 'usage')).toBe(true)
      }
    })
  }

  it('sends thinking before the answer, and tool arguments as parsed JSON text', async () => {
    const transcript = lettaFixture('anthropic_token_stream_tool_then_answer.sse')
    stack.sim.enqueue(replayTranscript(transcript))
    const events = await streamChat(stack.server)
    const order = events.map((event) => event.event)
    expect(order.indexOf('reasoning.delta')).toBeLessThan(order.indexOf('tool.started'))
    expect(order.indexOf('tool.finished')).toBeLessThan(order.indexOf('answer.delta'))
    const finished = events.find((event) => event.event === 'tool.finished')
    expect(finished?.event === 'tool.finished' && JSON.parse(finished.data.arguments)).toEqual({
      query: 'weather in Paris today',
    })
  })
})
