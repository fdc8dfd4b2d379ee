import { describe, expect, it } from '@jest/globals'
import { QUICK_BENCH_TIMEOUT_MS, QUICK_GROUPS, quickBench, systemsOf } from '../helpers/quick-bench.ts'

describe(`npm run bench -- --quick --only ${QUICK_GROUPS.lanes.join(',')}`, () => {
  it('measures votes under bulk, windows over delay, reconnects and a dead peer\'s memory', async () => {
    const report = await quickBench([...QUICK_GROUPS.lanes])
    // hol: vote latency and bulk rate for both bulk sizes; no vote lost on the control lane
    const hol = report.results.filter(r => r.scenario === 'hol')
    expect(systemsOf(report, 'hol')).toEqual(expect.arrayContaining(['mirnet', 'mirnet-idle-link', 'single-lane']))
    expect(hol.filter(r => r.system === 'mirnet').map(r => r.payloadBytes)).toEqual([64 * 1024, 1024 * 1024])
    for (const r of hol) {
      expect(r.p99Ms).toEqual(expect.any(Number))
      if (r.system !== 'mirnet-idle-link') expect(r.mbPerSec as number).toBeGreaterThan(0)
      if (r.system !== 'single-lane') expect(r.droppedMessages).toBe(0)
    }
    // wan: both windows at each RTT, through the delay proxies
    const wan = report.results.filter(r => r.scenario === 'wan')
    expect(wan.map(r => `${String(r.system)}@${String(r.rttMs)}`).sort()).toEqual(
      [0, 50, 100].flatMap(rtt => [`mirnet-window-default@${rtt}`, `mirnet-window-unbounded@${rtt}`]).sort())
    for (const r of wan) expect(r.mbPerSec as number).toBeGreaterThan(0)
    expect(systemsOf(report, 'reconnect').some(s => s.startsWith('mirnet (default cap'))).toBe(true)
    expect(systemsOf(report, 'dead-peer-memory')).toContain('mirnet')
  }, QUICK_BENCH_TIMEOUT_MS)
})
