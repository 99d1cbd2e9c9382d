import { relative } from 'node:path'
import { generatePipe, PIPE_COPIES } from './generate.ts'

/**
 * `bun run generate` writes dist/letta_pipe.py and the server's copy of it; `--check` only says
 * whether both are current.
 */
const rendered = generatePipe()
const root = new URL('../../../', import.meta.url).pathname
let stale = false
for (const path of PIPE_COPIES) {
  const file = Bun.file(path)
  const name = relative(root, path.pathname)
  const current = (await file.exists()) ? await file.text() : ''
  if (current === rendered) continue
  if (process.argv.includes('--check')) {
    console.error(`${name} is stale: run \`bun run generate\` and commit it.`)
    stale = true
  } else {
    await Bun.write(path, rendered)
    console.info(`wrote ${name}`)
  }
}
if (stale) process.exit(1)
if (process.argv.includes('--check')) console.info('the generated pipe is up to date.')
