import Letta from '@letta-ai/letta-client'

/** Calls that are not streams (agent lookup, cancel, health) give up after this long. */
const REQUEST_TIMEOUT_MS = 30_000

/**
 * The only way the bridge reaches Letta. `maxRetries: 0`: the SDK would otherwise re-POST a
 * message on 409/429/5xx and write it twice into the agent's permanent memory. Redirects are
 * not followed: a redirect would re-send the student's message and ids to another address,
 * so a 3xx is reported as a configuration error instead.
 */
export function createLettaClient(letta: { baseUrl: string; apiKey?: string }): Letta {
  return new Letta({
    baseURL: letta.baseUrl,
    apiKey: letta.apiKey ?? 'no-key',
    maxRetries: 0,
    timeout: REQUEST_TIMEOUT_MS,
    logLevel: 'off',
    fetchOptions: { redirect: 'manual' },
  })
}

export type { Letta }
