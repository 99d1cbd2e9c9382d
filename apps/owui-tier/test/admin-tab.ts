import { afterAll, beforeAll } from 'bun:test'
import type { AdminTab } from '../src/stack.ts'
import { openAdminTab } from '../src/stack.ts'

/**
 * For one test file: the tier's stack and an admin's browser tab on it, opened before the file's
 * tests (OpenWebUI may take minutes to answer on two busy cores) and closed after them. The
 * fields are there once the tests run.
 */
export function adminTab(): AdminTab {
  const tier = {} as AdminTab
  beforeAll(async () => {
    Object.assign(tier, await openAdminTab())
  }, 180_000)
  afterAll(() => tier.tab?.close())
  return tier
}
