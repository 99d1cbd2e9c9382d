import type { Static } from '@sinclair/typebox'
import { Type } from '@sinclair/typebox'
import { ApprovalRequest } from './approvals.ts'
import { ErrorBody } from './errors.ts'
import { EVENT_SCHEMAS, STOP_REASONS } from './events.ts'
import { TemplateName } from './request.ts'
import { literalUnion } from './validation.ts'

export const TemplateInfo = Type.Object(
  {
    name: TemplateName,
    title: Type.String({ description: 'Shown as the model name in OpenWebUI, e.g. "Tutor".' }),
    description: Type.String({ description: 'One sentence about the agent.' }),
  },
  { additionalProperties: false },
)
export type TemplateInfo = Static<typeof TemplateInfo>

export const TemplateList = Type.Object(
  {
    templates: Type.Array(TemplateInfo),
    defaultTemplate: TemplateName,
  },
  { additionalProperties: false, description: 'The agent templates this bridge offers.' },
)
export type TemplateList = Static<typeof TemplateList>

/** The answer of `POST /v1/chat`: the whole stream, folded into one JSON value. */
export const ChatResult = Type.Object(
  {
    answer: Type.String(),
    reasoning: Type.String({ description: 'The thinking segments, separated by blank lines.' }),
    tools: Type.Array(EVENT_SCHEMAS['tool.finished']),
    usage: Type.Optional(EVENT_SCHEMAS.usage),
    stopReason: literalUnion(STOP_REASONS),
    error: Type.Optional(ErrorBody),
    notice: Type.Optional(
      Type.String({ description: 'The notice event of the turn, if any (about the chat itself).' }),
    ),
    approvals: Type.Optional(
      Type.Array(ApprovalRequest, {
        description:
          'With stopReason requires_approval: what the agent waits for; answer with a request carrying approvals.',
      }),
    ),
  },
  { additionalProperties: false, description: 'One complete agent turn.' },
)
export type ChatResult = Static<typeof ChatResult>

const HealthStatus = Type.Union(
  [Type.Literal('ok'), Type.Literal('degraded'), Type.Literal('draining')],
  {
    description:
      "degraded: Letta (or the shared Redis) is unreachable, or does not offer a template's model; draining: shutting down (HTTP 503), send nothing new here.",
  },
)

/** What `GET /health` tells anyone: up, or degraded. */
export const HealthSummary = Type.Object({ status: HealthStatus }, { additionalProperties: false })
export type HealthSummary = Static<typeof HealthSummary>

/** What `GET /health` tells a caller with the bridge's key: why, where and which versions. */
export const Health = Type.Object(
  {
    status: HealthStatus,
    protocolVersion: Type.String(),
    letta: Type.Object({
      url: Type.String({ description: 'The Letta server the bridge talks to.' }),
      mode: Type.Union([Type.Literal('letta'), Type.Literal('demo')], {
        description: 'demo = the embedded simulation, no real agents.',
      }),
      reachable: Type.Boolean(),
      version: Type.Optional(Type.String({ description: "Letta's own version." })),
      problem: Type.Optional(Type.String({ description: 'Why Letta is not reachable.' })),
      templates: Type.Array(Type.String(), {
        description: 'One line per template whose model or embedding Letta does not offer.',
      }),
      conversations: Type.Optional(
        Type.Boolean({
          description:
            'Whether Letta has conversations (0.16.2+): each chat its own thread; without them all chats of a user share one.',
        }),
      ),
      warnings: Type.Array(Type.String(), {
        description: 'What works, but not fully, with this Letta (one line each).',
      }),
    }),
    redis: Type.Optional(
      Type.Object(
        { reachable: Type.Boolean() },
        {
          description:
            'With REDIS_URL: whether the Redis the replicas share answers (chats need it).',
        },
      ),
    ),
  },
  { additionalProperties: false },
)
export type Health = Static<typeof Health>
