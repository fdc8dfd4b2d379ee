import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { connect, createServer } from 'node:net'
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals'
import { DelayProxy, addressVia } from '../bench/lib/delay-proxy.ts'
import { eventually } from './helpers/wait.ts'
import type { AddressInfo, Server, Socket } from 'node:net'

const DELAY_MS = 40
/** A late timer on a busy test machine: arrivals may be this much later than the delay, never earlier. */
const LATE_MS = 250
const MESSAGE_BYTES = 1024
const MESSAGES = 12

/** Open TCP handles of this process (sockets and servers). */
function tcpHandles (): number {
  return process.getActiveResourcesInfo().filter(r => r === 'TCPSocketWrap' || r === 'TCPServerWrap').length
}

function message (i: number): Buffer {
  return Buffer.alloc(MESSAGE_BYTES, i)
}

/** Collects a socket's bytes and stamps when each MESSAGE_BYTES-long message was complete. */
class Collector {
  readonly chunks: Buffer[] = []
  readonly completedAt: number[] = []
  bytes = 0
  #waiters: Array<{ bytes: number, resolve: () => void }> = []

  constructor (socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      const now = performance.now()
      this.chunks.push(chunk)
      this.bytes += chunk.byteLength
      while (this.completedAt.length < Math.floor(this.bytes / MESSAGE_BYTES)) this.completedAt.push(now)
      this.#waiters = this.#waiters.filter(w => {
        if (this.bytes < w.bytes) return true
        w.resolve()
        return false
      })
    })
  }

  async until (bytes: number): Promise<void> {
    if (this.bytes >= bytes) return
    await new Promise<void>(resolve => this.#waiters.push({ bytes, resolve }))
  }

  get data (): Buffer { return Buffer.concat(this.chunks) }
}

describe('DelayProxy', () => {
  let target: Server
  let accepted: Socket[]
  let proxy: DelayProxy | undefined
  let clients: Socket[]

  beforeEach(async () => {
    accepted = []
    clients = []
    target = createServer({ allowHalfOpen: true, noDelay: true }, socket => { accepted.push(socket) })
    target.listen(0, '127.0.0.1')
    await once(target, 'listening')
  })

  afterEach(async () => {
    await proxy?.close()
    proxy = undefined
    await Promise.all([...clients, ...accepted].map(async s => {
      if (s.closed) return
      const gone = new Promise(resolve => s.once('close', resolve))
      s.destroy()
      await gone
    }))
    target.close()
    await once(target, 'close')
  })

  async function start (delayMs: number, maxBufferedBytes?: number): Promise<DelayProxy> {
    proxy = await DelayProxy.start({ targetHost: '127.0.0.1', targetPort: (target.address() as AddressInfo).port, delayMs, maxBufferedBytes })
    return proxy
  }

  /** A client connected through the proxy, and the target's side of it. */
  async function dial (p: DelayProxy): Promise<{ client: Socket, server: Socket }> {
    const client = connect({ host: '127.0.0.1', port: p.port, noDelay: true, allowHalfOpen: true })
    clients.push(client)
    await once(client, 'connect')
    const [server] = await once(target, 'connection') as [Socket]
    return { client, server }
  }

  describe('with a one-way delay', () => {
    it('delivers the bytes in order, each message at least the delay later, in both directions', async () => {
      const p = await start(DELAY_MS)
      const { client, server } = await dial(p)
      const atServer = new Collector(server)
      const atClient = new Collector(client)
      // the target echoes what it gets: the way back through the proxy is delayed too
      server.on('data', (chunk: Buffer) => server.write(chunk))
      const sentAt: number[] = []
      for (let i = 0; i < MESSAGES; i++) {
        sentAt.push(performance.now())
        client.write(message(i))
        await new Promise(resolve => setTimeout(resolve, 5))
      }
      const total = MESSAGES * MESSAGE_BYTES
      await Promise.all([atServer.until(total), atClient.until(total)])
      const expected = Buffer.concat(Array.from({ length: MESSAGES }, (_, i) => message(i)))
      expect(atServer.data.equals(expected)).toBe(true)
      expect(atClient.data.equals(expected)).toBe(true)
      for (let i = 0; i < MESSAGES; i++) {
        const oneWay = atServer.completedAt[i] - sentAt[i]
        const back = atClient.completedAt[i] - atServer.completedAt[i]
        expect(oneWay).toBeGreaterThanOrEqual(DELAY_MS)
        expect(oneWay).toBeLessThan(DELAY_MS + LATE_MS)
        expect(back).toBeGreaterThanOrEqual(DELAY_MS)
        expect(back).toBeLessThan(DELAY_MS + LATE_MS)
      }
      expect(p.stats()).toMatchObject({ connections: 1, bytesToTarget: total, bytesFromTarget: total, errors: 0 })
    })

    it('keeps the order when the delay is lowered while bytes are held', async () => {
      const p = await start(60)
      const { client, server } = await dial(p)
      const atServer = new Collector(server)
      client.write(message(1))
      // the proxy holds the first message under the long delay before the change
      await eventually('the proxy to hold the first message', () => p.stats().peakBufferedBytes, n => n >= MESSAGE_BYTES)
      p.delayMs = 0
      client.write(message(2))
      await atServer.until(2 * MESSAGE_BYTES)
      expect(atServer.data.equals(Buffer.concat([message(1), message(2)]))).toBe(true)
    })

    it('forwards a half-close after the delay and ends the connection when both sides have', async () => {
      const p = await start(DELAY_MS)
      const { client, server } = await dial(p)
      server.resume()
      const endedAt = once(server, 'end').then(() => performance.now())
      const t0 = performance.now()
      client.end()
      expect(await endedAt - t0).toBeGreaterThanOrEqual(DELAY_MS)
      const clientClosed = once(client, 'close')
      client.resume()
      server.end()
      await clientClosed
      await eventually('the proxy to have no connection open', () => p.stats().open, n => n === 0, 5_000)
      expect(p.stats().errors).toBe(0)
    })
  })

  describe('without a delay', () => {
    it('moves more than maxBufferedBytes through without stalling', async () => {
      const maxBufferedBytes = 256 * 1024
      const p = await start(0, maxBufferedBytes)
      const { client, server } = await dial(p)
      const atServer = new Collector(server)
      const payload = randomBytes(4 * 1024 * 1024)
      client.end(payload)
      await once(server, 'end')
      expect(atServer.data.equals(payload)).toBe(true)
      expect(p.stats().peakBufferedBytes).toBeLessThanOrEqual(maxBufferedBytes + 1024 * 1024)
    })
  })

  describe('when the destination reads slowly', () => {
    it('stops reading at maxBufferedBytes and still delivers everything in order', async () => {
      const maxBufferedBytes = 256 * 1024
      const p = await start(5, maxBufferedBytes)
      const { client, server } = await dial(p)
      server.pause()
      const payload = randomBytes(8 * 1024 * 1024)
      client.write(payload)
      client.end()
      // the target reads nothing for a while: the proxy must not take in the 8 MiB meanwhile
      await new Promise(resolve => setTimeout(resolve, 200))
      const held = p.stats()
      expect(held.peakBufferedBytes).toBeLessThanOrEqual(maxBufferedBytes + 1024 * 1024)
      expect(held.bytesToTarget).toBeLessThan(payload.byteLength)
      const atServer = new Collector(server)
      server.resume()
      await once(server, 'end')
      expect(atServer.data.equals(payload)).toBe(true)
    })
  })

  describe('close()', () => {
    it('destroys open connections, refuses new ones, and leaves no socket open', async () => {
      // the process's TCP handles now: the target's server, and whatever an earlier test file is still closing
      const before = tcpHandles()
      const p = await start(DELAY_MS)
      const { client, server } = await dial(p)
      // destroyed with bytes in flight: each side sees the end (or a reset), and closes
      const errors: string[] = []
      const closed = Promise.all([client, server].map(async s => {
        s.on('error', (err: NodeJS.ErrnoException) => { errors.push(err.code ?? err.message) })
        s.on('end', () => { s.end() })
        s.resume()
        await new Promise(resolve => s.once('close', resolve))
      }))
      client.write(message(0))
      await p.close()
      await closed
      expect(errors.every(code => code === 'ECONNRESET')).toBe(true)
      await p.close()
      const refused = connect({ host: '127.0.0.1', port: p.port })
      const [err] = await once(refused, 'error') as [NodeJS.ErrnoException]
      expect(err.code).toBe('ECONNREFUSED')
      expect(p.stats().open).toBe(0)
      // no handle of the proxy's is left: at most what there was before it started
      await eventually(`at most the ${before} TCP handles of before the proxy`, () => tcpHandles(), n => n <= before, 5_000)
    })
  })
})

describe('addressVia()', () => {
  it('replaces the TCP port and keeps the peer id', () => {
    expect(addressVia('/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWabc', 5002)).toBe('/ip4/127.0.0.1/tcp/5002/p2p/12D3KooWabc')
  })
})
