import { credentials, makeGenericClientConstructor } from '@grpc/grpc-js'
import { create, fromBinary, toBinary } from '@bufbuild/protobuf'
import { createMirnetClient, receiveMessages } from '../../src/client/client.ts'
import { Daemon } from '../../src/daemon/daemon.ts'
import { generateKey } from '../../src/transports/libp2p/keys.ts'
import { silentLogger } from '../../src/core/logger.ts'
import { TransportService } from '../../gen/ts/mirnet/v1/transport_pb.ts'
import { firstLine } from './processes.ts'
import type { ChannelCredentials, Client, ServiceDefinition } from '@grpc/grpc-js'
import type { NetworkModuleInit } from '../../src/core/config.ts'
import type { DescMessage, DescService } from '@bufbuild/protobuf'
import type { PrivateKey } from '@libp2p/interface'
import type { Logger } from '../../src/core/logger.ts'
import type { Ready, Scratch } from './processes.ts'
import type { ChildProcess } from 'node:child_process'

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
 * gRPC as other languages' clients do. Without TLS unless `channel` says so;
 * over TLS the certificate is checked for `localhost` (SNI may not name an IP).
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
  const channelOptions = options.channel === undefined ? {} : { 'grpc.ssl_target_name_override': 'localhost' }
  return new Ctor(address, options.channel ?? credentials.createInsecure(), channelOptions) as Client & Record<string, (...args: unknown[]) => unknown>
}

/** Give every daemon the membership of all of them, and wait until the first sees all connected. */
export async function connectDaemons (daemons: ReadonlyArray<{ d: Daemon, c: { connect: (req: { nodes: Array<{ id: string, address: string }> }) => Promise<unknown>, awaitConnections: (req: { minConnected: number }, options: { timeoutMs: number }) => Promise<unknown> } }>): Promise<void> {
  const nodes = daemons.map(({ d }) => ({ id: d.info.nodeId, address: d.info.listen[0] }))
  for (const { c } of daemons) await c.connect({ nodes })
  await daemons[0].c.awaitConnections({ minConnected: daemons.length }, { timeoutMs: 10_000 })
}

/** A `mirnet serve` child and its ready line. */
export interface ServedDaemon {
  child: ChildProcess
  ready: Ready
}

/**
 * Start `mirnet serve` as a child of `scratch`, with its own state dir, its
 * API on a free port of 127.0.0.1 and warn logging, plus `extra` arguments
 * and `env`; resolves at its ready line.
 */
export async function serveDaemon (scratch: Scratch, nodeId: string, extra: string[] = [], env: Record<string, string> = {}): Promise<ServedDaemon> {
  const dir = await scratch.dir()
  const child = scratch.spawn(['serve', '--node-id', nodeId, '--state-dir', dir, '--api', '127.0.0.1:0', '--log-level', 'warn', ...extra], env)
  return { child, ready: await firstLine<Ready>(child) }
}

/** What `exchangeMessages` saw, for the test to assert. */
export interface Exchange {
  /** What a's GetInfo says it listens on. */
  aListenAddresses: string[]
  /** `from:payload` of the messages b received, in order. */
  atB: string[]
  /** `from:payload` of the messages a received, in order. */
  atA: string[]
}

/**
 * Give two daemons (`a`, `b`) the membership of both, wait until both see
 * both connected, then send ten messages `a0`…`a9` from a to b and one,
 * `b0`, from b to a, and take them at the other end.
 */
export async function exchangeMessages (a: Ready, b: Ready): Promise<Exchange> {
  const text = (s: string): Uint8Array => new TextEncoder().encode(s)
  const str = (bytes: Uint8Array): string => new TextDecoder().decode(bytes)
  const nodes = [{ id: 'a', address: a.listen[0] }, { id: 'b', address: b.listen[0] }]
  const ca = createMirnetClient(a.api)
  const cb = createMirnetClient(b.api)
  await ca.connect({ nodes })
  await cb.connect({ nodes })
  await Promise.all([ca, cb].map(async c => { await c.awaitConnections({ minConnected: 2 }, { timeoutMs: 15_000 }) }))
  const aListenAddresses = (await ca.getInfo({})).listenAddresses
  await ca.send({ messages: Array.from({ length: 10 }, (_, i) => ({ destinations: ['b'], payload: text(`a${i}`) })) })
  await cb.send({ messages: [{ destinations: ['a'], payload: text('b0') }] })
  const take = async (client: typeof ca, n: number): Promise<string[]> => {
    const got: string[] = []
    for await (const m of receiveMessages(client)) {
      got.push(`${m.from}:${str(m.payload)}`)
      if (got.length === n) break
    }
    return got
  }
  return { aListenAddresses, atB: await take(cb, 10), atA: await take(ca, 1) }
}
