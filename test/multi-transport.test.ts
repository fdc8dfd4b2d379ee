import { afterEach, describe, expect, it } from '@jest/globals'
import { NetworkModule } from '../src/core/network-module.ts'
import { generateKey } from '../src/transports/libp2p/keys.ts'
import { Libp2pTransport } from '../src/transports/libp2p/libp2p-transport.ts'
import { TlsTransport } from '../src/transports/tls/tls-transport.ts'
import { GrpcTransport } from '../src/transports/grpc/grpc-transport.ts'
import { addressForm } from '../src/transports/multi/address-form.ts'
import { MultiTransport } from '../src/transports/multi/multi-transport.ts'
import { numbered, parseNumbered, receive } from './helpers/wait.ts'
import type { AddressForm } from '../src/transports/multi/address-form.ts'
import type { Transport } from '../src/core/transport.ts'
import type { PrivateKey } from '@libp2p/interface'

const ID = '12D3KooWSmc3oNnZqgJtqCfqPugLzd2rE9F8GXQZf8uFVqvCSE3s'

async function transportOf (form: AddressForm, privateKey: PrivateKey): Promise<Transport> {
  switch (form) {
    case 'libp2p': return await Libp2pTransport.create({ privateKey, listen: ['/ip4/127.0.0.1/tcp/0'] })
    case 'tls': return await TlsTransport.create({ privateKey, listen: ['/ip4/127.0.0.1/tcp/0/tls'] })
    case 'grpc': return await GrpcTransport.create({ privateKey, listen: ['/ip4/127.0.0.1/tcp/0/tls/http'] })
  }
}

describe('addressForm', () => {
  it('tells libp2p, TLS and gRPC addresses apart by what follows the TCP port', () => {
    expect(addressForm(`/ip4/10.0.0.1/tcp/4001/p2p/${ID}`)).toBe('libp2p')
    expect(addressForm('/dns4/a.example/tcp/4001')).toBe('libp2p')
    expect(addressForm(`/ip4/10.0.0.1/tcp/9000/tls/p2p/${ID}`)).toBe('tls')
    expect(addressForm(`/ip6/::1/tcp/443/tls/http/p2p/${ID}`)).toBe('grpc')
    const invalid = expect.objectContaining({ name: 'InvalidAddressError' })
    expect(() => addressForm('/ip4/10.0.0.1/udp/1/quic-v1')).toThrow(invalid)
    expect(() => addressForm(`/ip4/10.0.0.1/tcp/1/http/p2p/${ID}`)).toThrow(invalid)
    expect(() => addressForm('nonsense')).toThrow(invalid)
  })
})

describe('MultiTransport', () => {
  const modules: NetworkModule[] = []
  afterEach(async () => {
    await Promise.all(modules.map(async m => { await m.close() }))
    modules.length = 0
  })

  async function node (nodeId: string, forms: AddressForm[]): Promise<NetworkModule> {
    const key = await generateKey()
    const transports = new Map<AddressForm, Transport>()
    for (const form of forms) transports.set(form, await transportOf(form, key))
    const module = new NetworkModule({ transport: new MultiTransport(transports) }, { nodeId })
    modules.push(module)
    await module.start()
    return module
  }

  it('one membership mixes libp2p, TLS and gRPC members: the node on all three exchanges messages with each', async () => {
    const hub = await node('hub', ['libp2p', 'tls', 'grpc'])
    const members = await Promise.all((['libp2p', 'tls', 'grpc'] as const).map(async form => ({ form, module: await node(form, [form]) })))
    const hubAddress = (form: AddressForm): string => hub.listenAddresses().find(a => addressForm(a) === form) as string
    expect(hub.listenAddresses().map(addressForm).sort()).toEqual(['grpc', 'libp2p', 'tls'])
    hub.connect([{ id: 'hub', address: hubAddress('libp2p') }, ...members.map(m => ({ id: m.form, address: m.module.listenAddresses()[0] }))])
    for (const m of members) m.module.connect([{ id: 'hub', address: hubAddress(m.form) }, { id: m.form, address: m.module.listenAddresses()[0] }])
    await hub.waitFor(4, { signal: AbortSignal.timeout(15_000) })
    for (const m of members) {
      for (let i = 0; i < 20; i++) m.module.sendTo('hub', numbered(m.form, i))
      for (let i = 0; i < 5; i++) hub.sendTo(m.form, numbered('hub', i))
    }
    const atHub = await receive(hub, 60)
    for (const m of members) {
      expect(atHub.filter(r => r.from === m.form).map(r => parseNumbered(r.payload).seq)).toEqual([...Array(20).keys()])
      const got = await receive(m.module, 5)
      expect(got.map(r => [r.from, parseNumbered(r.payload).seq])).toEqual([...Array(5).keys()].map(i => ['hub', i]))
    }
  })

  it('refuses a member address of a transport the node does not run, naming it', async () => {
    const only = await node('a', ['grpc'])
    expect(() => { only.connect([{ id: 'a', address: only.listenAddresses()[0] }, { id: 'b', address: `/ip4/127.0.0.1/tcp/1/tls/p2p/${ID}` }]) })
      .toThrow(/is a tls address; this node runs grpc/)
  })
})
