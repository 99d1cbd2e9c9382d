import type { MessageCreate } from '@letta-ai/letta-client/resources/agents/agents'
import type { ImagePart } from '@letta-openwebui/events'

/** A file as the agent reads of it: its text (maybe cut), or where in its folder it is stored. */
export type FileNote =
  | { name: string; text: string; fullChars?: number }
  | { name: string; storedAs: string; folder: string }

/** Characters that would end or open the marking around a file's name or text. */
const escapeAttribute = (value: string): string =>
  value.replace(/[&"<>]/g, (char) => `&#${char.charCodeAt(0)};`)

/** A file's text may quote the marking itself; its closing tag is made inert. */
const CLOSING_TAG = /<\/attached_file/gi

function fileText(note: FileNote): string {
  const name = escapeAttribute(note.name)
  if ('storedAs' in note) {
    return `<attached_file name="${name}" stored_as="${escapeAttribute(note.storedAs)}" folder="${escapeAttribute(note.folder)}">The person attached this file; it is in your files (folder "${note.folder}"): open or search it with your file tools.</attached_file>`
  }
  const cut =
    note.fullChars !== undefined && note.fullChars > note.text.length
      ? ` cut="the first ${note.text.length.toLocaleString('en')} of ${note.fullChars.toLocaleString('en')} characters"`
      : ''
  return `<attached_file name="${name}"${cut}>\n${note.text.replace(CLOSING_TAG, '<\\/attached_file')}\n</attached_file>`
}

/**
 * The person's message as Letta takes it: their own words first, as typed; each attached file
 * as a text part of its own, marked as attached material; then the images (Letta's base64
 * image source, which every Letta with image input reads).
 */
export function userMessage(text: string, images: ImagePart[], files: FileNote[]): MessageCreate {
  const otid = crypto.randomUUID()
  if (images.length === 0 && files.length === 0) return { role: 'user', content: text, otid }
  return {
    role: 'user',
    otid,
    content: [
      { type: 'text', text },
      ...files.map((note) => ({ type: 'text' as const, text: fileText(note) })),
      ...images.map((image) => ({
        type: 'image' as const,
        source: { type: 'base64' as const, media_type: image.mediaType, data: image.data },
      })),
    ],
  }
}
