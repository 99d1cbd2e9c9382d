import { describe, expect, it } from 'bun:test'
import { Type } from '@sinclair/typebox'
import {
  ChatRequest,
  compileValidator,
  ERROR_CODES,
  ERRORS,
  EVENT_SCHEMAS,
  errorBody,
  MAX_MESSAGE_CHARS,
  PROTOCOL_VERSION,
  protocolVersionOf,
  WIRE_SCHEMAS,
} from '../src/index.ts'

const request = compileValidator(ChatRequest)
const valid = {
  protocolVersion: PROTOCOL_VERSION,
  user: { id: 'u1', name: 'Ada', email: 'ada@example.org', role: 'user' },
  chatId: 'c1',
  template: 'tutor',
  message: 'What is a derivative?',
}

describe('chat request schema', () => {
  it('accepts a complete request and a minimal one', () => {
    expect(request.check(valid)).toBe(true)
    expect(request.check({ protocolVersion: 'x', user: { id: 'u' }, message: 'hi' })).toBe(true)
  })

  it('explains each invalid field in a readable line', () => {
    const bad = { ...valid, user: { id: '' }, message: 42, template: 'Bad Name!' }
    const problems = request.problems(bad)
    expect(problems.some((line) => line.startsWith('/user/id:'))).toBe(true)
    expect(problems.some((line) => line.startsWith('/message:'))).toBe(true)
    expect(problems.some((line) => line.startsWith('/template:'))).toBe(true)
  })

  it('rejects messages longer than the limit and unknown fields', () => {
    expect(request.check({ ...valid, message: 'x'.repeat(MAX_MESSAGE_CHARS + 1) })).toBe(false)
    expect(request.check({ ...valid, agentId: 'agent-of-someone-else' })).toBe(false)
  })
})

describe('protocol version', () => {
  it('is derived from the wire schemas', () => {
    expect(PROTOCOL_VERSION).toMatch(/^[0-9a-f]{12}$/)
    expect(protocolVersionOf(WIRE_SCHEMAS)).toBe(PROTOCOL_VERSION)
  })

  it('changes when an event gains a field', () => {
    const changed = {
      ...WIRE_SCHEMAS,
      events: {
        ...EVENT_SCHEMAS,
        'answer.delta': Type.Object({ text: Type.String(), index: Type.Integer() }),
      },
    }
    expect(protocolVersionOf(changed)).not.toBe(PROTOCOL_VERSION)
  })

  it('changes when an event is renamed', () => {
    const { 'answer.delta': answer, ...rest } = EVENT_SCHEMAS
    const renamed = { ...WIRE_SCHEMAS, events: { ...rest, 'text.delta': answer } }
    expect(protocolVersionOf(renamed)).not.toBe(PROTOCOL_VERSION)
  })
})

describe('errors', () => {
  it('gives every code a sentence a student can read', () => {
    for (const code of ERROR_CODES) {
      const { message } = ERRORS[code]
      expect(message).toMatch(/^[A-Z].*[.!]$/)
      expect(message).not.toMatch(/Error:|undefined|\bat \w+ \(/)
    }
  })

  it('lets a caller replace the sentence but keeps code and retryability', () => {
    expect(errorBody('rate_limited', 'Slow down.')).toEqual({
      code: 'rate_limited',
      message: 'Slow down.',
      retryable: true,
    })
  })
})
