import { resolve } from 'node:path'

const REPO_ROOT = resolve(import.meta.dir, '../../..')

export type PublishRun = { code: number; stdout: string; stderr: string }

/** Runs the real `bun run publish` from the repo root, as an admin would. */
export async function runPublish(env: Record<string, string>, args: string[] = []) {
  const child = Bun.spawn(['bun', 'run', '--silent', 'publish', ...args], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ])
  return { code, stdout, stderr } satisfies PublishRun
}
