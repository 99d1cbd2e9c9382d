import { createHash } from 'node:crypto'
import {
  ChatRequest,
  ChatResult,
  DEFAULT_SERVER_URL,
  EVENT_NAMES,
  EVENT_SCHEMAS,
  FILE_MODES,
  FINGERPRINT_RULES,
  IMAGE_MEDIA_TYPES,
  MAX_APPROVAL_REASON_CHARS,
  MAX_APPROVALS,
  MAX_ATTACHMENTS,
  MAX_CARRIED_CHARS,
  MAX_CARRIED_MESSAGE_CHARS,
  MAX_FOLDER_FILE_CHARS,
  MAX_HISTORY_MESSAGES,
  MAX_IMAGE_BYTES,
  MAX_IMAGES,
  MAX_IMAGES_BYTES,
  MAX_INLINE_FILE_CHARS,
  MemoryRequest,
  MemoryUpdate,
  MemoryView,
  PROTOCOL_VERSION,
  RESUMABLE_EVENT_ID,
  RESUME_ATTEMPTS,
  RESUME_FIRST_DELAY_MS,
  RESUME_MAX_DELAY_MS,
  ROUTES,
  StopRequest,
  TemplateList,
} from '@letta-openwebui/events'
import type { TObject, TSchema } from '@sinclair/typebox'
import { Kind, OptionalKind } from '@sinclair/typebox'
import runtime from './runtime.py' with { type: 'text' }

/** Bumped when the pipe's behaviour changes without a protocol change. */
export const PIPE_VERSION = '0.5.0'

/** OpenWebUI rewrites these substrings anywhere in a function file (OPENWEBUI_PIPE.md). */
export const FORBIDDEN_SUBSTRINGS = ['from utils', 'from apps', 'from main', 'from config']

const PROTOCOL_SLOT =
  '# @protocol: the generator inserts the constants generated from packages/events here.'
const HASH_SLOT = 'source_hash: sha256:'

/** A Python string literal (JSON escapes are valid Python for the text we emit). */
const pyStr = (text: string) => JSON.stringify(text)
/** `answer.delta` → `ANSWER_DELTA`, `protocolVersion` → `PROTOCOL_VERSION`. */
const pyConst = (name: string) =>
  name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .toUpperCase()

/** Any character, in both languages: the one place `\s` means the same to Python and JavaScript. */
const ANY_CHARACTER = '[\\s\\S]'

/**
 * A JavaScript regular expression (without the u flag) as Python's `re.compile(...)`, matching
 * the same strings. re.ASCII gives Python JavaScript's ASCII `\b`, `\w`, `\d` and ASCII-only
 * case folding (Unicode Python finds a word boundary inside `<detailsé` and matches `ſ` for `s`).
 * Constructs whose meaning still differs are refused rather than translated: `.` and `$` (line
 * terminators), `\s` outside `[\s\S]` (JavaScript's whitespace is not Python's), the m and u
 * flags, and non-ASCII letters under /i.
 */
export function pyRegex(pattern: RegExp): string {
  const refuse = (why: string): never => {
    throw new Error(`apps/pipe: ${pattern} has no exact Python equivalent: ${why}`)
  }
  const { source } = pattern
  if (source.includes('"') || source.endsWith('\\')) refuse('not a raw Python string')
  const flags = [...pattern.flags].flatMap((flag) => {
    if (flag === 'g') return []
    const python = { i: 're.IGNORECASE', s: 're.DOTALL' }[flag]
    return python ? [python] : refuse(`flag ${flag}`)
  })
  if (pattern.ignoreCase && (/[^ -~]/.test(source) || /\\[ux]/.test(source)))
    refuse('non-ASCII letters under /i')
  let inClass = false
  const rest = source.replaceAll(ANY_CHARACTER, '')
  for (let i = 0; i < rest.length; i++) {
    const char = rest[i]
    if (char === '\\') {
      if (rest[i + 1] === 's' || rest[i + 1] === 'S') refuse('\\s outside [\\s\\S]')
      i++
    } else if (char === '[') inClass = true
    else if (char === ']') inClass = false
    else if (!inClass && (char === '$' || (char === '.' && !pattern.dotAll))) refuse(char)
  }
  return `re.compile(r"${source}", ${['re.ASCII', ...flags].join(' | ')})`
}

/** Whole Python lines; interpolations are already-escaped Python expressions. */
function py(strings: TemplateStringsArray, ...values: string[]): string {
  return strings.reduce((out, text, i) => out + text + (values[i] ?? ''), '')
}

/** The Python check for one schema: (kind, allowed literals). Unsupported kinds fail loudly. */
function pyCheck(schema: TSchema): string {
  switch (schema[Kind]) {
    case 'String':
      return '"str", ()'
    case 'Integer':
      return '"int", ()'
    case 'Boolean':
      return '"bool", ()'
    case 'Object':
      return '"dict", ()'
    case 'Array':
      return '"list", ()'
    case 'Union': {
      const literals = (schema.anyOf as TSchema[]).map((option) => {
        if (option[Kind] !== 'Literal' || typeof option.const !== 'string') {
          throw new Error('apps/pipe: only unions of string literals are supported')
        }
        return pyStr(option.const)
      })
      return `"str", (${literals.join(', ')}${literals.length === 1 ? ',' : ''})`
    }
    default:
      throw new Error(`apps/pipe: schema kind ${String(schema[Kind])} has no Python check`)
  }
}

function fieldTable(): string {
  const rows = EVENT_NAMES.map((name) => {
    const schema: TObject = EVENT_SCHEMAS[name]
    const required = new Set(schema.required ?? [])
    const fields = Object.keys(schema.properties)
      .sort()
      .map((field) => {
        const property = schema.properties[field] as TSchema
        const isRequired = required.has(field) && property[OptionalKind] === undefined
        return `        ${pyStr(field)}: (${pyCheck(property)}, ${isRequired ? 'True' : 'False'}),`
      })
    return fields.length
      ? `    ${pyStr(name)}: {\n${fields.join('\n')}\n    },`
      : `    ${pyStr(name)}: {},`
  })
  return `EVENT_FIELDS = {\n${rows.join('\n')}\n}`
}

/** Every field name of the request and the events, as FIELD_* constants. */
function fieldNames(): string[] {
  const names = new Set<string>()
  const collect = (schema: TSchema) => {
    if (schema[Kind] === 'Array') return collect(schema.items as TSchema)
    if (schema[Kind] !== 'Object') return
    for (const [field, property] of Object.entries((schema as TObject).properties)) {
      names.add(field)
      collect(property as TSchema)
    }
  }
  for (const schema of [
    ChatRequest,
    ChatResult,
    TemplateList,
    MemoryRequest,
    MemoryUpdate,
    MemoryView,
    StopRequest,
  ])
    collect(schema)
  for (const name of EVENT_NAMES) collect(EVENT_SCHEMAS[name])
  return [...names].sort()
}

function protocolSection(): string {
  const events = EVENT_NAMES.map((name) => `EVENT_${pyConst(name)} = ${pyStr(name)}`)
  const fields = fieldNames().map((name) => `FIELD_${pyConst(name)} = ${pyStr(name)}`)
  const routes = Object.entries(ROUTES)
    .sort(([a], [b]) => a.localeCompare(b, 'en'))
    .map(([name, path]) => `ROUTE_${pyConst(name)} = ${pyStr(path)}`)
  return py`# --- generated: protocol (packages/events) ----------------------------------

PROTOCOL_VERSION = ${pyStr(PROTOCOL_VERSION)}
DEFAULT_SERVER_URL = ${pyStr(DEFAULT_SERVER_URL)}

${routes.join('\n')}

${events.join('\n')}

${fields.join('\n')}

# event name -> field -> (Python type, allowed values, required)
${fieldTable()}

# A chat's history (packages/events history.ts): limits, and how a message is fingerprinted.
MAX_HISTORY_MESSAGES = ${String(MAX_HISTORY_MESSAGES)}
MAX_CARRIED_CHARS = ${String(MAX_CARRIED_CHARS)}
MAX_CARRIED_MESSAGE_CHARS = ${String(MAX_CARRIED_MESSAGE_CHARS)}
FINGERPRINT_INERT = ${pyRegex(FINGERPRINT_RULES.inert)}
FINGERPRINT_REMOVE = (${FINGERPRINT_RULES.remove.map(pyRegex).join(', ')},)
FINGERPRINT_IGNORED = ${pyRegex(FINGERPRINT_RULES.ignored)}
FINGERPRINT_DIGITS = ${String(FINGERPRINT_RULES.digits)}

# What a message may carry besides words (packages/events attachments.ts, approvals.ts).
IMAGE_MEDIA_TYPES = (${IMAGE_MEDIA_TYPES.map(pyStr).join(', ')},)
MAX_IMAGES = ${String(MAX_IMAGES)}
MAX_IMAGE_BYTES = ${String(MAX_IMAGE_BYTES)}
MAX_IMAGES_BYTES = ${String(MAX_IMAGES_BYTES)}
MAX_ATTACHMENTS = ${String(MAX_ATTACHMENTS)}
MAX_INLINE_FILE_CHARS = ${String(MAX_INLINE_FILE_CHARS)}
MAX_FOLDER_FILE_CHARS = ${String(MAX_FOLDER_FILE_CHARS)}

# Picking up an answer whose connection broke (packages/events resume.ts): ids that name a run
# Letta keeps (match with fullmatch), and how often and how patiently to reconnect.
RESUMABLE_EVENT_ID = ${pyRegex(RESUMABLE_EVENT_ID)}
RESUME_ATTEMPTS = ${String(RESUME_ATTEMPTS)}
RESUME_FIRST_DELAY_SECONDS = ${String(RESUME_FIRST_DELAY_MS / 1000)}
RESUME_MAX_DELAY_SECONDS = ${String(RESUME_MAX_DELAY_MS / 1000)}
FILE_MODES = (${FILE_MODES.map(pyStr).join(', ')},)
MAX_APPROVALS = ${String(MAX_APPROVALS)}
MAX_APPROVAL_REASON_CHARS = ${String(MAX_APPROVAL_REASON_CHARS)}`
}

function header(hash: string): string {
  return py`"""
title: Letta Agent
author: letta-openwebui
version: ${PIPE_VERSION}
license: MIT
description: Your own persistent Letta agent in OpenWebUI: live thinking, tool use and answer, streamed through the letta-openwebui bridge.
required_open_webui_version: 0.6.0
generated_by: apps/pipe (bun run generate) - edit the templates, not this file
protocol_version: ${PROTOCOL_VERSION}
${HASH_SLOT}${hash}
"""

# Code generated by apps/pipe from packages/events. DO NOT EDIT.
`
}

/** Renders the pipe. Pure: the same packages/events and templates give the same bytes. */
export function generatePipe(): string {
  const body = runtime.replace(PROTOCOL_SLOT, protocolSection()).replace(/[ \t]+$/gm, '')
  if (body === runtime) throw new Error('apps/pipe: runtime.py lost its @protocol slot')
  const unsigned = `${header('')}\n${body.trimEnd()}\n`
  const hash = createHash('sha256').update(unsigned).digest('hex').slice(0, 16)
  const file = unsigned.replace(`${HASH_SLOT}\n`, `${HASH_SLOT}${hash}\n`)
  for (const forbidden of FORBIDDEN_SUBSTRINGS) {
    if (file.includes(forbidden))
      throw new Error(`apps/pipe: the pipe must not contain "${forbidden}"`)
  }
  return file
}

export const PIPE_PATH = new URL('../dist/letta_pipe.py', import.meta.url)
/** The same bytes, shipped with the server (GET /v1/pipe.py), which is deployed without apps/pipe. */
export const SERVER_PIPE_PATH = new URL('../../server/generated/letta_pipe.py', import.meta.url)
/** Every place the generated pipe is committed; CI checks that each is current. */
export const PIPE_COPIES = [PIPE_PATH, SERVER_PIPE_PATH]
