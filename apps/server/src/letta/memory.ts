import type { ChatUser, ErrorBody, MemoryBlock, MemoryView } from '@letta-openwebui/events'
import { errorBody } from '@letta-openwebui/events'
import type { TemplateCatalog } from '../templates.ts'
import type { AgentDirectory } from './agents.ts'
import type { Letta } from './client.ts'

/** A refusal the person reads, with the HTTP status the bridge answers it with. */
export class MemoryRefused extends Error {
  constructor(
    readonly status: number,
    readonly body: ErrorBody,
  ) {
    super(body.code)
  }
}

type LettaBlock = {
  label?: string | null
  value: string
  limit?: number | null
  description?: string | null
  read_only?: boolean | null
}

/** Letta's default per-block character limit (CORE_MEMORY_BLOCK_CHAR_LIMIT), for blocks that say none. */
const DEFAULT_BLOCK_LIMIT = 100_000

function view(block: LettaBlock): MemoryBlock {
  return {
    label: block.label ?? '',
    description: block.description ?? '',
    value: block.value,
    limit: block.limit ?? DEFAULT_BLOCK_LIMIT,
    readOnly: block.read_only === true,
  }
}

/**
 * The person's own agent's memory blocks (`/memory` in the chat), read and edited without a
 * Letta run and without touching any thread. Letta's block API enforces neither the block's
 * limit nor `read_only` (which only binds the agent's tools), so the bridge does, before it
 * writes. The agent is the one the person chats with: found (or created) by AgentDirectory, so
 * nobody reaches anybody else's memory.
 */
export class MemoryService {
  constructor(
    private readonly letta: Letta,
    private readonly agents: AgentDirectory,
    private readonly templates: TemplateCatalog,
    /** Told after every saved edit: the agent's conversations must see it. */
    private readonly onChanged: (agentId: string) => void = () => {},
  ) {}

  async blocks(user: ChatUser, templateName: string | undefined): Promise<MemoryView> {
    const { template, agentId } = await this.agentOf(user, templateName)
    return { template, blocks: (await this.list(agentId)).map(view) }
  }

  async update(
    user: ChatUser,
    templateName: string | undefined,
    label: string,
    value: string,
  ): Promise<MemoryBlock> {
    const { agentId } = await this.agentOf(user, templateName)
    const current = (await this.list(agentId)).find((block) => block.label === label)
    if (!current) {
      throw new MemoryRefused(
        404,
        errorBody(
          'memory_block_not_found',
          `Your agent has no memory block called "${label}". Send /memory to see its blocks.`,
        ),
      )
    }
    const block = view(current)
    if (block.readOnly) {
      throw new MemoryRefused(
        409,
        errorBody('memory_read_only', `The "${label}" memory block is read-only.`),
      )
    }
    // Letta counts characters (Python's len), not UTF-16 units: an emoji is one.
    const characters = [...value].length
    if (characters > block.limit) {
      throw new MemoryRefused(
        422,
        errorBody(
          'memory_too_long',
          `The "${label}" memory block holds at most ${block.limit} characters; this is ${characters}. Please shorten it.`,
        ),
      )
    }
    const saved = await this.letta.agents.blocks.update(
      label,
      { agent_id: agentId, value },
      { maxRetries: 0 },
    )
    this.onChanged(agentId)
    return view(saved)
  }

  private async agentOf(user: ChatUser, templateName: string | undefined) {
    const template = templateName ?? this.templates.defaultTemplate
    if (this.templates.get(template)?.memoryCommand === false) {
      throw new MemoryRefused(403, errorBody('memory_disabled'))
    }
    return { template, agentId: await this.agents.resolve(user, template) }
  }

  private async list(agentId: string): Promise<LettaBlock[]> {
    const page = await this.letta.agents.blocks.list(agentId, undefined, { maxRetries: 0 })
    return page.getPaginatedItems()
  }
}
