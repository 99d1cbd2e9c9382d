import type { ErrorBody } from '@letta-openwebui/events'
import { errorBody, PROTOCOL_VERSION, ROUTES } from '@letta-openwebui/events'
import type { TemplateCatalog } from '../templates.ts'

/**
 * What every request from the pipe must pass once its body is read: the pipe's protocol is the
 * bridge's, and the template it names exists. Returns the refusal, or undefined.
 */
function pipeRequestProblem(
  body: { protocolVersion: string; template?: string },
  catalog: TemplateCatalog,
): { status: number; body: ErrorBody } | undefined {
  if (body.protocolVersion !== PROTOCOL_VERSION) {
    return {
      status: 409,
      body: errorBody(
        'protocol_mismatch',
        `The Letta pipe (protocol ${body.protocolVersion}) does not match the bridge server (protocol ${PROTOCOL_VERSION}): an admin should re-upload apps/pipe/dist/letta_pipe.py (also served at ${ROUTES.pipeFile}).`,
      ),
    }
  }
  if (body.template && !catalog.get(body.template)) {
    return {
      status: 404,
      body: errorBody('unknown_template', `There is no agent template "${body.template}".`),
    }
  }
  return undefined
}

/** `pipeRequestProblem` as a route's `beforeHandle`: the refusal's status and sentence. */
export function refuseBadPipeRequest(catalog: TemplateCatalog) {
  return ({
    body,
    set,
  }: {
    body: { protocolVersion: string; template?: string }
    set: { status?: number | string }
  }): ErrorBody | undefined => {
    const problem = pipeRequestProblem(body, catalog)
    if (!problem) return undefined
    set.status = problem.status
    return problem.body
  }
}
