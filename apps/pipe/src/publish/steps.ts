import type { TemplateInfo } from '@letta-openwebui/events'
import type { AccessGrant, OpenWebUIClient } from './openwebui.ts'

export class PublishError extends Error {
  override name = 'PublishError'
}

export type PublishPlan = {
  functionId: string
  functionName: string
  description: string
  /** The generated pipe, exactly as committed. */
  content: string
  /** Where OpenWebUI reaches the bridge, and the key the pipe sends it. */
  valves: { SERVER_URL: string; API_KEY: string }
  templates: TemplateInfo[]
  /** Give every user read access to the template models (else only admins see them). */
  publicModels: boolean
}

/** What one step did; `changed: false` lines make a second run say that nothing changed. */
export type StepResult = { changed: boolean; line: string }

/** "Everyone may read": what Admin → Models → Public stores. */
export const PUBLIC_READ: AccessGrant = {
  principal_type: 'user',
  principal_id: '*',
  permission: 'read',
}

const isPublicRead = (grant: AccessGrant) =>
  grant.principal_type === PUBLIC_READ.principal_type &&
  grant.principal_id === PUBLIC_READ.principal_id &&
  grant.permission === PUBLIC_READ.permission

/** Creates the function, or updates it when its content or name differ. New functions start inactive. */
export async function installFunction(
  owui: OpenWebUIClient,
  plan: PublishPlan,
): Promise<StepResult> {
  const form = {
    id: plan.functionId,
    name: plan.functionName,
    content: plan.content,
    meta: { description: plan.description },
  }
  const existing = await owui.getFunction(plan.functionId)
  if (!existing) {
    await owui.createFunction(form)
    return { changed: true, line: `created function "${plan.functionId}"` }
  }
  if (existing.content === plan.content && existing.name === plan.functionName) {
    return { changed: false, line: `function "${plan.functionId}" is already the current pipe` }
  }
  await owui.updateFunction(form)
  return { changed: true, line: `updated function "${plan.functionId}" to the current pipe` }
}

/** Sets SERVER_URL and API_KEY, keeping every other valve an admin has set. */
export async function setValves(owui: OpenWebUIClient, plan: PublishPlan): Promise<StepResult> {
  const current = await owui.getValves(plan.functionId)
  const described = `SERVER_URL=${plan.valves.SERVER_URL}, API_KEY=${plan.valves.API_KEY ? '(set)' : '(empty)'}`
  if (current.SERVER_URL === plan.valves.SERVER_URL && current.API_KEY === plan.valves.API_KEY) {
    return { changed: false, line: `valves already set (${described})` }
  }
  await owui.setValves(plan.functionId, { ...current, ...plan.valves })
  return { changed: true, line: `set valves ${described}` }
}

/** Enables the function. OpenWebUI's toggle flips, so the current state is read first. */
export async function enableFunction(
  owui: OpenWebUIClient,
  plan: PublishPlan,
): Promise<StepResult> {
  const current = await owui.getFunction(plan.functionId)
  if (!current) throw new PublishError(`function "${plan.functionId}" vanished while publishing`)
  if (current.is_active) return { changed: false, line: `function "${plan.functionId}" is enabled` }
  const toggled = await owui.toggleFunction(plan.functionId)
  if (!toggled.is_active) {
    throw new PublishError(
      `OpenWebUI did not enable function "${plan.functionId}": enable it under Admin Panel → Functions.`,
    )
  }
  return { changed: true, line: `enabled function "${plan.functionId}"` }
}

/**
 * Checks that OpenWebUI offers one model per template, and returns their display names.
 * A missing model means the pipe inside OpenWebUI cannot list the bridge's templates.
 */
export async function checkModels(
  owui: OpenWebUIClient,
  plan: PublishPlan,
): Promise<Map<string, string>> {
  const listed = await owui.listModels()
  const names = new Map(listed.map((model) => [model.id, model.name]))
  const missing = plan.templates
    .map((template) => `${plan.functionId}.${template.name}`)
    .filter((id) => !names.has(id))
  if (missing.length > 0) {
    const ours = listed.filter((model) => model.id.startsWith(`${plan.functionId}.`))
    if (ours.length === 0) {
      throw new PublishError(
        `OpenWebUI lists no model of function "${plan.functionId}": check that it is enabled under Admin Panel → Functions.`,
      )
    }
    throw new PublishError(
      `OpenWebUI lists no model ${missing.join(', ')}; the pipe lists: ${ours.map((m) => m.name).join(', ')}. Check that SERVER_URL (${plan.valves.SERVER_URL}) is the bridge as OpenWebUI reaches it (--server-url).`,
    )
  }
  return names
}

/** Gives every user read access to each template model (Admin → Models → Public). */
export async function publishModels(
  owui: OpenWebUIClient,
  plan: PublishPlan,
  names: Map<string, string>,
): Promise<StepResult[]> {
  const results: StepResult[] = []
  for (const template of plan.templates) {
    const id = `${plan.functionId}.${template.name}`
    const name = names.get(id) ?? template.title
    const existing = await owui.getModel(id)
    if (!existing) {
      await owui.createModel({
        id,
        name,
        meta: { description: template.description },
        access_grants: [PUBLIC_READ],
      })
      results.push({ changed: true, line: `made model "${id}" visible to every user` })
      continue
    }
    const grants = (existing.access_grants ?? []).map(
      ({ principal_type, principal_id, permission }) => ({
        principal_type,
        principal_id,
        permission,
      }),
    )
    if (grants.some(isPublicRead)) {
      results.push({ changed: false, line: `model "${id}" is visible to every user` })
      continue
    }
    await owui.setModelAccess(id, existing.name, [...grants, PUBLIC_READ])
    results.push({ changed: true, line: `made model "${id}" visible to every user` })
  }
  return results
}
