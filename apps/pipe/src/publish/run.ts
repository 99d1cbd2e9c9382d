import { fetchTemplates } from './bridge.ts'
import { createOpenWebUIClient, OpenWebUIError } from './openwebui.ts'
import type { PublishOptions } from './options.ts'
import type { PublishPlan, StepResult } from './steps.ts'
import { checkModels, enableFunction, installFunction, publishModels, setValves } from './steps.ts'

/** The frontmatter line `key: value` of the generated pipe. */
const frontmatter = (content: string, key: string) =>
  content.match(new RegExp(`^${key}: (.*)$`, 'm'))?.[1]?.trim() ?? ''

/**
 * Installs or updates the pipe in OpenWebUI, step by step, reporting one line per step.
 * Returns whether anything changed; throws OpenWebUIError, BridgeError or PublishError.
 */
export async function publish(
  options: PublishOptions,
  content: string,
  report: (line: string) => void,
): Promise<{ changed: boolean }> {
  const owui = createOpenWebUIClient({ url: options.openwebuiUrl, apiKey: options.openwebuiApiKey })
  const version = await owui.version()
  const user = await owui.sessionUser()
  if (user.role !== 'admin') {
    throw new OpenWebUIError(
      'not_admin',
      `OPENWEBUI_API_KEY belongs to ${user.email}, who is not an admin: functions can only be installed with an admin's API key.`,
    )
  }
  report(`OpenWebUI ${version} at ${owui.url}, as admin ${user.email}`)
  const { templates } = await fetchTemplates(options.bridgeUrl, options.bridgeApiKey)
  report(`bridge at ${options.bridgeUrl} offers: ${templates.map((t) => t.name).join(', ')}`)

  const plan: PublishPlan = {
    functionId: options.functionId,
    functionName: frontmatter(content, 'title') || 'Letta Agent',
    description: frontmatter(content, 'description'),
    content,
    valves: { SERVER_URL: options.serverUrl, API_KEY: options.pipeApiKey },
    templates,
    publicModels: options.publicModels,
  }
  const results: StepResult[] = []
  const step = (result: StepResult) => {
    results.push(result)
    report(result.line)
  }
  step(await installFunction(owui, plan))
  step(await setValves(owui, plan))
  step(await enableFunction(owui, plan))
  const names = await checkModels(owui, plan)
  if (plan.publicModels) for (const result of await publishModels(owui, plan, names)) step(result)
  else report('models left as they are (--private-models): only admins see new ones')
  const ids = templates.map((t) => `${plan.functionId}.${t.name}`).join(', ')
  report(`OpenWebUI lists ${ids}`)
  return { changed: results.some((result) => result.changed) }
}
