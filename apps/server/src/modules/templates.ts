import { ROUTES, TemplateList } from '@letta-openwebui/events'
import { Elysia } from 'elysia'
import type { TemplateCatalog } from '../templates.ts'
import { auth } from './auth.ts'

/** The agent templates, one OpenWebUI model each. */
export const templates = (catalog: TemplateCatalog, bridgeApiKey: string | undefined) =>
  new Elysia({ name: 'templates' })
    .use(auth(bridgeApiKey))
    .get(ROUTES.templates, () => catalog.list(), {
      bridgeAuth: true,
      response: TemplateList,
      detail: { summary: 'Agent templates (one OpenWebUI model each)' },
    })
