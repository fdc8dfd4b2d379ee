import { describe, expect, it } from '@jest/globals'
import { transportSummary } from '../bench/lib/transport-summary.ts'
import type { BenchResult } from '../bench/lib/types.ts'

const KIB64 = 64 * 1024

/** The rows of a run, as the scenarios write them (figures made up, shapes as in bench/scenarios/). */
const RUN: BenchResult[] = [
  { scenario: 'link', system: 'mirnet', payloadBytes: 256, msgsPerSec: 400_000 },
  { scenario: 'link', system: 'mirnet-tls', payloadBytes: 256, msgsPerSec: 1_000_000 },
  { scenario: 'link', system: 'mirnet-grpc', payloadBytes: 256, msgsPerSec: 500_000 },
  { scenario: 'link', system: 'raw-tcp', payloadBytes: 256, msgsPerSec: 130_000 },
  { scenario: 'link', system: 'raw-tcp-batched', payloadBytes: 256, msgsPerSec: 2_000_000 },
  { scenario: 'link', system: 'mirnet', payloadBytes: KIB64, mbPerSec: 250 },
  { scenario: 'link', system: 'mirnet-tls', payloadBytes: KIB64, mbPerSec: 400 },
  { scenario: 'link', system: 'raw-tcp', payloadBytes: KIB64, mbPerSec: 500 },
  { scenario: 'api-e2e', system: 'mirnet-tls', payloadBytes: 256, msgsPerSec: 120_000 },
  { scenario: 'api-e2e', system: 'direct-grpc', payloadBytes: 256, msgsPerSec: 480_000 },
  { scenario: 'latency', system: 'mirnet-tls', payloadBytes: 256, msgsPerSec: 1000, p50Ms: 0.4, p99Ms: 6, note: '1000 msg/s; one-way …' },
  { scenario: 'latency', system: 'mirnet-tls', payloadBytes: 256, msgsPerSec: 70_000, p50Ms: 1, p99Ms: 40, note: 'half of sustained max 140000 msg/s; …' },
  { scenario: 'latency', system: 'direct-grpc', payloadBytes: 256, msgsPerSec: 1000, p50Ms: 0.1, p99Ms: 2, note: '1000 msg/s; one-way …' },
  { scenario: 'scale', system: 'mirnet-tls 32 daemons: Connect', p50Ms: 1500, p99Ms: 1800, seconds: 1.8 },
  { scenario: 'scale', system: 'mirnet-tls 32 daemons: idle', rssMb: 100, cpuPercent: 0.5, seconds: 20 },
  { scenario: 'hol', system: 'mirnet', payloadBytes: KIB64, msgsPerSec: 1000 }
]

const cells = (table: string, first: string): string[] | undefined =>
  table.split('\n').find(l => l.startsWith(first))?.split(/\s{2,}/)

describe('transportSummary', () => {
  it('puts each transport beside its baselines, each figure with its ratio to the column\'s baseline', () => {
    const table = transportSummary(RUN) as string
    expect(cells(table, 'transport')).toEqual(['transport', 'link 256 B msg/s', 'link 64 KiB MB/s', 'api-e2e 256 B msg/s',
      'latency 1k/s p50 ms', 'latency 1k/s p99 ms', 'full mesh up s', 'idle CPU %/daemon'])
    expect(cells(table, 'TLS (mirnet-tls)')).toEqual(['TLS (mirnet-tls)', '1,000,000 (0.50×)', '400 (0.80×)', '120,000 (0.25×)', '0.40 (4.00×)', '6.00 (3.00×)', '1.80', '0.50'])
    expect(cells(table, 'libp2p (mirnet)')).toEqual(['libp2p (mirnet)', '400,000 (0.20×)', '250 (0.50×)', '-', '-', '-', '-', '-'])
    expect(cells(table, 'gRPC (mirnet-grpc)')).toEqual(['gRPC (mirnet-grpc)', '500,000 (0.25×)', '-', '-', '-', '-', '-', '-'])
    expect(cells(table, 'baseline raw-tcp ')).toEqual(['baseline raw-tcp', '130,000', '500', '-', '-', '-', '-', '-'])
    expect(cells(table, 'baseline raw-tcp-batched')).toEqual(['baseline raw-tcp-batched', '2,000,000', '-', '-', '-', '-', '-', '-'])
    expect(cells(table, 'baseline direct-grpc')).toEqual(['baseline direct-grpc', '-', '-', '480,000', '0.10', '2.00', '-', '-'])
  })

  it('shows a figure without a ratio when the run lacks its baseline', () => {
    const table = transportSummary(RUN.filter(r => r.system !== 'raw-tcp-batched')) as string
    expect(cells(table, 'TLS (mirnet-tls)')?.[1]).toBe('1,000,000')
    expect(table).not.toMatch(/raw-tcp-batched/)
  })

  it('is undefined for a run without any of its figures', () => {
    expect(transportSummary(RUN.filter(r => r.scenario === 'hol'))).toBeUndefined()
    expect(transportSummary([])).toBeUndefined()
  })
})
