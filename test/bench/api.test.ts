import { describe, expect, it } from '@jest/globals'
import { QUICK_BENCH_TIMEOUT_MS, QUICK_GROUPS, quickBench, systemsOf } from '../helpers/quick-bench.ts'

describe(`npm run bench -- --quick --only ${QUICK_GROUPS.api.join(',')}`, () => {
  it('measures the API paths against their baselines', async () => {
    const report = await quickBench([...QUICK_GROUPS.api])
    expect(systemsOf(report, 'api-unary')).toEqual(expect.arrayContaining(['mirnet', 'grpc-js']))
    expect(systemsOf(report, 'api-e2e')).toEqual(expect.arrayContaining(['mirnet', 'mirnet-tls', 'direct-grpc', 'link']))
    expect(systemsOf(report, 'latency')).toEqual(expect.arrayContaining(['mirnet', 'mirnet-tls', 'direct-grpc']))
    expect(systemsOf(report, 'fan-out')).toContain('mirnet')
    for (const r of report.results.filter(r => r.scenario === 'latency')) expect(r.p99Ms).toEqual(expect.any(Number))
    const roles: Record<string, string[]> = {
      mirnet: ['client A', 'daemon A', 'daemon B', 'client B'],
      'mirnet-tls': ['client A', 'daemon A', 'daemon B', 'client B'],
      'direct-grpc': ['sender', 'receiver'],
      link: ['sender', 'receiver']
    }
    for (const r of report.results.filter(r => r.scenario === 'api-e2e')) {
      const cpu = r.cpuUsPerMsg as Record<string, number>
      expect(Object.keys(cpu)).toEqual(roles[String(r.system)])
      for (const us of Object.values(cpu)) expect(us).toBeGreaterThan(0)
      expect(r.note).toMatch(/CPU µs\/msg: .*CPU-bound ceiling on \d+ cores/)
    }
  }, QUICK_BENCH_TIMEOUT_MS)
})
