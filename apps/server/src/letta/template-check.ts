import type { TemplateCatalog } from '../templates.ts'
import type { Letta } from './client.ts'

/** Handles named in a problem line: enough to see the pattern (e.g. `openai-proxy/…`). */
const HANDLES_SHOWN = 8
/** /health waits on this too: a Letta that lists slowly is reported as fitting, not awaited. */
const LIST_TIMEOUT_MS = 2_000

/**
 * Whether Letta offers every template's model and embedding handle. A self-hosted Letta whose
 * OpenAI base URL is not api.openai.com names its models `openai-proxy/<model>`, so the same
 * template that works on Letta Cloud is refused there: say so before the first student finds
 * out. One readable line per problem; none when everything fits, or when Letta cannot list
 * its models (then agent creation is the judge).
 */
export async function templateProblems(letta: Letta, catalog: TemplateCatalog): Promise<string[]> {
  let llm: string[]
  let embedding: string[]
  try {
    const [models, embeddings] = await Promise.all([
      letta.models.list(undefined, { maxRetries: 0, timeout: LIST_TIMEOUT_MS }),
      letta.models.embeddings.list({ maxRetries: 0, timeout: LIST_TIMEOUT_MS }),
    ])
    llm = handles(models)
    embedding = handles(embeddings)
  } catch {
    return []
  }
  const problems: string[] = []
  for (const template of catalog.templates()) {
    if (!llm.includes(template.model)) {
      problems.push(offer(template.name, 'model', template.model, llm))
    }
    if (template.embedding && !embedding.includes(template.embedding)) {
      problems.push(offer(template.name, 'embedding', template.embedding, embedding))
    }
  }
  return problems
}

function handles(models: Array<{ handle?: string | null }>): string[] {
  return models.map((model) => model.handle).filter((handle): handle is string => !!handle)
}

function offer(template: string, kind: string, handle: string, offered: string[]): string {
  const shown = offered.slice(0, HANDLES_SHOWN).join(', ')
  const more = offered.length > HANDLES_SHOWN ? `, … (${offered.length} in all)` : ''
  return `template "${template}": Letta offers no ${kind} "${handle}"; it offers: ${shown || 'none'}${more}`
}
