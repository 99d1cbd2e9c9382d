import { createHash, timingSafeEqual } from 'node:crypto'
import { errorBody } from '@letta-openwebui/events'
import { Elysia } from 'elysia'

/** Everything under here needs `Authorization: Bearer <BRIDGE_API_KEY>`. */
export const PROTECTED_PREFIX = '/v1/'

const digest = (text: string) => createHash('sha256').update(text).digest()

/**
 * Whether a request carries the bridge's key. Both sides are hashed first so the comparison
 * takes the same time whatever the length. With no key configured (an explicit local dev run)
 * every request does.
 */
export function keyChecker(bridgeApiKey: string | undefined): (headers: Headers) => boolean {
  const expected = bridgeApiKey ? digest(bridgeApiKey) : undefined
  return (headers) => {
    if (!expected) return true
    const header = headers.get('authorization') ?? ''
    const token = header.startsWith('Bearer ') ? header.slice(7).trim() : ''
    return token !== '' && timingSafeEqual(digest(token), expected)
  }
}

/**
 * The key is checked before anything else: in `onRequest`, which Elysia runs before it reads,
 * parses or validates the body. A caller without the key learns nothing (no schema details, no
 * protocol version, no template names) and costs the bridge nothing but this check.
 */
export const auth = (bridgeApiKey: string | undefined) => {
  const authorized = keyChecker(bridgeApiKey)
  return new Elysia({ name: 'auth', seed: bridgeApiKey ? 'on' : 'off' }).onRequest(
    ({ request, set }) => {
      const path = request.url.slice(request.url.indexOf('/', request.url.indexOf('//') + 2))
      if (!path.startsWith(PROTECTED_PREFIX) || authorized(request.headers)) return
      set.status = 401
      return errorBody('unauthorized')
    },
  )
}
