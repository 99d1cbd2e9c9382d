import { readFileSync } from 'node:fs'
import type { TemplateInfo, TemplateList } from '@letta-openwebui/events'
import { FILE_MODES, literalUnion, TemplateName } from '@letta-openwebui/events'
import type { Static } from '@sinclair/typebox'
import { Type } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import catalogJson from '../config/templates.json'
import { ConfigError } from './config.ts'

const AgentTemplate = Type.Object({
  name: TemplateName,
  title: Type.String({ minLength: 1, maxLength: 60 }),
  description: Type.String({ maxLength: 300 }),
  model: Type.String({ minLength: 1, description: 'Letta model handle, e.g. openai/gpt-4o-mini.' }),
  /** Optional: a Letta without an embedding endpoint rejects every handle; it then picks none. */
  embedding: Type.Optional(
    Type.String({ minLength: 1, description: 'Letta embedding handle; omit to let Letta decide.' }),
  ),
  persona: Type.String({ minLength: 1, description: 'The agent persona memory block.' }),
  human: Type.String({ description: 'Starting text of the block the agent keeps about the user.' }),
  tools: Type.Array(Type.String(), { description: 'Extra Letta tools, by name.' }),
  requireApproval: Type.Optional(
    Type.Array(Type.String({ minLength: 1 }), {
      description:
        "Tools the agent may use only after the person approves each call (Letta's requires_approval tool rule; agents created from this template on).",
    }),
  ),
  images: Type.Optional(
    Type.Boolean({
      default: false,
      description:
        'Whether the model can see: images people attach are sent to it; otherwise a message with one gets a sentence saying this agent cannot see images.',
    }),
  ),
  files: Type.Optional(
    literalUnion(FILE_MODES, {
      default: 'inline',
      description:
        "Where attached files go: inline (their text with the message, cut to a budget) or folder (the agent's Letta folder, searched with its file tools; needs an embedding). The pipe's FILE_MODE valve may choose instead.",
    }),
  ),
  memoryCommand: Type.Optional(
    Type.Boolean({
      default: true,
      description: 'Whether people may see and edit the agent’s memory with /memory in the chat.',
    }),
  ),
})
export type AgentTemplate = Static<typeof AgentTemplate>

const Catalog = Type.Object({
  defaultTemplate: TemplateName,
  templates: Type.Array(AgentTemplate, { minItems: 1 }),
})

/** Where the built-in catalog comes from, for error messages. */
const BUILT_IN = 'config/templates.json'

/** The agent templates: version-controlled config/templates.json, or an operator's file. */
export class TemplateCatalog {
  private readonly byName: Map<string, AgentTemplate>
  readonly defaultTemplate: string

  constructor(source: unknown = catalogJson, origin = BUILT_IN) {
    if (!Value.Check(Catalog, source)) {
      const problem = [...Value.Errors(Catalog, source)][0]
      throw new Error(`${origin} is invalid at ${problem?.path}: ${problem?.message}`)
    }
    this.byName = new Map(source.templates.map((template) => [template.name, template]))
    if (!this.byName.has(source.defaultTemplate)) {
      throw new Error(`${origin}: default template "${source.defaultTemplate}" is not defined`)
    }
    this.defaultTemplate = source.defaultTemplate
  }

  get(name: string): AgentTemplate | undefined {
    return this.byName.get(name)
  }

  templates(): AgentTemplate[] {
    return [...this.byName.values()]
  }

  list(): TemplateList {
    const templates: TemplateInfo[] = [...this.byName.values()].map(
      ({ name, title, description }) => ({
        name,
        title,
        description,
      }),
    )
    return { templates, defaultTemplate: this.defaultTemplate }
  }
}

/** Reads an operator's catalog (TEMPLATES_FILE), validated like the built-in one. */
export function loadTemplateCatalog(path: string): TemplateCatalog {
  let source: unknown
  try {
    source = JSON.parse(readFileSync(path, 'utf8'))
  } catch (error) {
    throw new ConfigError(`TEMPLATES_FILE: ${path}: ${(error as Error).message}`)
  }
  try {
    return new TemplateCatalog(source, path)
  } catch (error) {
    throw new ConfigError(`TEMPLATES_FILE: ${(error as Error).message}`)
  }
}
