import { PIPE_PATH } from './generate.ts'
import { BridgeError } from './publish/bridge.ts'
import { OpenWebUIError } from './publish/openwebui.ts'
import { OptionsError, readOptions, USAGE } from './publish/options.ts'
import { publish } from './publish/run.ts'
import { PublishError } from './publish/steps.ts'

/** `bun run publish`: installs or updates dist/letta_pipe.py in an OpenWebUI. Exit 1 + one line on failure. */
try {
  const options = readOptions(process.argv.slice(2), process.env)
  if (options === 'help') {
    console.info(USAGE)
    process.exit(0)
  }
  const content = await Bun.file(PIPE_PATH).text()
  const { changed } = await publish(options, content, (line) => console.info(`publish: ${line}`))
  console.info(
    changed
      ? 'publish: done.'
      : 'publish: nothing to change: OpenWebUI already runs the current pipe with these settings.',
  )
} catch (error) {
  const known = [OptionsError, OpenWebUIError, BridgeError, PublishError]
  if (!known.some((kind) => error instanceof kind)) throw error
  console.error(`publish failed: ${(error as Error).message}`)
  process.exit(1)
}
