/**
 * api-unary: one message per unary Send, 64 calls in flight, 256-byte
 * payloads, from a @grpc/grpc-js client in its own process to a daemon. The
 * daemon sends to itself with nobody receiving, so past the inbox its queue
 * drops the oldest (counted), and the figure is the cost of the API call, not
 * of the network. Baseline `grpc-js`: a bare grpc-js unary echo server (own
 * process) answering the same request, driven by the same client code.
 */
import { connectAll } from '../lib/daemons.ts'
import { ProcessGroup } from '../lib/api-workers.ts'
import { alternate, median, round } from '../lib/stats.ts'
import type { BenchResult, Scenario, ScenarioContext } from '../lib/types.ts'

const PAYLOAD_BYTES = 256
const IN_FLIGHT = 64

interface UnaryResult { calls: number, seconds: number, p50: number, p99: number }

async function run (ctx: ScenarioContext): Promise<BenchResult[]> {
  // quick: one short round per system, which proves both run and yield figures
  const rounds = ctx.quick ? 1 : 5
  const seconds = ctx.quick ? 0.5 : 3
  const warmupSeconds = ctx.quick ? 0.2 : 1
  return await ProcessGroup.with(async group => {
    ctx.progress('starting a daemon, the grpc-js echo server and a client process')
    const [daemon, echo, client] = await Promise.all([
      group.daemon('a'),
      group.worker('echo', 'api-echo-server.ts'),
      group.worker('unary-client')
    ])
    await connectAll([daemon])
    const results: Record<'mirnet' | 'grpc-js', UnaryResult[]> = { mirnet: [], 'grpc-js': [] }
    const call = async (kind: 'mirnet' | 'echo', address: string): Promise<number> => {
      const r = await client.call<UnaryResult>('unary', { address, kind, destination: 'a', inFlight: IN_FLIGHT, payloadBytes: PAYLOAD_BYTES, seconds, warmupSeconds })
      results[kind === 'mirnet' ? 'mirnet' : 'grpc-js'].push(r)
      return r.calls / r.seconds
    }
    const rates = await alternate(rounds, {
      mirnet: async () => await call('mirnet', daemon.api),
      'grpc-js': async () => await call('echo', echo.info.address as string)
    }, (r, system, value) => { ctx.progress(`round ${r + 1}/${rounds} ${system}: ${Math.round(value)} calls/s`) })
    const ratio = median(rates.mirnet) / median(rates['grpc-js'])
    return (['mirnet', 'grpc-js'] as const).map(system => ({
      scenario: 'api-unary' as const,
      system,
      payloadBytes: PAYLOAD_BYTES,
      msgsPerSec: round(median(rates[system]), 0),
      p50Ms: round(median(results[system].map(r => r.p50))),
      p99Ms: round(median(results[system].map(r => r.p99))),
      seconds,
      note: system === 'mirnet'
        ? `calls/s, ${IN_FLIGHT} in flight, median of ${rounds}; ${round(ratio, 2)}x grpc-js`
        : `bare grpc-js unary echo, same client; median of ${rounds}`
    }))
  })
}

export const scenario: Scenario = {
  name: 'api-unary',
  description: `unary Send of one ${PAYLOAD_BYTES} B message, ${IN_FLIGHT} in flight (grpc-js client): calls/s and latency vs a bare grpc-js echo server`,
  run
}
