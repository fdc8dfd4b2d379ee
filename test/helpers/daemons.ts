import { credentials, makeGenericClientConstructor } from '@grpc/grpc-js'
import { create, fromBinary, toBinary } from '@bufbuild/protobuf'
import { Daemon } from '../../src/daemon/daemon.ts'
import { generateKey } from '../../src/transports/libp2p/keys.ts'
import { silentLogger } from '../../src/core/logger.ts'
import { TransportService } from '../../gen/ts/mirnet/v1/transport_pb.ts'
import type { ChannelCredentials, Client, ServiceDefinition } from '@grpc/grpc-js'
import type { NetworkModuleInit } from '../../src/core/config.ts'
import type { DescMessage, DescService } from '@bufbuild/protobuf'
import type { PrivateKey } from '@libp2p/interface'
import type { Logger } from '../../src/core/logger.ts'

export interface TestDaemonOptions {
  /** Serve metrics on a free port of 127.0.0.1. */
  metrics?: boolean
  logger?: Logger
  privateKey?: PrivateKey
}

/** Start an in-process daemon on 127.0.0.1 with free ports. */
export async function startTestDaemon (nodeId: string, network: NetworkModuleInit = {}, options: TestDaemonOptions = {}): Promise<Daemon> {
  return await Daemon.start({
    nodeId,
    privateKey: options.privateKey ?? await generateKey(),
    listen: ['/ip4/127.0.0.1/tcp/0'],
    apiHost: '127.0.0.1',
    apiPort: 0,
    metrics: options.metrics === true ? { host: '127.0.0.1', port: 0 } : undefined,
    network,
    logger: options.logger ?? silentLogger
  })
}

/**
 * A @grpc/grpc-js client of TransportService (or `service`) built from the
 * generated descriptors (no proto-loader), so the tests also speak plain
 * gRPC as other languages' clients do. Without TLS unless `channel` says so.
 */
export function grpcJsClient (
  address: string,
  options: { service?: DescService, channel?: ChannelCredentials } = {}
): Client & Record<string, (...args: unknown[]) => unknown> {
  const service = options.service ?? TransportService
  const definition: Record<string, ServiceDefinition[string]> = {}
  for (const method of service.methods) {
    const input: DescMessage = method.input
    const output: DescMessage = method.output
    definition[method.localName] = {
      path: `/${service.typeName}/${method.name}`,
      requestStream: method.methodKind === 'client_streaming' || method.methodKind === 'bidi_streaming',
      responseStream: method.methodKind === 'server_streaming' || method.methodKind === 'bidi_streaming',
      requestSerialize: (value: object) => Buffer.from(toBinary(input, create(input, value as never))),
      requestDeserialize: (bytes: Buffer) => fromBinary(input, bytes),
      responseSerialize: (value: object) => Buffer.from(toBinary(output, create(output, value as never))),
      responseDeserialize: (bytes: Buffer) => fromBinary(output, bytes)
    }
  }
  const Ctor = makeGenericClientConstructor(definition as ServiceDefinition, service.typeName)
  return new Ctor(address, options.channel ?? credentials.createInsecure()) as Client & Record<string, (...args: unknown[]) => unknown>
}

/** Give every daemon the membership of all of them, and wait until the first sees all connected. */
export async function connectDaemons (daemons: ReadonlyArray<{ d: Daemon, c: { connect: (req: { nodes: Array<{ id: string, address: string }> }) => Promise<unknown>, awaitConnections: (req: { minConnected: number }, options: { timeoutMs: number }) => Promise<unknown> } }>): Promise<void> {
  const nodes = daemons.map(({ d }) => ({ id: d.info.nodeId, address: d.info.listen[0] }))
  for (const { c } of daemons) await c.connect({ nodes })
  await daemons[0].c.awaitConnections({ minConnected: daemons.length }, { timeoutMs: 10_000 })
}
