/** What `GET /v1/models` and `GET /v1/models/embedding` list; agent creation checks against it. */
export type ModelCatalog = { llm: readonly string[]; embedding: readonly string[] }

/**
 * A Letta whose provider is OpenAI itself. A self-hosted Letta pointed at another
 * OpenAI-compatible endpoint names the same models `openai-proxy/<model>` instead.
 */
export const DEFAULT_MODELS: ModelCatalog = {
  llm: ['openai/gpt-4o-mini', 'openai/gpt-4o', 'letta/letta-free'],
  embedding: ['openai/text-embedding-3-small', 'letta/letta-free'],
}

function splitHandle(handle: string): { provider: string; model: string } {
  const slash = handle.indexOf('/')
  return { provider: handle.slice(0, slash), model: handle.slice(slash + 1) }
}

/** Letta's `Model` (an LLMConfig with display fields), as much of it as clients read. */
export function llmModel(handle: string) {
  const { provider, model } = splitHandle(handle)
  return {
    model,
    model_endpoint_type: provider === 'letta' ? 'openai' : provider.replace('-proxy', ''),
    context_window: 128_000,
    handle,
    name: model,
    display_name: model,
    provider_name: provider,
    provider_type: provider.replace('-proxy', ''),
    model_type: 'llm',
  }
}

/** Letta's `EmbeddingModel`. */
export function embeddingModel(handle: string) {
  const { provider, model } = splitHandle(handle)
  return {
    embedding_model: model,
    embedding_endpoint_type: provider === 'letta' ? 'openai' : provider.replace('-proxy', ''),
    embedding_dim: 1536,
    handle,
    name: model,
    display_name: model,
    provider_name: provider,
    provider_type: provider.replace('-proxy', ''),
    model_type: 'embedding',
  }
}

/**
 * Letta's answer when an agent names a handle it does not offer: `HandleNotFoundError` (404)
 * for the model, `LettaInvalidArgumentError` (400) for the embedding; `str()` prefixes the code.
 */
export function unknownHandle(
  catalog: ModelCatalog,
  init: { model?: unknown; embedding?: unknown },
): { status: number; detail: string } | undefined {
  if (typeof init.model === 'string' && !catalog.llm.includes(init.model)) {
    return { status: 404, detail: `NOT_FOUND: Handle ${init.model} not found, must be one of []` }
  }
  if (typeof init.embedding === 'string' && !catalog.embedding.includes(init.embedding)) {
    return {
      status: 400,
      detail: `INVALID_ARGUMENT: Embedding model ${init.embedding} not found`,
    }
  }
  return undefined
}
