import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Step } from '@letta-openwebui/letta-sim'
import {
  approvalRequest,
  dropAfter,
  errorAfterOutput,
  errorBeforeOutput,
  hiddenReasoning,
  LETTA_FIXTURES_DIR,
  lettaFixtures,
  reasoningToolAnswer,
  replayTranscript,
  stallAfter,
  startLettaSim,
  tokenStream,
  webSearchAnswer,
} from '@letta-openwebui/letta-sim'
import { startServer } from '@letta-openwebui/server/server'

/**
 * The real bridge + letta-sim on free loopback ports, for the Python end-to-end tests.
 * Prints one JSON line (URLs, key, scenarios as JSON steps) and stops when stdin closes.
 */
const apiKey = 'pipe-e2e-bridge-key-0123456789'
const sim = await startLettaSim()
// The built-in catalog plus `private`, the same tutor with /memory turned off by the admin, and
// `coach`, a second template whose agent is another agent of the same person, on a model that
// cannot see images.
const builtIn = await Bun.file(
  new URL('../../server/config/templates.json', import.meta.url),
).json()
const tutor = builtIn.templates.find((template: { name: string }) => template.name === 'tutor')
const templatesDir = mkdtempSync(join(tmpdir(), 'pipe-e2e-'))
const templatesFile = join(templatesDir, 'templates.json')
await Bun.write(
  templatesFile,
  JSON.stringify({
    ...builtIn,
    templates: [
      ...builtIn.templates,
      { ...tutor, name: 'private', title: 'Private tutor', memoryCommand: false },
      {
        ...tutor,
        name: 'coach',
        title: 'Coach',
        persona: 'I am a running coach.',
        images: false,
      },
    ],
  }),
)
const dataDir = join(templatesDir, 'data')
const bridgeOptions = {
  host: '127.0.0.1',
  lettaBaseUrl: sim.url,
  bridgeApiKey: apiKey,
  templatesFile,
  idleTimeoutMs: 2_000,
  dataDir,
  logLevel: 'warn' as const,
}
const server = await startServer({ port: 0, ...bridgeOptions })
// The same bridge on the same data directory, nothing cached: the bridge after a restart.
const restarted = await startServer({ port: 0, ...bridgeOptions })
// The same bridge code pointed at a Letta that is not running.
const lettaDown = await startServer({
  port: 0,
  host: '127.0.0.1',
  lettaBaseUrl: 'http://127.0.0.1:9',
  bridgeApiKey: apiKey,
  logLevel: 'error',
})
// The same bridge with a Letta silence bound far above any test and a keepalive every 100 ms:
// a stalled run stays open, kept alive, until the pipe gives up (MAX_TURN_SECONDS).
const patient = await startServer({
  port: 0,
  host: '127.0.0.1',
  lettaBaseUrl: sim.url,
  bridgeApiKey: apiKey,
  idleTimeoutMs: 600_000,
  keepaliveMs: 100,
  logLevel: 'error',
})
const fixtures = Object.fromEntries(
  lettaFixtures().map(({ name, transcript }) => [
    name,
    replayTranscript(transcript, { delayMs: 2 }),
  ]),
)
const webSearch = (status: 'success' | 'error') =>
  reasoningToolAnswer({
    reasoning: 'I should look this up.',
    tool: { name: 'web_search', arguments: { query: 'weather Paris' }, result: 'Rain', status },
    answer: status === 'error' ? 'The search failed, sorry.' : 'It is raining.',
  })
/** Steps up to (not including) the tool's return: the tool has started and not finished. */
const untilToolReturns = (steps: Step[]) =>
  steps.slice(
    0,
    steps.findIndex((step) => 'frame' in step && step.frame.message_type === 'tool_return_message'),
  )
/** Word-sized answer deltas without Letta's ending, to put before another message. */
const answerOnly = (text: string) =>
  tokenStream({
    tokens: text.split(' ').length,
    text: (i) => `${i ? ' ' : ''}${text.split(' ')[i]}`,
  }).filter((step) => 'frame' in step && step.frame.message_type === 'assistant_message')
/** Answer text that spells out OpenWebUI's content tags, split across deltas. */
const TAG_DELTAS = [
  'Models write ',
  '<thi',
  'nk>',
  'plans',
  '</think>',
  ' or ',
  '<|begin_of_solution|>',
  'x',
  '<|end_of_solution|>',
  ' and ',
  '<code_interpreter>',
  'y',
  '</code_interpreter>',
  '.',
]
const scenarios = {
  // The agent asks to send an email; the default continuation answers "Done." when allowed,
  // "Understood." when refused.
  asksToEmail: approvalRequest({
    tool: {
      name: 'send_email',
      arguments: { to: 'teacher@example.org', subject: 'Extension request' },
    },
  }),
  errorBeforeOutput: errorBeforeOutput(),
  errorAfterOutput: errorAfterOutput(),
  dropAfter: dropAfter(5),
  slowAnswer: tokenStream({ tokens: 200, tokensPerSecond: 40 }),
  fullSpeed: tokenStream({ tokens: 20_000 }),
  stall: stallAfter(3),
  toolFails: webSearch('error'),
  toolThenDrop: [...untilToolReturns(webSearch('success')), { drop: true }],
  hiddenThinking: hiddenReasoning({ answer: 'Here is my answer.' }),
  answerToolAnswer: [...answerOnly('Let me check that.'), ...webSearch('success')],
  webSources: webSearchAnswer(
    'comets',
    [
      {
        title: 'Comets — NASA',
        url: 'https://science.nasa.gov/solar-system/comets/',
        highlights: ['Comets are cosmic snowballs of frozen gases, rock and dust.'],
      },
      { title: 'Comet', url: 'https://en.wikipedia.org/wiki/Comet', text: 'x'.repeat(3_000) },
    ],
    'Comets are icy bodies.',
  ),
  steadyAnswer: tokenStream({ tokens: 30, tokensPerSecond: 100 }),
  memoryWrite: reasoningToolAnswer({
    reasoning: 'I will note that.',
    tool: {
      name: 'core_memory_append',
      arguments: { label: 'human', content: 'Likes tea' },
      result: 'ok',
    },
    answer: 'Noted: you like tea.',
  }),
  fakeTags: tokenStream({
    tokens: TAG_DELTAS.length,
    text: (i) => TAG_DELTAS[i] ?? '',
    tokensPerSecond: 200,
  }),
}
process.stdout.write(
  `${JSON.stringify({ serverUrl: server.url, restartedServerUrl: restarted.url, patientServerUrl: patient.url, lettaDownUrl: lettaDown.url, simUrl: sim.url, apiKey, fixtures, scenarios, fixtureDir: LETTA_FIXTURES_DIR })}\n`,
)
for await (const _ of Bun.stdin.stream()) {
}
await server.stop()
await restarted.stop()
await patient.stop()
await lettaDown.stop()
await sim.stop()
rmSync(templatesDir, { recursive: true, force: true })
process.exit(0)
