import { ROUTES, TemplateList } from '@letta-openwebui/events'
import { Elysia } from 'elysia'
import type { TemplateCatalog } from '../templates.ts'

/** The agent templates, one OpenWebUI model each. */
export const templates = (catalog: TemplateCatalog) =>
  new Elysia({ name: 'templates' }).get(ROUTES.templates, () => catalog.list(), {
    response: TemplateList,
    detail: { summary: 'Agent templates (one OpenWebUI model each)' },
  })
