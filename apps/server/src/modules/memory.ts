import {
  ErrorBody,
  MemoryBlock,
  MemoryRequest,
  MemoryUpdate,
  MemoryView,
  ROUTES,
} from '@letta-openwebui/events'
import { Elysia } from 'elysia'
import { lettaErrorBody } from '../letta/errors.ts'
import type { MemoryService } from '../letta/memory.ts'
import { MemoryRefused } from '../letta/memory.ts'
import type { Logger } from '../log.ts'
import type { TemplateCatalog } from '../templates.ts'
import { jsonBody } from './json-body.ts'
import { refuseBadPipeRequest } from './pipe-request.ts'

/** Letta failing while the bridge reads or writes memory: the bridge's upstream failed. */
const UPSTREAM_FAILED = 502

/** `/memory` in the chat: the person's agent's memory blocks, read and edited by the pipe. */
export const memory = (options: {
  service: MemoryService
  catalog: TemplateCatalog
  logger: Logger
}) => {
  /** Runs a memory call; a refusal or Letta's failure becomes its sentence and status. */
  const answer = async <T>(
    set: { status?: number | string },
    action: () => Promise<T>,
  ): Promise<T | ErrorBody> => {
    try {
      return await action()
    } catch (error) {
      if (error instanceof MemoryRefused) {
        set.status = error.status
        return error.body
      }
      const body = lettaErrorBody(error)
      if (body.code === 'internal_error') {
        options.logger.error('memory request failed', { cause: String(error) })
      }
      set.status = body.code === 'internal_error' ? 500 : UPSTREAM_FAILED
      return body
    }
  }
  return new Elysia({ name: 'memory' })
    .post(
      ROUTES.memory,
      ({ body, set }) => answer(set, () => options.service.blocks(body.user, body.template)),
      {
        body: MemoryRequest,
        parse: jsonBody(MemoryRequest),
        beforeHandle: refuseBadPipeRequest(options.catalog),
        response: { 200: MemoryView, '4xx': ErrorBody, '5xx': ErrorBody },
        detail: { summary: "Your agent's memory blocks (for /memory in the chat)" },
      },
    )
    .post(
      ROUTES.memoryUpdate,
      ({ body, set }) =>
        answer(set, () => options.service.update(body.user, body.template, body.label, body.value)),
      {
        body: MemoryUpdate,
        parse: jsonBody(MemoryUpdate),
        beforeHandle: refuseBadPipeRequest(options.catalog),
        response: { 200: MemoryBlock, '4xx': ErrorBody, '5xx': ErrorBody },
        detail: { summary: 'Replace one memory block of your agent (within its limit)' },
      },
    )
}
