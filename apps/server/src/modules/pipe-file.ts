import { errorBody, ROUTES } from '@letta-openwebui/events'
import { Elysia } from 'elysia'
import { auth } from './auth.ts'

/** The committed, generated pipe (apps/pipe/dist), for admins to download and upload. */
export const PIPE_FILE = new URL('../../../pipe/dist/letta_pipe.py', import.meta.url)

export const pipeFile = (bridgeApiKey: string | undefined) =>
  new Elysia({ name: 'pipe-file' }).use(auth(bridgeApiKey)).get(
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
    { bridgeAuth: true, detail: { summary: 'Download the generated OpenWebUI pipe' } },
  )
