import { ChatRequest, ChatResult, ROUTES } from '@letta-openwebui/events'
import { Elysia } from 'elysia'
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
        return sseResponse(options.service.turn(body, abort.signal), {
          keepaliveMs: options.keepaliveMs,
          stallTimeoutMs: options.clientStallTimeoutMs,
          // The reason reaches the turn's log: hung up, or dropped as stuck.
          onClose: (reason) => abort.abort(reason),
        })
      },
      { detail: { summary: 'Send a message to your agent; answer as server-sent events' } },
    )
    .post(
      ROUTES.chat,
      ({ body, request, server }) => {
        server?.timeout(request, 0)
        return foldTurn(options.service.turn(body, followRequest(request).signal))
      },
      { response: 'chat.result', detail: { summary: 'Send a message; one JSON answer' } },
    )
