import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals'
import { createMirnetClient, receiveMessages } from '../src/client/client.ts'
import { addressForm } from '../src/transports/multi/address-form.ts'
import { Scratch, firstLine, freePort, mirnet, stop } from './helpers/processes.ts'
import type { MirnetClient } from '../src/client/client.ts'
import type { Ready } from './helpers/processes.ts'
import type { ChildProcess } from 'node:child_process'

const text = (s: string): Uint8Array => new TextEncoder().encode(s)
const str = (b: Uint8Array): string => new TextDecoder().decode(b)

/** The next `n` messages a daemon receives, as `from:payload`. */
async function take (client: MirnetClient, n: number): Promise<string[]> {
  const got: string[] = []
  for await (const m of receiveMessages(client)) {
    got.push(`${m.from}:${str(m.payload)}`)
    if (got.length === n) break
  }
  return got
}

/** The daemon's listen address of `form`. */
function at (ready: Ready, form: string): string {
  const address = ready.listen.find(a => addressForm(a) === form)
  if (address === undefined) throw new Error(`${ready.nodeId} listens on no ${form} address: ${ready.listen.join(', ')}`)
  return address
}

describe('mirnet serve on several transports', () => {
  let scratch: Scratch
  beforeEach(() => { scratch = new Scratch() })
  afterEach(async () => { await scratch.cleanup() })

  interface Served { child: ChildProcess, ready: Ready, client: MirnetClient, dir: string }

  async function serve (nodeId: string, extra: string[], env: Record<string, string> = {}, dir?: string): Promise<Served> {
    const stateDir = dir ?? await scratch.dir()
    const child = scratch.spawn(['serve', '--node-id', nodeId, '--state-dir', stateDir, '--api', '127.0.0.1:0', '--log-level', 'warn', ...extra], env)
    const ready = await firstLine<Ready>(child)
    return { child, ready, client: createMirnetClient(ready.api), dir: stateDir }
  }

  it('A on libp2p and TLS exchanges messages with B over libp2p and C over TLS; B moves to TLS and the messages go on', async () => {
    const [a, b, c] = await Promise.all([
      serve('a', ['--transport', 'libp2p,tls']),
      serve('b', ['--transport', 'libp2p']),
      serve('c', [], { MIRNET_TRANSPORT: 'tls' })
    ])
    expect(a.ready.listen.map(addressForm)).toEqual(['libp2p', 'tls'])
    for (const address of a.ready.listen) expect(address).toMatch(new RegExp(`^/ip4/127\\.0\\.0\\.1/tcp/\\d+(/tls)?/p2p/${a.ready.peerId}$`))
    expect(b.ready.listen.map(addressForm)).toEqual(['libp2p'])
    expect(c.ready.listen.map(addressForm)).toEqual(['tls'])
    expect((await a.client.getInfo({})).listenAddresses).toEqual(a.ready.listen)

    await a.client.connect({ nodes: [{ id: 'a', address: at(a.ready, 'libp2p') }, { id: 'b', address: at(b.ready, 'libp2p') }, { id: 'c', address: at(c.ready, 'tls') }] })
    await b.client.connect({ nodes: [{ id: 'a', address: at(a.ready, 'libp2p') }, { id: 'b', address: at(b.ready, 'libp2p') }] })
    await c.client.connect({ nodes: [{ id: 'a', address: at(a.ready, 'tls') }, { id: 'c', address: at(c.ready, 'tls') }] })
    await Promise.all([
      a.client.awaitConnections({ minConnected: 3 }, { timeoutMs: 20_000 }),
      b.client.awaitConnections({ minConnected: 2 }, { timeoutMs: 20_000 }),
      c.client.awaitConnections({ minConnected: 2 }, { timeoutMs: 20_000 })
    ])

    await a.client.send({ messages: Array.from({ length: 5 }, (_, i) => ({ destinations: ['b', 'c'], payload: text(`a${i}`) })) })
    await b.client.send({ messages: [{ destinations: ['a'], payload: text('b0') }] })
    await c.client.send({ messages: [{ destinations: ['a'], payload: text('c0') }] })
    const expected = Array.from({ length: 5 }, (_, i) => `a:a${i}`)
    expect(await take(b.client, 5)).toEqual(expected)
    expect(await take(c.client, 5)).toEqual(expected)
    expect((await take(a.client, 2)).sort()).toEqual(['b:b0', 'c:c0'])

    // migration: B comes back on TLS only, with the same key; A lists it at its TLS address
    expect(await stop(b.child)).toBe(0)
    const b2 = await serve('b', ['--transport', 'tls'], {}, b.dir)
    expect(b2.ready.peerId).toBe(b.ready.peerId)
    expect(b2.ready.listen.map(addressForm)).toEqual(['tls'])
    const change = await a.client.connect({ nodes: [{ id: 'a', address: at(a.ready, 'libp2p') }, { id: 'b', address: at(b2.ready, 'tls') }, { id: 'c', address: at(c.ready, 'tls') }] })
    expect(change.changed).toEqual(['b'])
    await b2.client.connect({ nodes: [{ id: 'a', address: at(a.ready, 'tls') }, { id: 'b', address: at(b2.ready, 'tls') }] })
    await Promise.all([
      a.client.awaitConnections({ minConnected: 3 }, { timeoutMs: 20_000 }),
      b2.client.awaitConnections({ minConnected: 2 }, { timeoutMs: 20_000 })
    ])
    await a.client.send({ messages: [{ destinations: ['b', 'c'], payload: text('after') }] })
    await b2.client.send({ messages: [{ destinations: ['a'], payload: text('b1') }] })
    expect(await take(b2.client, 1)).toEqual(['a:after'])
    expect(await take(c.client, 1)).toEqual(['a:after'])
    expect(await take(a.client, 1)).toEqual(['b:b1'])
    const bAtA = (await a.client.getStatus({})).peers.find(p => p.nodeId === 'b')
    expect(bAtA?.address).toBe(at(b2.ready, 'tls'))

    for (const d of [a, b2, c]) expect(await stop(d.child)).toBe(0)
  })

  it('mirnet cluster --transport tls,libp2p runs both on every daemon and lists the members at their TLS addresses', async () => {
    const basePort = await freePort()
    const cluster = scratch.spawn(['cluster', '--nodes', '2', '--base-port', String(basePort), '--transport', 'tls,libp2p'])
    const ready = await firstLine<{ nodes: Ready[] }>(cluster, 60_000)
    for (const n of ready.nodes) expect(n.listen.map(addressForm)).toEqual(['tls', 'libp2p'])
    const [c0, c1] = ready.nodes.map(n => createMirnetClient(n.api))
    expect((await c0.getStatus({})).peers.map(p => [p.nodeId, p.address])).toEqual(ready.nodes.map(n => [n.nodeId, at(n, 'tls')]))
    await c0.send({ messages: [{ destinations: ['node-1'], payload: text('hi') }] })
    expect(await take(c1, 1)).toEqual(['node-0:hi'])
    expect(await stop(cluster, 'SIGINT')).toBe(0)
  })

  it.each([
    [['--transport', 'libp2p', '--listen', '/ip4/127.0.0.1/tcp/0/tls'], {}, 'mirnet: listen address "/ip4/127.0.0.1/tcp/0/tls" is a tls address, but the transports are libp2p: add tls to --transport'],
    [['--transport', 'libp2p,tls', '--listen', '/ip4/127.0.0.1/tcp/0,/ip4/127.0.0.1/tcp/0/tls/http'], {}, 'mirnet: listen address "/ip4/127.0.0.1/tcp/0/tls/http" is a grpc address, but the transports are libp2p, tls'],
    [['--listen', '/ip4/127.0.0.1/tcp/0'], { MIRNET_TRANSPORT: 'tls,grpc' }, 'mirnet: listen address "/ip4/127.0.0.1/tcp/0" is a libp2p address, but the transports are tls, grpc'],
    [['--transport', 'tls,libp2p', '--listen', '/ip4/127.0.0.1/udp/0/quic-v1'], {}, 'mirnet: listen address "/ip4/127.0.0.1/udp/0/quic-v1" is of no transport\'s form'],
    [['--transport', 'tls', '--transport', 'tls'], {}, 'error: option \'--transport <names>\' argument \'tls\' is invalid. transport "tls" is named twice.'],
    [['--transport', 'libp2p,quic'], {}, 'error: option \'--transport <names>\' argument \'libp2p,quic\' is invalid. Allowed choices are libp2p, tls, grpc. "quic" is none of them.'],
    [['--transport', 'libp2p,'], {}, 'argument \'libp2p,\' is invalid. expected transports such as libp2p or libp2p,tls, got "libp2p,"']
  ])('refuses %j %j with a one-line error before it makes a key', async (args, env, message) => {
    const dir = await scratch.dir()
    const res = await mirnet(['serve', '--state-dir', dir, '--api', '127.0.0.1:0', ...args], env)
    expect(res.code).toBe(1)
    expect(res.stderr.split('\n')[0]).toContain(message)
    expect(res.stdout).toBe('')
    expect(existsSync(join(dir, 'node-0.key'))).toBe(false)
  })
})
