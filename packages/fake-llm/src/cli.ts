#!/usr/bin/env bun
/**
 * `bun packages/fake-llm/src/cli.ts [--port N]`: a scripted OpenAI-compatible model on
 * 127.0.0.1. Prints one JSON line (`{"url","baseUrl"}`); stops on SIGINT/SIGTERM or when stdin closes.
 */
import { parseArgs } from 'node:util'
import { startFakeLlm } from './server.ts'

const { values } = parseArgs({ options: { port: { type: 'string', default: '0' } } })
const port = Number(values.port)
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  console.error(`fake-llm: --port must be a port number, got "${values.port}"`)
  process.exit(2)
}
const fake = startFakeLlm({ port })
const stop = () => fake.stop().then(() => process.exit(0))
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, stop)
process.stdout.write(`${JSON.stringify({ url: fake.url, baseUrl: fake.baseUrl })}\n`)
for await (const _ of Bun.stdin.stream()) {
}
await stop()
