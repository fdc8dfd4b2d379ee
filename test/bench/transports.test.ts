import { describe, expect, it } from '@jest/globals'
import { QUICK_BENCH_TIMEOUT_MS, QUICK_GROUPS, quickBench, systemsOf } from '../helpers/quick-bench.ts'

/** The transports the link and scale rows name: plain `mirnet` is libp2p. */
const TRANSPORT_SYSTEMS = ['mirnet', 'mirnet-tls', 'mirnet-grpc']
const LINK_BASELINES = ['raw-tcp', 'raw-tcp-batched', 'libp2p-per-message']

describe(`npm run bench -- --quick --only ${QUICK_GROUPS.transports.join(',')}`, () => {
  it('measures the core over every transport against raw TCP, and a full mesh on each', async () => {
    const report = await quickBench([...QUICK_GROUPS.transports])
    // link: every system at both payload sizes, each with a rate
    const link = report.results.filter(r => r.scenario === 'link')
    for (const system of [...TRANSPORT_SYSTEMS, ...LINK_BASELINES]) {
      expect(link.filter(r => r.system === system).map(r => r.payloadBytes)).toEqual([256, 64 * 1024])
    }
    for (const r of link) expect(r.msgsPerSec as number).toBeGreaterThan(0)
    // the TLS row at 256 B is judged against the batched socket, at 64 KiB against raw-tcp
    const tlsNote = (bytes: number): string => String(link.find(r => r.system === 'mirnet-tls' && r.payloadBytes === bytes)?.note)
    expect(tlsNote(256)).toMatch(/× raw-tcp-batched \(target ≥ 0\.5: (met|MISSED)\)/)
    expect(tlsNote(64 * 1024)).toMatch(/× raw-tcp \(target ≥ 0\.8: (met|MISSED)\)/)
    // scale: a Connect and an idle row per transport, each system naming its transport
    // after the table, the transports side by side: TLS's link rate with its ratio to the batched socket
    expect(report.stdout).toMatch(/^Transports side by side/m)
    expect(report.stdout).toMatch(/^TLS \(mirnet-tls\)\s+[\d,]+ \([\d.]+×\)/m)
    expect(systemsOf(report, 'scale').sort()).toEqual(TRANSPORT_SYSTEMS.flatMap(t => [`${t} 4 daemons: Connect`, `${t} 4 daemons: idle`]).sort())
  }, QUICK_BENCH_TIMEOUT_MS)
})
