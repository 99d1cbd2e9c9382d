import type { Static } from '@sinclair/typebox'
import { Type } from '@sinclair/typebox'
import { literalUnion } from './validation.ts'

/**
 * What a person attaches to a message besides their words: images (sent to the agent's model as
 * image content, where its template says the model can see) and the text of files (OpenWebUI has
 * already extracted it), sent with the message or stored in the agent's Letta folder.
 */

/** The image formats the vision models Letta talks to all accept. */
export const IMAGE_MEDIA_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'] as const
/** Images per message at most. */
export const MAX_IMAGES = 4
/** One image at most, decoded (Anthropic refuses larger ones; Letta keeps each in the thread). */
export const MAX_IMAGE_BYTES = 5 * 1024 * 1024
/** All images of one message at most, decoded. */
export const MAX_IMAGES_BYTES = 10 * 1024 * 1024

/** Base64 characters for `bytes` bytes. */
export const base64Chars = (bytes: number): number => Math.ceil(bytes / 3) * 4

export const ImagePart = Type.Object(
  {
    mediaType: literalUnion(IMAGE_MEDIA_TYPES, { description: 'The image format.' }),
    data: Type.String({
      minLength: 1,
      maxLength: base64Chars(MAX_IMAGE_BYTES),
      description: 'The image, base64 (no data: prefix).',
    }),
  },
  { additionalProperties: false, description: 'An image the person attached to this message.' },
)
export type ImagePart = Static<typeof ImagePart>

/** Files per message at most. */
export const MAX_ATTACHMENTS = 10
/**
 * File text sent with a message into the agent's context, all files together: about 6,000
 * tokens, a fifth of a 32k context window. Longer files are cut (the agent is told where).
 */
export const MAX_INLINE_FILE_CHARS = 24_000
/** File text per message when the files go to the agent's Letta folder instead (searched, not read whole). */
export const MAX_FOLDER_FILE_CHARS = 500_000

export const FILE_MODES = ['inline', 'folder'] as const
export type FileMode = (typeof FILE_MODES)[number]

export const Attachment = Type.Object(
  {
    id: Type.String({
      minLength: 1,
      maxLength: 200,
      description: "OpenWebUI's file id: a file already in the chat's thread is not sent again.",
    }),
    name: Type.String({ minLength: 1, maxLength: 255, description: 'The file name.' }),
    text: Type.String({
      maxLength: MAX_FOLDER_FILE_CHARS,
      description: "The file's text as OpenWebUI extracted it (cut to the mode's budget).",
    }),
    fullChars: Type.Optional(
      Type.Integer({
        minimum: 0,
        description: "The whole text's length when `text` was cut (UTF-16 code units).",
      }),
    ),
  },
  { additionalProperties: false, description: 'A file the person attached to the chat.' },
)
export type Attachment = Static<typeof Attachment>

export const FileModeField = literalUnion(FILE_MODES, {
  description:
    "inline: the files' text goes with the message; folder: into the agent's Letta folder, which its file tools open and search. Absent: the template's setting.",
})
