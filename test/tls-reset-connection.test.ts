import { once } from 'node:events'
import { connect as tcpConnect } from 'node:net'
import { connect as tlsConnect, createServer as createTlsServer } from 'node:tls'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { generateKey } from '../src/transports/libp2p/keys.ts'
import { createIdentityCertificate } from '../src/transports/tls/certificate.ts'
import { resetConnection } from '../src/transports/tls/tls-channel.ts'
import type { Server, TLSSocket } from 'node:tls'
import type { Socket } from 'node:net'

/** A TLS connection to `server` over a TCP socket of our own, handshake done on both ends. */
async function connection (server: Server): Promise<{ socket: TLSSocket, tcp: Socket, remote: TLSSocket, errors: Error[] }> {
  const errors: Error[] = []
  const accepted = once(server, 'secureConnection')
  const tcp = tcpConnect({ host: '127.0.0.1', port: (server.address() as { port: number }).port })
  tcp.on('error', err => { errors.push(err) })
  const socket = tlsConnect({ socket: tcp, rejectUnauthorized: false, minVersion: 'TLSv1.3' })
  socket.on('error', err => { errors.push(err) })
  await once(socket, 'secureConnect')
  return { socket, tcp, remote: (await accepted)[0] as TLSSocket, errors }
}

/** Whether the socket closed (for a TCP socket: its handle with it) within 5 s, and with which error, if any. */
async function closing (socket: Socket): Promise<{ closed: boolean, error?: string }> {
  let error: string | undefined
  socket.on('error', (err: NodeJS.ErrnoException) => { error ??= err.code })
  // not events.once, which rejects on 'error'
  const closed = new Promise<boolean>(resolve => { socket.once('close', () => { resolve(true) }) })
  const timeout = new Promise<boolean>(resolve => { setTimeout(resolve, 5_000, false).unref() })
  return { closed: await Promise.race([closed, timeout]), error }
}

describe('resetConnection (the TLS transport drops a connection)', () => {
  let server: Server
  const accepted: TLSSocket[] = []
  beforeAll(async () => {
    const { keyPem, certPem } = await createIdentityCertificate(await generateKey())
    server = createTlsServer({ key: keyPem, cert: certPem, minVersion: 'TLSv1.3' }, s => {
      accepted.push(s)
      s.on('error', () => {})
      s.resume()
    })
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
  })
  afterAll(async () => {
    for (const s of accepted) s.destroy()
    server.close()
    await once(server, 'close')
  })

  it('resets an open connection: both sockets close, with no error, and the remote sees a reset', async () => {
    const { socket, tcp, remote, errors } = await connection(server)
    const remoteEnd = closing(remote)
    // in the turn that completed the handshake, the remote sees a clean end instead (node 24; see resetConnection)
    await new Promise(resolve => { setImmediate(resolve) })
    resetConnection(socket, tcp)
    expect(await closing(tcp)).toEqual({ closed: true })
    expect(socket.destroyed).toBe(true)
    expect(await remoteEnd).toEqual({ closed: true, error: 'ECONNRESET' })
    expect(errors).toEqual([])
  })

  it('closes a connection whose shutdown has begun, without the failed reset that would leak its handle', async () => {
    const { socket, tcp, errors } = await connection(server)
    socket.end()
    resetConnection(socket, tcp)
    expect(await closing(tcp)).toEqual({ closed: true })
    expect(socket.destroyed && tcp.destroyed).toBe(true)
    expect(errors.map(e => (e as NodeJS.ErrnoException).code)).toEqual([])
  })
})
