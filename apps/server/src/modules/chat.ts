import {
  ChatRequest,
  ChatResult,
  ErrorBody,
  ROUTES,
  runPointOf,
  StopRequest,
} from '@letta-openwebui/events'
import { Elysia, t } from 'elysia'
import type { TemplateCatalog } from '../templates.ts'
import type { ChatService } from '../turn/chat-service.ts'
import { foldTurn } from '../turn/fold.ts'
import { sseResponse } from '../turn/sse-response.ts'
import { MAX_CHAT_BODY_BYTES } from './errors.ts'
import { jsonBody } from './json-body.ts'
import { refuseBadPipeRequest } from './pipe-request.ts'

/** An AbortController that also fires when the client's request is aborted. */
function followRequest(request: Request): AbortController {
  const controller = new AbortController()
  if (request.signal.aborted) controller.abort()
  else request.signal.addEventListener('abort', () => controller.abort(), { once: true })
  return controller
}

export const chat = (options: {
  service: ChatService
  catalog: TemplateCatalog
  keepaliveMs: number
  clientStallTimeoutMs: number
}) =>
  new Elysia({ name: 'chat' })
    .model({ 'chat.request': ChatRequest, 'chat.result': ChatResult })
    // Before the guard: its body is not a chat request.
    .post(
      ROUTES.chatStop,
      async ({ body, set }) => {
        await options.service.stop(body)
        set.status = 204
      },
      {
        body: StopRequest,
        parse: jsonBody(StopRequest),
        beforeHandle: refuseBadPipeRequest(options.catalog),
        response: { 204: t.Void(), '4xx': ErrorBody, '5xx': ErrorBody },
        detail: {
          summary: 'The stop button: cancel the run behind an answer, even with its stream closed',
        },
      },
    )
    .guard({
      body: 'chat.request',
      parse: jsonBody(ChatRequest, MAX_CHAT_BODY_BYTES),
      beforeHandle: refuseBadPipeRequest(options.catalog),
    })
    .post(
      ROUTES.chatStream,
      ({ body, request, server }) => {
        // Long tool calls are silent: Bun's 10 s idle timeout must not cut the stream.
        server?.timeout(request, 0)
        const abort = followRequest(request)
        // A client picking up an answer whose connection broke (any replica will do).
        const resumeFrom = runPointOf(request.headers.get('last-event-id'))
        return sseResponse(
          options.service.turn(body, abort.signal, { resumable: true, resumeFrom }),
          {
            keepaliveMs: options.keepaliveMs,
            stallTimeoutMs: options.clientStallTimeoutMs,
            // The reason reaches the turn's log: hung up, or dropped as stuck.
            onClose: (reason) => abort.abort(reason),
          },
        )
      },
      {
        detail: {
          summary: 'Send a message to your agent; answer as server-sent events',
          description:
            'Sent again with the `Last-Event-ID` header of an answer whose connection broke, it picks that answer up after that event (ids of the form `run-…:seq:index`), on any replica.',
        },
      },
    )
    .post(
      ROUTES.chat,
      ({ body, request, server }) => {
        server?.timeout(request, 0)
        // One JSON answer cannot be picked up again: its run ends with its connection.
        const turn = options.service.turn(body, followRequest(request).signal, { resumable: false })
        return foldTurn(turn)
      },
      { response: 'chat.result', detail: { summary: 'Send a message; one JSON answer' } },
    )
