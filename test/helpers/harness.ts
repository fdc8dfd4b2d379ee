import { NetworkModule } from '../../src/core/network-module.ts'
import { generateKey } from '../../src/transports/libp2p/keys.ts'
import { Libp2pTransport } from '../../src/transports/libp2p/libp2p-transport.ts'
import { MemoryNetwork, MemoryTransport } from '../../src/transports/memory/memory-transport.ts'
import { TlsTransport } from '../../src/transports/tls/tls-transport.ts'
import { GrpcTransport } from '../../src/transports/grpc/grpc-transport.ts'
import type { TlsTransportInit } from '../../src/transports/tls/tls-transport.ts'
import type { GrpcTransportInit } from '../../src/transports/grpc/grpc-transport.ts'
import type { Clock } from '../../src/core/clock.ts'
import type { NetworkModuleInit } from '../../src/core/config.ts'
import type { Transport } from '../../src/core/transport.ts'
import type { PrivateKey } from '@libp2p/interface'

/** A started module and what it takes to start it again with the same identity and address. */
export interface TestNode {
  readonly nodeId: string
  readonly module: NetworkModule
  readonly address: string
  readonly identity: string
  readonly transport: Transport
  /** Opaque to the suite: what the harness needs to restart this node. */
  readonly restartToken: unknown
}

/**
 * What the behavioural suite needs from a transport, so the in-memory and the
 * libp2p transports run the very same tests.
 */
export interface Harness {
  readonly name: string
  createNode: (nodeId: string, init?: NetworkModuleInit) => Promise<TestNode>
  /** A node with the identity and address of `node`, which must be closed. */
  restartNode: (node: TestNode, init?: NetworkModuleInit) => Promise<TestNode>
  /** A bare transport with a fresh identity, for writing raw bytes. */
  createRawTransport: () => Promise<Transport>
  /** The address `listenAddress` but naming `identity` instead of the node there. */
  withIdentity: (listenAddress: string, identity: string) => string
  /** An address the transport cannot parse at all. */
  readonly invalidAddress: string
  /** A well-formed address with no identity in it. */
  readonly addressWithoutIdentity: string
  /** Close everything created by the harness. */
  cleanup: () => Promise<void>
}

export function membershipOf (...nodes: TestNode[]): Array<{ id: string, address: string }> {
  return nodes.map(n => ({ id: n.nodeId, address: n.address }))
}

/** Give every node the membership of all of them at once, and wait until each sees all connected. */
export async function connectAll (...nodes: TestNode[]): Promise<void> {
  const membership = membershipOf(...nodes)
  for (const n of nodes) n.module.connect(membership)
  await Promise.all(nodes.map(async n => { await n.module.waitFor(nodes.length, { signal: AbortSignal.timeout(10_000) }) }))
}

abstract class BaseHarness {
  protected readonly modules = new Set<NetworkModule>()
  protected readonly transports = new Set<Transport>()
  /** The modules' clock (virtual in some tests); the system clock when not given. */
  protected readonly clock: Clock | undefined

  constructor (options: { clock?: Clock } = {}) {
    this.clock = options.clock
  }

  async cleanup (): Promise<void> {
    await Promise.all([...this.modules].map(async m => { await m.close() }))
    await Promise.all([...this.transports].map(async t => { await t.stop() }))
    this.modules.clear()
    this.transports.clear()
  }

  protected async startModule (transport: Transport, nodeId: string, init: NetworkModuleInit): Promise<NetworkModule> {
    const module = new NetworkModule({ transport, clock: this.clock }, { nodeId, ...init })
    this.modules.add(module)
    await module.start()
    return module
  }
}

export class MemoryHarness extends BaseHarness implements Harness {
  readonly name = 'memory'
  readonly invalidAddress = 'memory:not-an-address'
  readonly addressWithoutIdentity = '/memory/somewhere'
  readonly #network = new MemoryNetwork()
  #counter = 0

  /** Cut the path between two nodes: both ends go silent (see MemoryNetwork.cut). */
  cut (a: TestNode, b: TestNode): void {
    this.#network.cut((a.restartToken as { host: string }).host, (b.restartToken as { host: string }).host)
  }

  /** Drop what `from` sends to `to`; the other direction keeps working. */
  cutOneWay (from: TestNode, to: TestNode): void {
    this.#network.cutOneWay((from.restartToken as { host: string }).host, (to.restartToken as { host: string }).host)
  }

  heal (a: TestNode, b: TestNode): void {
    this.#network.heal((a.restartToken as { host: string }).host, (b.restartToken as { host: string }).host)
  }

  async createNode (nodeId: string, init: NetworkModuleInit = {}): Promise<TestNode> {
    const n = ++this.#counter
    return await this.#start(nodeId, `host-${n}`, `identity-${nodeId}-${n}`, init)
  }

  async restartNode (node: TestNode, init: NetworkModuleInit = {}): Promise<TestNode> {
    const { host } = node.restartToken as { host: string }
    return await this.#start(node.nodeId, host, node.identity, init)
  }

  async #start (nodeId: string, host: string, identity: string, init: NetworkModuleInit): Promise<TestNode> {
    const transport = new MemoryTransport({ network: this.#network, host, identity })
    const module = await this.startModule(transport, nodeId, init)
    return { nodeId, module, address: module.listenAddresses()[0], identity, transport, restartToken: { host } }
  }

  async createRawTransport (): Promise<Transport> {
    const n = ++this.#counter
    const transport = new MemoryTransport({ network: this.#network, host: `raw-${n}`, identity: `raw-identity-${n}` })
    this.transports.add(transport)
    await transport.start(channel => { channel.abort(new Error('raw transport accepts nothing')) })
    return transport
  }

  withIdentity (listenAddress: string, identity: string): string {
    return listenAddress.replace(/\/p2p\/[^/]+$/, `/p2p/${identity}`)
  }
}

export class Libp2pHarness extends BaseHarness implements Harness {
  readonly name = 'libp2p'
  readonly invalidAddress = '/ip4/999.1.1.1/tcp/1/p2p/x'
  readonly addressWithoutIdentity = '/ip4/127.0.0.1/tcp/4001'

  async createNode (nodeId: string, init: NetworkModuleInit = {}): Promise<TestNode> {
    return await this.#start(nodeId, await generateKey(), '/ip4/127.0.0.1/tcp/0', init)
  }

  async restartNode (node: TestNode, init: NetworkModuleInit = {}): Promise<TestNode> {
    const { key, listen } = node.restartToken as { key: PrivateKey, listen: string }
    return await this.#start(node.nodeId, key, listen, init)
  }

  async #start (nodeId: string, key: PrivateKey, listen: string, init: NetworkModuleInit): Promise<TestNode> {
    const transport = await Libp2pTransport.create({ privateKey: key, listen: [listen] })
    const module = await this.startModule(transport, nodeId, init)
    const address = module.listenAddresses()[0]
    // restart on the very port this node got
    const bound = address.replace(/\/p2p\/[^/]+$/, '')
    return { nodeId, module, address, identity: module.identity, transport, restartToken: { key, listen: bound } }
  }

  async createRawTransport (): Promise<Transport> {
    const transport = await Libp2pTransport.create({ privateKey: await generateKey() })
    this.transports.add(transport)
    await transport.start(channel => { channel.abort(new Error('raw transport accepts nothing')) })
    return transport
  }

  withIdentity (listenAddress: string, identity: string): string {
    return listenAddress.replace(/\/p2p\/[^/]+$/, `/p2p/${identity}`)
  }
}

export class TlsHarness extends BaseHarness implements Harness {
  readonly name = 'tls'
  readonly invalidAddress = '/ip4/999.1.1.1/tcp/1/tls/p2p/x'
  readonly addressWithoutIdentity = '/ip4/127.0.0.1/tcp/4001/tls'
  readonly #init: Partial<TlsTransportInit>

  /** `init`: transport options for every node (handshake timeout, limits). */
  constructor (init: Partial<TlsTransportInit> = {}) {
    super()
    this.#init = init
  }

  async createNode (nodeId: string, init: NetworkModuleInit = {}): Promise<TestNode> {
    return await this.#start(nodeId, await generateKey(), '/ip4/127.0.0.1/tcp/0/tls', init)
  }

  async restartNode (node: TestNode, init: NetworkModuleInit = {}): Promise<TestNode> {
    const { key, listen } = node.restartToken as { key: PrivateKey, listen: string }
    return await this.#start(node.nodeId, key, listen, init)
  }

  async #start (nodeId: string, key: PrivateKey, listen: string, init: NetworkModuleInit): Promise<TestNode> {
    const transport = await TlsTransport.create({ ...this.#init, privateKey: key, listen: [listen] })
    const module = await this.startModule(transport, nodeId, init)
    const address = module.listenAddresses()[0]
    // restart on the very port this node got
    const bound = address.replace(/\/p2p\/[^/]+$/, '')
    return { nodeId, module, address, identity: module.identity, transport, restartToken: { key, listen: bound } }
  }

  /** A bare transport (with the harness's options), started, accepting nothing. */
  async createRawTransport (key?: PrivateKey): Promise<TlsTransport> {
    const transport = await TlsTransport.create({ ...this.#init, privateKey: key ?? await generateKey() })
    this.transports.add(transport)
    await transport.start(channel => { channel.abort(new Error('raw transport accepts nothing')) })
    return transport
  }

  withIdentity (listenAddress: string, identity: string): string {
    return listenAddress.replace(/\/p2p\/[^/]+$/, `/p2p/${identity}`)
  }
}

export class GrpcHarness extends BaseHarness implements Harness {
  readonly name = 'grpc'
  readonly invalidAddress = '/ip4/999.1.1.1/tcp/1/tls/http/p2p/x'
  readonly addressWithoutIdentity = '/ip4/127.0.0.1/tcp/4001/tls/http'
  readonly #init: Partial<GrpcTransportInit>

  /** `init`: transport options for every node (handshake timeout, limits). */
  constructor (init: Partial<GrpcTransportInit> = {}) {
    super()
    this.#init = init
  }

  async createNode (nodeId: string, init: NetworkModuleInit = {}): Promise<TestNode> {
    return await this.#start(nodeId, await generateKey(), '/ip4/127.0.0.1/tcp/0/tls/http', init)
  }

  async restartNode (node: TestNode, init: NetworkModuleInit = {}): Promise<TestNode> {
    const { key, listen } = node.restartToken as { key: PrivateKey, listen: string }
    return await this.#start(node.nodeId, key, listen, init)
  }

  async #start (nodeId: string, key: PrivateKey, listen: string, init: NetworkModuleInit): Promise<TestNode> {
    const transport = await GrpcTransport.create({ ...this.#init, privateKey: key, listen: [listen] })
    const module = await this.startModule(transport, nodeId, init)
    const address = module.listenAddresses()[0]
    // restart on the very port this node got
    const bound = address.replace(/\/p2p\/[^/]+$/, '')
    return { nodeId, module, address, identity: module.identity, transport, restartToken: { key, listen: bound } }
  }

  /** A bare transport (with the harness's options), started, accepting nothing. */
  async createRawTransport (key?: PrivateKey): Promise<GrpcTransport> {
    const transport = await GrpcTransport.create({ ...this.#init, privateKey: key ?? await generateKey() })
    this.transports.add(transport)
    await transport.start(channel => { channel.abort(new Error('raw transport accepts nothing')) })
    return transport
  }

  withIdentity (listenAddress: string, identity: string): string {
    return listenAddress.replace(/\/p2p\/[^/]+$/, `/p2p/${identity}`)
  }
}
