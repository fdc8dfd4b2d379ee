import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { Code, ConnectError, createClient } from '@connectrpc/connect'
import { createConnectTransport } from '@connectrpc/connect-node'
import { Metadata, status as GrpcStatus } from '@grpc/grpc-js'
import type { ServiceError } from '@grpc/grpc-js'
import { Registry } from 'prom-client'
import { TransportService } from '../gen/ts/mirnet/v1/transport_pb.ts'
import { silentLogger } from '../src/core/logger.ts'
import { ApiServer, fastUnary } from '../src/service/api-server.ts'
import { UnauthenticatedError } from '../src/service/errors.ts'
import { RpcMetrics } from '../src/service/rpc-metrics.ts'
import type { CallCheck, CallHeaders } from '../src/service/call-checks.ts'
import { grpcJsClient } from './helpers/daemons.ts'

/** A check that records what it saw and refuses calls carrying `x-deny`. */
class RecordingCheck implements CallCheck {
  readonly seen: Array<{ service: string, probe: string | null | undefined }> = []
  check (service: string, headers: CallHeaders): void {
    this.seen.push({ service, probe: headers.get('x-probe') })
    if (headers.get('x-deny') !== undefined && headers.get('x-deny') !== null) throw new UnauthenticatedError('denied by the test check')
  }
}

/**
 * One list of checks for both ways into a handler: connect-node's pipeline
 * (Connect protocol here) and the gRPC unary fast path (grpc-js's binary
 * unary Send). The two handlers answer differently, so each test knows
 * which path served it.
 */
describe('API call checks', () => {
  const check = new RecordingCheck()
  const handled = { fast: 0, connect: 0 }
  const registry = new Registry()
  const metrics = new RpcMetrics(registry)
  let server: ApiServer
  let grpc: ReturnType<typeof grpcJsClient>

  beforeAll(async () => {
    server = await ApiServer.listen({
      host: '127.0.0.1',
      port: 0,
      readMaxBytes: 1 << 20,
      logger: silentLogger,
      checks: [check],
      rpcMetrics: metrics,
      routes: router => { router.service(TransportService, { send: () => { handled.connect++; return { queued: 1n } } }) },
      fastUnary: [fastUnary(TransportService.method.send, () => { handled.fast++; return { queued: 2n } })]
    })
    grpc = grpcJsClient(server.address)
  })

  afterAll(async () => {
    grpc.close()
    await server.close()
  })

  function grpcSend (md: Metadata): Promise<{ queued: bigint | string }> {
    return new Promise((resolve, reject) => {
      grpc.send({ messages: [] }, md, (err: ServiceError | null, res: { queued: bigint | string }) => { if (err !== null) reject(err); else resolve(res) })
    })
  }

  const connect = (): ReturnType<typeof createClient<typeof TransportService>> =>
    createClient(TransportService, createConnectTransport({ baseUrl: `http://${server.address}`, httpVersion: '2' }))

  async function count (code: string): Promise<number> {
    const m = await registry.getSingleMetric('mirnet_rpc_duration_seconds')?.get()
    return m?.values.filter(v => (v as { metricName?: string }).metricName === 'mirnet_rpc_duration_seconds_count' && v.labels.code === code).reduce((a, v) => a + v.value, 0) ?? 0
  }

  it('runs the list on the fast path, with the request headers', async () => {
    const md = new Metadata()
    md.set('x-probe', 'fast')
    const before = check.seen.length
    expect(String((await grpcSend(md)).queued)).toBe('2')
    expect(handled.fast).toBe(1)
    expect(check.seen.slice(before)).toEqual([{ service: TransportService.typeName, probe: 'fast' }])
  })

  it('runs the same list on connect-node\'s pipeline', async () => {
    const before = check.seen.length
    expect((await connect().send({ messages: [] }, { headers: { 'x-probe': 'connect' } })).queued).toBe(1n)
    expect(handled.connect).toBe(1)
    expect(check.seen.slice(before)).toEqual([{ service: TransportService.typeName, probe: 'connect' }])
  })

  it('a refusal stops the call on both paths before its handler, counted with its code', async () => {
    const handledBefore = { ...handled }
    const refusedBefore = await count('unauthenticated')
    const md = new Metadata()
    md.set('x-deny', '1')
    const fastErr = await grpcSend(md).then(() => undefined, (err: ServiceError) => err)
    expect(fastErr?.code).toBe(GrpcStatus.UNAUTHENTICATED)
    expect(fastErr?.details).toContain('denied by the test check')
    const connectErr = await connect().send({ messages: [] }, { headers: { 'x-deny': '1' } }).then(() => undefined, (err: unknown) => ConnectError.from(err))
    expect(connectErr?.code).toBe(Code.Unauthenticated)
    expect(connectErr?.rawMessage).toContain('denied by the test check')
    expect(handled).toEqual(handledBefore)
    expect(await count('unauthenticated')).toBe(refusedBefore + 2)
  })
})
