import { createHash } from 'node:crypto'
import { ErrorBody } from './errors.ts'
import { EVENT_SCHEMAS } from './events.ts'
import { FINGERPRINT_RULES } from './history.ts'
import { MemoryRequest, MemoryUpdate, MemoryView } from './memory.ts'
import { ChatRequest } from './request.ts'
import { ChatResult } from './responses.ts'
import { RESUMABLE_EVENT_ID, StopRequest } from './resume.ts'

/** JSON with object keys sorted, so the hash depends on the schemas' content, not on key order. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .map(
        (key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`,
      )
    return `{${entries.join(',')}}`
  }
  return JSON.stringify(value) ?? 'null'
}

/** Everything that crosses the wire between pipe and server. */
export const WIRE_SCHEMAS = {
  ChatRequest,
  ChatResult,
  ErrorBody,
  MemoryRequest,
  MemoryUpdate,
  MemoryView,
  StopRequest,
  events: EVENT_SCHEMAS,
  resumableEventId: String(RESUMABLE_EVENT_ID),
  // How the pipe and the bridge fingerprint messages: a change must change the version.
  fingerprint: {
    inert: String(FINGERPRINT_RULES.inert),
    remove: FINGERPRINT_RULES.remove.map(String),
    ignored: String(FINGERPRINT_RULES.ignored),
    digits: FINGERPRINT_RULES.digits,
  },
}

/** Hash of the wire schemas: any change to a name, field or type changes the version. */
export function protocolVersionOf(schemas: unknown): string {
  return createHash('sha256').update(canonicalJson(schemas)).digest('hex').slice(0, 12)
}

export const PROTOCOL_VERSION = protocolVersionOf(WIRE_SCHEMAS)
