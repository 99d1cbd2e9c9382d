import { describe, expect, it } from 'bun:test'
import { join } from 'node:path'

const DRIVER = join(import.meta.dir, 'soak/driver.ts')

type Phase = {
  conversations: number
  seconds: number
  before: { rssMb: number; heapMb: number }
  after: { rssMb: number; heapMb: number }
}

describe('soak: 20,000 sequential and 500 concurrent short conversations', () => {
  it('answers every one, leaves nothing running, one agent per user, and the heap stays flat', async () => {
    const child = Bun.spawn(['bun', DRIVER], {
      env: { ...process.env, BUN_CONFIG_MAX_HTTP_REQUESTS: '65535' },
      stdout: 'pipe',
      stderr: 'inherit',
    })
    const output = await new Response(child.stdout).text()
    expect(await child.exited).toBe(0)
    const report = JSON.parse(output.trim().split('\n').at(-1) ?? '{}')
    const { sequential, concurrent } = report as { sequential: Phase; concurrent: Phase }
    for (const [name, phase] of Object.entries({ sequential, concurrent }))
      console.info(
        `[soak] ${name}: ${phase.conversations} conversations in ${phase.seconds.toFixed(1)} s; heap ${phase.before.heapMb} → ${phase.after.heapMb} MB, rss ${phase.before.rssMb} → ${phase.after.rssMb} MB`,
      )

    expect(report.failures).toEqual([])
    expect(report.failureCount).toBe(0)
    expect(report.agentsInLetta).toBe(report.usersSeen)
    expect(report.activeTurns).toBe(0)
    expect(report.openUpstreamsSettled).toBe(true)
    expect(report.simStreamsActive).toBe(0)
    // 2 MB over 20,000 conversations is 100 bytes each: a leaked Set per turn is caught.
    expect(sequential.after.heapMb - sequential.before.heapMb).toBeLessThan(2)
    expect(concurrent.after.heapMb - concurrent.before.heapMb).toBeLessThan(2)
  }, 240_000)
})
