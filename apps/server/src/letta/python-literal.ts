/**
 * Reads the Python literals Letta 0.16.8 streams as a tool's output: a tool that returns a dict
 * or a list (conversation_search, archival_memory_search) reaches `tool_return` as Python's
 * `str()` of it (`{'message': 'Showing 2 results:', 'results': [{'content': "Halley's …"}]}`):
 * single- or double-quoted strings with backslash escapes, None, True, False, numbers, dicts,
 * lists and tuples. Recorded in packages/letta-sim/fixtures/real/search_*.json.
 */

type Value = unknown

const ESCAPES: Record<string, string> = {
  '\\': '\\',
  "'": "'",
  '"': '"',
  n: '\n',
  r: '\r',
  t: '\t',
  b: '\b',
  f: '\f',
  v: '\v',
  a: '\x07',
  '0': '\0',
}

class Reader {
  at = 0
  constructor(readonly text: string) {}

  fail(): never {
    throw new SyntaxError(`not a Python literal at ${this.at}`)
  }

  space(): void {
    while (/\s/.test(this.text[this.at] ?? '')) this.at++
  }

  value(): Value {
    this.space()
    const char = this.text[this.at]
    if (char === '{') return this.dict()
    if (char === '[') return this.sequence(']')
    if (char === '(') return this.sequence(')')
    if (char === "'" || char === '"') return this.string()
    for (const [word, value] of [
      ['None', null],
      ['True', true],
      ['False', false],
    ] as const) {
      if (this.text.startsWith(word, this.at)) {
        this.at += word.length
        return value
      }
    }
    const number = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(this.text.slice(this.at, this.at + 40))
    if (!number) this.fail()
    this.at += number[0].length
    return Number(number[0])
  }

  string(): string {
    const quote = this.text[this.at++]
    let out = ''
    for (;;) {
      const char = this.text[this.at++]
      if (char === undefined) this.fail()
      if (char === quote) return out
      if (char !== '\\') {
        out += char
        continue
      }
      const next = this.text[this.at++] ?? this.fail()
      const hex = next === 'x' ? 2 : next === 'u' ? 4 : next === 'U' ? 8 : 0
      if (hex > 0) {
        const digits = this.text.slice(this.at, this.at + hex)
        if (!/^[0-9a-fA-F]+$/.test(digits) || digits.length !== hex) this.fail()
        out += String.fromCodePoint(Number.parseInt(digits, 16))
        this.at += hex
      } else if (next === '\n') {
        // a line continuation: nothing
      } else {
        out += ESCAPES[next] ?? `\\${next}`
      }
    }
  }

  /** Items up to `close`, commas between (a trailing one allowed). */
  items(close: string, item: () => void): void {
    this.at++
    for (;;) {
      this.space()
      if (this.text[this.at] === close) {
        this.at++
        return
      }
      item()
      this.space()
      const next = this.text[this.at++]
      if (next === close) return
      if (next !== ',') this.fail()
    }
  }

  sequence(close: string): Value[] {
    const out: Value[] = []
    this.items(close, () => out.push(this.value()))
    return out
  }

  dict(): Record<string, Value> {
    const out: Record<string, Value> = {}
    this.items('}', () => {
      const key = this.value()
      this.space()
      if (this.text[this.at++] !== ':') this.fail()
      // Defined, not assigned: a '__proto__' key is data, as JSON.parse keeps it.
      Object.defineProperty(out, String(key), {
        value: this.value(),
        enumerable: true,
        writable: true,
        configurable: true,
      })
    })
    return out
  }
}

/** The value of a Python literal, or undefined when `text` is not one (whole). */
export function parsePythonLiteral(text: string): Value | undefined {
  const reader = new Reader(text)
  try {
    const value = reader.value()
    reader.space()
    return reader.at === text.length ? value : undefined
  } catch {
    return undefined
  }
}
