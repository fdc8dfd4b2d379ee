import { execFile } from 'node:child_process'
import { chmod, readdir, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals'
import { connect } from 'node:net'
import { createMirnetClient, receiveMessages } from '../src/client/client.ts'
import { BIN, BUF, Scratch, firstLine, freePort, mirnet, run, stop } from './helpers/processes.ts'
import { eventually } from './helpers/wait.ts'
import type { Ready } from './helpers/processes.ts'
import type { ChildProcess } from 'node:child_process'

const text = (s: string): Uint8Array => new TextEncoder().encode(s)
const str = (b: Uint8Array): string => new TextDecoder().decode(b)

describe('mirnet CLI', () => {
  let scratch: Scratch
  beforeEach(() => { scratch = new Scratch() })
  afterEach(async () => { await scratch.cleanup() })

  async function serve (nodeId: string, extra: string[] = [], env: Record<string, string> = {}): Promise<{ child: ChildProcess, ready: Ready }> {
    const dir = await scratch.dir()
    const child = scratch.spawn(['serve', '--node-id', nodeId, '--state-dir', dir, '--api', '127.0.0.1:0', '--log-level', 'warn', ...extra], env)
    return { child, ready: await firstLine<Ready>(child) }
  }

  describe('keys', () => {
    it('keygen writes a 0600 key and prints its peer id; id prints it again; nothing is overwritten', async () => {
      const dir = await scratch.dir()
      const file = join(dir, 'n.key')
      const gen = await mirnet(['keygen', '--out', file])
      expect(gen.code).toBe(0)
      expect(gen.stdout).toMatch(/^12D3KooW\w+\n$/)
      expect((await stat(file)).mode & 0o777).toBe(0o600)
      expect((await mirnet(['id', '--key-file', file])).stdout).toBe(gen.stdout)
      const again = await mirnet(['keygen', '--out', file])
      expect(again.code).toBe(1)
      expect(again.stderr).toContain('already exists')
    })

    it('serve refuses a key file others can read, with a clear error', async () => {
      const dir = await scratch.dir()
      const file = join(dir, 'n.key')
      await mirnet(['keygen', '--out', file])
      await chmod(file, 0o644)
      const res = await mirnet(['serve', '--key-file', file, '--api', '127.0.0.1:0'])
      expect(res.code).toBe(1)
      expect(res.stderr).toContain('must not be accessible by group or others')
    })

    it('serve takes a key file others can read with --allow-insecure-key-file, and uses that key', async () => {
      const dir = await scratch.dir()
      const file = join(dir, 'n.key')
      const peerId = (await mirnet(['keygen', '--out', file])).stdout.trim()
      await chmod(file, 0o644)
      const child = scratch.spawn(['serve', '--key-file', file, '--allow-insecure-key-file', '--api', '127.0.0.1:0', '--log-level', 'warn'])
      expect((await firstLine<Ready>(child)).peerId).toBe(peerId)
      expect(await stop(child)).toBe(0)
    })

    it('serve refuses a default key file under --state-dir that others can read', async () => {
      const dir = await scratch.dir()
      await mirnet(['keygen', '--out', join(dir, 'node-0.key')])
      await chmod(join(dir, 'node-0.key'), 0o640)
      const res = await mirnet(['serve', '--state-dir', dir, '--api', '127.0.0.1:0'])
      expect(res.code).toBe(1)
      expect(res.stderr).toContain(`key file ${join(dir, 'node-0.key')} has mode 640; it must not be accessible by group or others`)
    })
  })

  it.each([[[]], [['keygen']], [['id']], [['install-key']], [['serve']], [['cluster']], [['k8s']]])('answers --help for %j', async (args) => {
    const res = await mirnet([...args, '--help'])
    expect(res.code).toBe(0)
    expect(res.stdout).toContain('Usage: mirnet')
  })

  it('serve --help names every option\'s environment variable', async () => {
    const res = await mirnet(['serve', '--help'])
    for (const env of ['MIRNET_NODE_ID', 'MIRNET_KEY_FILE', 'MIRNET_LISTEN', 'MIRNET_API', 'MIRNET_MEMBERSHIP', 'MIRNET_QUEUE_CAPACITY', 'MIRNET_MAX_FRAME_BYTES']) {
      expect(res.stdout).toContain(env)
    }
  })

  describe('lanes', () => {
    it('serve --help explains the lane options with their defaults and environment variables', async () => {
      const res = await mirnet(['serve', '--help'])
      const help = res.stdout.replace(/\s+/g, ' ')
      expect(help).toContain('--lanes <spec> the lanes, top priority first')
      expect(help).toContain('NAME:strict (served first) or NAME:WEIGHT')
      expect(help).toContain(':window-bytes=SIZE')
      expect(help).toContain('(default control:strict,consensus:4,bulk:1) (env: MIRNET_LANES)')
      expect(help).toContain('--default-lane <name> the lane of messages that name none (default consensus')
      expect(help).toContain('(env: MIRNET_DEFAULT_LANE)')
      expect(help).toMatch(/--window-messages <n> .* \(default 4096\) \(env: MIRNET_WINDOW_MESSAGES\)/)
      expect(help).toMatch(/--window-bytes <n> .* \(default 262144\) \(env: MIRNET_WINDOW_BYTES\)/)
      expect(help).toMatch(/--chunk-bytes <n> .* \(default 16384\) \(env: MIRNET_CHUNK_BYTES\)/)
    })

    it('serves the lanes given by --lanes, --default-lane and the window flags', async () => {
      const { child, ready } = await serve('a', ['--lanes', 'votes:strict:window-messages=64,blocks:3:window-bytes=4MiB,sync:1', '--default-lane', 'sync', '--window-messages', '100', '--window-bytes', '65536', '--chunk-bytes', '8192'])
      const info = await createMirnetClient(ready.api).getInfo({})
      expect(info.defaultLane).toBe('sync')
      expect(info.lanes.map(l => [l.name, l.strict, l.weight, l.windowMessages, l.windowBytes])).toEqual([
        ['votes', true, 0, 64n, 65536n],
        ['blocks', false, 3, 100n, 4n * 1024n * 1024n],
        ['sync', false, 1, 100n, 65536n]
      ])
      expect(await stop(child)).toBe(0)
    })

    it('takes the lanes from MIRNET_LANES and MIRNET_DEFAULT_LANE', async () => {
      const { child, ready } = await serve('a', [], { MIRNET_LANES: 'hot:strict,cold:1', MIRNET_DEFAULT_LANE: 'hot' })
      const info = await createMirnetClient(ready.api).getInfo({})
      expect([info.defaultLane, ...info.lanes.map(l => l.name)]).toEqual(['hot', 'hot', 'cold'])
      expect(await stop(child)).toBe(0)
    })

    it.each([
      [['--lanes', 'control:strict,bulk'], {}, 'error: option \'--lanes <spec>\' argument \'control:strict,bulk\' is invalid. lane "bulk": expected NAME:strict or NAME:WEIGHT'],
      [['--lanes', 'a:2:window=1'], {}, 'argument \'a:2:window=1\' is invalid. lane "a": unknown setting "window=1" (known: queue-messages=…, queue-bytes=…, window-messages=…, window-bytes=…)'],
      [['--lanes', 'a:heavy'], {}, 'lane "a" weight: expected a whole number, got "heavy"'],
      [[], { MIRNET_LANES: 'a:1:window-bytes=lots' }, 'value \'a:1:window-bytes=lots\' from env \'MIRNET_LANES\' is invalid. lane "a" window-bytes: expected a number of bytes such as 65536, 64KiB or 4MiB, got "lots"'],
      [['--lanes', 'a:1,a:2'], {}, 'mirnet: lane "a" is configured twice'],
      [['--lanes', 'a:0'], {}, 'mirnet: lane "a": weight must be an integer 1-1000, got 0'],
      [['--default-lane', 'votes'], {}, 'mirnet: defaultLane "votes" is not one of the lanes (control, consensus, bulk)'],
      [['--window-bytes', '0'], {}, 'error: option \'--window-bytes <n>\' argument \'0\' is invalid. expected a positive integer, got "0"']
    ])('refuses %j %j with a one-line error', async (args, env, message) => {
      const dir = await scratch.dir()
      const res = await mirnet(['serve', '--state-dir', dir, '--api', '127.0.0.1:0', ...args], env)
      expect(res.code).toBe(1)
      // the error is the first line (commander's usage may follow)
      expect(res.stderr.split('\n')[0]).toContain(message)
    })
  })

  it('refuses to bind the API beyond loopback without a token or TLS', async () => {
    const dir = await scratch.dir()
    const res = await mirnet(['serve', '--state-dir', dir, '--api', '0.0.0.0:0'])
    expect(res.code).toBe(1)
    expect(res.stderr).toContain('--api-token-file')
  })

  it('refuses a membership file that is not a ConnectRequest', async () => {
    const dir = await scratch.dir()
    const file = join(dir, 'm.json')
    await writeFile(file, '{"members":[]}')
    const res = await mirnet(['serve', '--state-dir', dir, '--api', '127.0.0.1:0', '--membership', file])
    expect(res.code).toBe(1)
    expect(res.stderr).toContain(`membership file ${file} is not a ConnectRequest`)
  })

  it('creates a key under the state folder on first run and keeps it (the npm start default)', async () => {
    const dir = await scratch.dir()
    const first = scratch.spawn(['serve', '--state-dir', dir, '--api', '127.0.0.1:0'])
    const r1 = await firstLine<Ready>(first)
    expect(r1.nodeId).toBe('node-0')
    expect(await stop(first)).toBe(0)
    expect((await stat(join(dir, 'node-0.key'))).mode & 0o777).toBe(0o600)
    const second = scratch.spawn(['serve', '--state-dir', dir, '--api', '127.0.0.1:0'])
    expect((await firstLine<Ready>(second)).peerId).toBe(r1.peerId)
    expect(await stop(second, 'SIGINT')).toBe(0)
  })

  it('keeps Node\'s compile cache in the temp folder, for the next start', async () => {
    const dir = await scratch.dir()
    // the test run sets NODE_COMPILE_CACHE for all its processes: without it, mirnet's own default applies
    const { NODE_COMPILE_CACHE: _run, ...env } = process.env
    const res = await new Promise<number>(resolve => {
      execFile(process.execPath, [BIN, 'keygen', '--help'], { env: { ...env, TMPDIR: dir }, timeout: 30_000 }, err => { resolve(err === null ? 0 : 1) })
    })
    expect(res).toBe(0)
    expect((await readdir(join(dir, 'node-compile-cache'))).length).toBeGreaterThan(0)
  })

  it('takes its settings from MIRNET_* environment variables', async () => {
    const dir = await scratch.dir()
    const child = scratch.spawn(['serve'], { MIRNET_NODE_ID: 'from-env', MIRNET_STATE_DIR: dir, MIRNET_API: '127.0.0.1:0', MIRNET_MAX_FRAME_BYTES: '1024', MIRNET_QUEUE_MAX_BYTES: '4096' })
    const ready = await firstLine<Ready>(child)
    expect(ready.nodeId).toBe('from-env')
    const info = await createMirnetClient(ready.api).getInfo({})
    expect(info.maxPayloadBytes).toBe(1024n)
    expect(await stop(child)).toBe(0)
  })

  it('three daemons started through the CLI exchange messages all-to-all through Send and Receive', async () => {
    const daemons = await Promise.all(['a', 'b', 'c'].map(async id => await serve(id)))
    const nodes = daemons.map(d => ({ id: d.ready.nodeId, address: d.ready.listen[0] }))
    const clients = daemons.map(d => createMirnetClient(d.ready.api))
    await Promise.all(clients.map(async c => await c.connect({ nodes })))
    await Promise.all(clients.map(async c => await c.awaitConnections({ minConnected: 3 }, { timeoutMs: 15_000 })))

    const perPair = 500
    const ids = nodes.map(n => n.id)
    await Promise.all(clients.map(async (c, i) => {
      for (let k = 0; k < perPair; k += 50) {
        await c.send({
          messages: Array.from({ length: 50 }, (_, j) => ({ destinations: ids, payload: text(`${ids[i]}:${k + j}`) }))
        })
      }
    }))

    const received = await Promise.all(clients.map(async c => {
      const next = new Map<string, number>()
      let count = 0
      for await (const m of receiveMessages(c, { maxBatchMessages: 100, timeoutMs: 30_000 })) {
        const [sender, seq] = str(m.payload).split(':')
        expect(m.from).toBe(sender)
        expect(Number(seq)).toBe(next.get(sender) ?? 0)
        next.set(sender, Number(seq) + 1)
        if (++count === perPair * ids.length) break
      }
      return Object.fromEntries(next)
    }))
    for (const r of received) expect(r).toEqual({ a: perPair, b: perPair, c: perPair })
    for (const c of clients) {
      const status = await c.getStatus({})
      expect(status.totals).toMatchObject({ droppedMessages: 0n, lostInFlightMessages: 0n, deliveredMessages: BigInt(perPair * 3) })
    }

    // SIGTERM: an open Receive stream ends cleanly and the daemon exits 0
    const receiving = (async () => {
      for await (const _ of clients[0].receive({})) { /* nothing more arrives */ }
      return 'ended'
    })()
    await clients[0].getInfo({})
    expect(await stop(daemons[0].child)).toBe(0)
    await expect(receiving).resolves.toBe('ended')
    for (const d of daemons.slice(1)) expect(await stop(d.child)).toBe(0)
  })

  it('applies --membership at start', async () => {
    const b = await serve('b')
    const dir = await scratch.dir()
    const keyFile = join(dir, 'a.key')
    const peerId = (await mirnet(['keygen', '--out', keyFile])).stdout.trim()
    const port = await freePort()
    const membership = join(dir, 'membership.json')
    await writeFile(membership, JSON.stringify({
      nodes: [
        { id: 'a', address: `/ip4/127.0.0.1/tcp/${port}/p2p/${peerId}` },
        { id: 'b', address: b.ready.listen[0] }
      ]
    }))
    const a = scratch.spawn(['serve', '--node-id', 'a', '--key-file', keyFile, '--listen', `/ip4/127.0.0.1/tcp/${port}`, '--api', '127.0.0.1:0', '--membership', membership, '--log-level', 'warn'])
    const ready = await firstLine<Ready>(a)
    expect(ready.listen).toEqual([`/ip4/127.0.0.1/tcp/${port}/p2p/${peerId}`])
    const client = createMirnetClient(ready.api)
    await client.awaitConnections({ minConnected: 2 }, { timeoutMs: 15_000 })
    expect((await client.getStatus({})).peers.map(p => p.nodeId).sort()).toEqual(['a', 'b'])
  })

  it('answers buf curl through reflection (no schema) and the gRPC health check', async () => {
    const { ready } = await serve('a')
    const base = `http://${ready.api}`
    const flags = ['curl', '--protocol', 'grpc', '--http2-prior-knowledge']
    const info = await run(BUF, [...flags, `${base}/mirnet.v1.TransportService/GetInfo`])
    expect(info.stderr).toBe('')
    expect(JSON.parse(info.stdout)).toMatchObject({ nodeId: 'a', peerId: ready.peerId, listenAddresses: ready.listen })
    const sent = await run(BUF, [...flags, '-d', '{"messages":[{"destinations":["a"],"payload":"aGVsbG8="}]}', `${base}/mirnet.v1.TransportService/Send`])
    expect(JSON.parse(sent.stdout)).toEqual({ queued: '1' })
    const notFound = await run(BUF, [...flags, '-d', '{"messages":[{"destinations":["zz"],"payload":"aGVsbG8="}]}', `${base}/mirnet.v1.TransportService/Send`])
    expect(notFound.code).not.toBe(0)
    expect(notFound.stdout + notFound.stderr).toContain('not_found')
    const health = await run(BUF, [...flags, `${base}/grpc.health.v1.Health/Check`])
    expect(JSON.parse(health.stdout)).toEqual({ status: 'SERVING' })
    const service = await run(BUF, [...flags, '-d', '{"service":"mirnet.v1.TransportService"}', `${base}/grpc.health.v1.Health/Check`])
    expect(JSON.parse(service.stdout)).toEqual({ status: 'SERVING' })
  })

  it('cluster starts N connected daemons, prints a buf curl example, and stops them all on Ctrl-C', async () => {
    const basePort = await freePort()
    const cluster = scratch.spawn(['cluster', '--nodes', '2', '--base-port', String(basePort)])
    let stdout = ''
    cluster.stdout?.on('data', (d: Buffer) => { stdout += d.toString() })
    const ready = await firstLine<{ event: string, nodes: Ready[] }>(cluster, 60_000)
    expect(ready.nodes.map(n => n.api)).toEqual([`127.0.0.1:${basePort}`, `127.0.0.1:${basePort + 1}`])
    const [c0, c1] = ready.nodes.map(n => createMirnetClient(n.api))
    expect((await c0.getStatus({})).totals?.connected).toBe(2)
    await c0.send({ messages: [{ destinations: ['node-1'], payload: text('hi') }] })
    for await (const m of receiveMessages(c1)) {
      expect([m.from, str(m.payload)]).toEqual(['node-0', 'hi'])
      break
    }
    await eventually('the buf curl example on stdout', () => stdout, s => s.includes('buf curl --protocol grpc --http2-prior-knowledge'))
    expect(await stop(cluster, 'SIGINT')).toBe(0)
    // its daemons are gone with it: nothing listens on their API ports any more
    for (const n of ready.nodes) expect(await connectsTo(n.api)).toBe('ECONNREFUSED')
  })

  it('cluster daemons stop by themselves when the cluster process is killed', async () => {
    const basePort = await freePort()
    // a SIGKILLed cluster cannot remove its folder: keep it in ours
    const cluster = scratch.spawn(['cluster', '--nodes', '2', '--base-port', String(basePort), '--work-dir', await scratch.dir()])
    const ready = await firstLine<{ event: string, nodes: Ready[] }>(cluster, 60_000)
    expect(await stop(cluster, 'SIGKILL')).toBe(null)
    for (const n of ready.nodes) {
      await eventually(`${n.nodeId} to stop serving after its cluster was killed`, async () => await connectsTo(n.api), r => r !== 'connected')
    }
  })
})

async function connectsTo (address: string): Promise<string> {
  const [host, port] = address.split(':')
  return await new Promise(resolve => {
    const socket = connect(Number(port), host)
    socket.once('connect', () => { socket.destroy(); resolve('connected') })
    socket.once('error', (err: NodeJS.ErrnoException) => { resolve(err.code ?? err.message) })
  })
}

