import { APIError } from '@letta-ai/letta-client'
import type { AgentCreateParams, AgentState } from '@letta-ai/letta-client/resources/agents/agents'
import type { ChatUser } from '@letta-openwebui/events'
import type { Logger } from '../log.ts'
import type { Leases } from '../replicas/leases.ts'
import { LocalLeases, leaseKey } from '../replicas/leases.ts'
import type { TemplateCatalog } from '../templates.ts'
import type { Letta } from './client.ts'
import { TemplateRejected } from './errors.ts'

/** Tags that find a user's agent again after a restart (Letta identities are deprecated). */
export function agentTags(userId: string, template: string): string[] {
  return [`owui-user:${userId}`, `template:${template}`]
}

/** A marker tag for every agent this bridge creates, so an admin can list them. */
export const BRIDGE_TAG = 'letta-openwebui'

/** Metadata keys naming an agent's owner and template, checked together with the tags. */
const OWNER_KEY = 'owui_user_id'
const TEMPLATE_KEY = 'template'

/** Letta's refusal, as much of it as a log line needs (it may list every handle it has). */
const MAX_DETAIL_CHARS = 1_000

/** Agents looked at per lookup: a user has one per template, the rest would be foreign. */
const LOOKUP_LIMIT = 20

/**
 * How long a replica waits for another one that is creating the same person's agent (Letta
 * creates one in well under a second; a lease left by a crashed replica expires in 30 s).
 */
export const CREATION_WAIT_MS = 45_000
/** Pause between two looks for the agent another replica is creating. */
const CREATION_POLL_MS = 200

/** Whether an agent carries this user's and template's tags and metadata, all of them. */
export function ownedBy(
  agent: Pick<AgentState, 'tags' | 'metadata'>,
  userId: string,
  template: string,
): boolean {
  const tags = agent.tags ?? []
  const metadata = agent.metadata ?? {}
  return (
    agentTags(userId, template).every((tag) => tags.includes(tag)) &&
    metadata[OWNER_KEY] === userId &&
    metadata[TEMPLATE_KEY] === template
  )
}

/**
 * One Letta agent per (OpenWebUI user, template): found by tags, created from the template on
 * first use, cached. Lookups are single-flight per key, so two first messages create one agent.
 * An agent is used, and cached, only once its tags and metadata show it is the user's own.
 */
export class AgentDirectory {
  private readonly cache = new Map<string, string>()
  private readonly pending = new Map<string, Promise<string>>()

  constructor(
    private readonly letta: Letta,
    private readonly templates: TemplateCatalog,
    private readonly logger: Logger,
    /** One creation per person and template at a time, across replicas on a shared Redis. */
    private readonly leases: Leases = new LocalLeases(),
    private readonly onCreated: () => void = () => {},
  ) {}

  resolve(user: ChatUser, template: string): Promise<string> {
    const key = `${template}\u0000${user.id}`
    const cached = this.cache.get(key)
    if (cached) return Promise.resolve(cached)
    let lookup = this.pending.get(key)
    if (!lookup) {
      lookup = this.findOrCreate(user, template)
        .then((agentId) => {
          this.cache.set(key, agentId)
          return agentId
        })
        .finally(() => this.pending.delete(key))
      this.pending.set(key, lookup)
    }
    return lookup
  }

  /** Drops a cached agent id, e.g. after Letta answered 404 for it. */
  forget(userId: string, template: string): void {
    this.cache.delete(`${template}\u0000${userId}`)
  }

  get size(): number {
    return this.cache.size
  }

  /**
   * The person's agent, created if it does not exist. Whoever holds the creation lease for the
   * person and template creates it (after looking once more); the others wait for it to appear.
   */
  private async findOrCreate(user: ChatUser, templateName: string): Promise<string> {
    const deadline = Date.now() + CREATION_WAIT_MS
    for (;;) {
      const found = await this.find(user, templateName)
      if (found) return found
      const lease = await this.leases.take(leaseKey('agent-create', templateName, user.id))
      if (lease) {
        try {
          // Another replica may have created it between the first look and the lease.
          const created = this.leases.shared ? await this.find(user, templateName) : undefined
          return created ?? (await this.createFor(user, templateName))
        } finally {
          await lease.release()
        }
      }
      if (Date.now() > deadline) {
        throw new Error('another bridge replica is still creating this agent')
      }
      await Bun.sleep(CREATION_POLL_MS)
    }
  }

  /** The person's own agent for the template, if Letta has one. */
  private async find(user: ChatUser, templateName: string): Promise<string | undefined> {
    const tags = agentTags(user.id, templateName)
    const page = await this.letta.agents.list({
      tags,
      match_all_tags: true,
      include: ['agent.tags'],
      limit: LOOKUP_LIMIT,
    })
    const agents = page.getPaginatedItems()
    const owned = agents.find((agent) => ownedBy(agent, user.id, templateName))
    // A Letta that ignores the tag filter, or an agent tagged by mistake, must never let one
    // person talk to another's agent: whatever does not carry this user's marks is skipped.
    const foreign = agents.filter(
      (agent) => agent !== owned && !ownedBy(agent, user.id, templateName),
    )
    if (foreign.length > 0) {
      this.logger.warn('Letta returned agents that do not belong to the user; ignored', {
        userId: user.id,
        template: templateName,
        ignored: foreign.length,
      })
    }
    return owned?.id
  }

  private async createFor(user: ChatUser, templateName: string): Promise<string> {
    const tags = agentTags(user.id, templateName)
    const template = this.templates.get(templateName)
    if (!template) throw new Error(`unknown template ${templateName}`)
    const human = user.name ? `${template.human}\nName: ${user.name}` : template.human
    const agent = await this.create(templateName, {
      name: `${templateName}-${user.id}`.slice(0, 100),
      model: template.model,
      embedding: template.embedding,
      memory_blocks: [
        { label: 'persona', value: template.persona },
        { label: 'human', value: human },
      ],
      tools: template.tools.length > 0 ? template.tools : undefined,
      ...(template.requireApproval?.length
        ? {
            tool_rules: template.requireApproval.map((tool_name) => ({
              type: 'requires_approval' as const,
              tool_name,
            })),
          }
        : {}),
      tags: [...tags, BRIDGE_TAG],
      metadata: { [OWNER_KEY]: user.id, [TEMPLATE_KEY]: templateName },
    })
    if (!ownedBy(agent, user.id, templateName)) {
      throw new Error('Letta created an agent without the tags and metadata it was given')
    }
    this.onCreated()
    this.logger.info('agent created', {
      userId: user.id,
      template: templateName,
      agentId: agent.id,
    })
    return agent.id
  }

  /** Letta's 4xx (other than auth and rate limits) means the template does not fit this Letta. */
  private async create(template: string, params: AgentCreateParams): Promise<AgentState> {
    try {
      return await this.letta.agents.create(params)
    } catch (error) {
      if (
        error instanceof APIError &&
        error.status !== undefined &&
        error.status >= 400 &&
        error.status < 500 &&
        ![401, 403, 408, 429].includes(error.status)
      ) {
        const body = error.error as { detail?: unknown } | undefined
        const detail = typeof body?.detail === 'string' ? body.detail : JSON.stringify(body ?? {})
        throw new TemplateRejected(template, error.status, detail.slice(0, MAX_DETAIL_CHARS))
      }
      throw error
    }
  }
}
