import { errorBody, ROUTES } from '@letta-openwebui/events'
import { Elysia } from 'elysia'

/**
 * The generated pipe, for admins to download and upload. `bun run generate` writes this copy
 * beside apps/pipe/dist/letta_pipe.py (byte for byte; CI checks both), so a server deployed
 * without apps/pipe still serves it.
 */
export const PIPE_FILE = new URL('../../generated/letta_pipe.py', import.meta.url)

export const pipeFile = () =>
  new Elysia({ name: 'pipe-file' }).get(
    ROUTES.pipeFile,
    async ({ status }) => {
      const file = Bun.file(PIPE_FILE)
      if (!(await file.exists()))
        return status(
          404,
          errorBody(
            'invalid_request',
            'The pipe file has not been generated: run `bun run generate`.',
          ),
        )
      return new Response(file, {
        headers: {
          'content-type': 'text/x-python; charset=utf-8',
          'content-disposition': 'attachment; filename="letta_pipe.py"',
        },
      })
    },
    { detail: { summary: 'Download the generated OpenWebUI pipe' } },
  )
