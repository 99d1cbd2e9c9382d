import { createHash, timingSafeEqual } from 'node:crypto'
import { errorBody } from '@letta-openwebui/events'
import { Elysia } from 'elysia'

const digest = (text: string) => createHash('sha256').update(text).digest()

/**
 * `{ bridgeAuth: true }` on a route requires `Authorization: Bearer <BRIDGE_API_KEY>`.
 * Both sides are hashed first so the comparison takes the same time whatever the length.
 * With no key configured (explicit local dev run) every request passes.
 */
export const auth = (bridgeApiKey: string | undefined) => {
  const expected = bridgeApiKey ? digest(bridgeApiKey) : undefined
  return new Elysia({ name: 'auth', seed: bridgeApiKey ? 'on' : 'off' }).macro({
    bridgeAuth: {
      beforeHandle({ headers, status }) {
        if (!expected) return
        const header = headers.authorization ?? ''
        const token = header.startsWith('Bearer ') ? header.slice(7).trim() : ''
        if (!token || !timingSafeEqual(digest(token), expected)) {
          return status(401, errorBody('unauthorized'))
        }
      },
    },
  })
}
