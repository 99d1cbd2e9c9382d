import { generatePipe, PIPE_PATH } from './generate.ts'

/** `bun run generate` writes dist/letta_pipe.py; `--check` only says whether it is current. */
const rendered = generatePipe()
const file = Bun.file(PIPE_PATH)
const current = (await file.exists()) ? await file.text() : ''
if (process.argv.includes('--check')) {
  if (current !== rendered) {
    console.error('apps/pipe/dist/letta_pipe.py is stale: run `bun run generate` and commit it.')
    process.exit(1)
  }
  console.info('apps/pipe/dist/letta_pipe.py is up to date.')
} else if (current !== rendered) {
  await Bun.write(PIPE_PATH, rendered)
  console.info('wrote apps/pipe/dist/letta_pipe.py')
}
