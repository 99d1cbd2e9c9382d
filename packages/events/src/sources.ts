import type { Static } from '@sinclair/typebox'
import { Type } from '@sinclair/typebox'

/** Sources shown per tool call at most, and the text kept of each. */
export const MAX_SOURCES = 10
export const MAX_SOURCE_CHARS = 1_000

export const SourceItem = Type.Object(
  {
    title: Type.String({ maxLength: 300, description: 'What the source is called.' }),
    url: Type.Optional(Type.String({ maxLength: 2_000, description: 'Where it is, if anywhere.' })),
    text: Type.String({
      maxLength: MAX_SOURCE_CHARS,
      description: 'The passage the agent read (cut).',
    }),
  },
  { additionalProperties: false, description: 'One source a search tool gave the agent.' },
)
export type SourceItem = Static<typeof SourceItem>
