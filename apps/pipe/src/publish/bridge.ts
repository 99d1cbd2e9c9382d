import type { TemplateList } from '@letta-openwebui/events'
import { ROUTES } from '@letta-openwebui/events'
import { networkReason } from './openwebui.ts'

export class BridgeError extends Error {
  override name = 'BridgeError'
}

/** The bridge answers its template list at once; anything slower is a bridge problem. */
const TEMPLATES_TIMEOUT_MS = 10_000

/** The agent templates the bridge offers: OpenWebUI must list one model per template. */
export async function fetchTemplates(bridgeUrl: string, apiKey: string): Promise<TemplateList> {
  const url = bridgeUrl.replace(/\/+$/, '') + ROUTES.templates
  let response: Response
  try {
    response = await fetch(url, {
      headers: apiKey ? { Authorization: `Bearer ${apiKey}` } : {},
      signal: AbortSignal.timeout(TEMPLATES_TIMEOUT_MS),
    })
  } catch (error) {
    throw new BridgeError(
      `Cannot reach the bridge at ${bridgeUrl} for its template list (${networkReason(error)}): start it, or set BRIDGE_URL.`,
    )
  }
  if (response.status === 401) {
    throw new BridgeError(
      `The bridge at ${bridgeUrl} refused BRIDGE_API_KEY: set it to the key the bridge runs with.`,
    )
  }
  const body = (await response.json().catch(() => undefined)) as TemplateList | undefined
  if (!response.ok || !Array.isArray(body?.templates)) {
    throw new BridgeError(
      `${url} did not answer a template list (HTTP ${response.status}): is BRIDGE_URL the letta-openwebui bridge?`,
    )
  }
  return body
}
