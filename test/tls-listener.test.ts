import { connect as tcpConnect } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import { afterEach, describe, expect, it } from '@jest/globals'
import { generateKey, peerIdOf } from '../src/transports/libp2p/keys.ts'
import { createIdentityCertificate, createIdentityContext } from '../src/transports/tls/certificate.ts'
import { resetConnection } from '../src/transports/tls/tls-channel.ts'
import { TLS_ALPN_PROTOCOL } from '../src/transports/tls/tls-handshake.ts'
import { TlsListener } from '../src/transports/tls/tls-listener.ts'
import { eventually } from './helpers/wait.ts'
import type { InboundHandshake, TlsListenerInit } from '../src/transports/tls/tls-listener.ts'
import type { Socket } from 'node:net'
import type { TLSSocket } from 'node:tls'

/** Resolves when the socket closes, with the error it saw, if any. */
async function closed (socket: Socket): Promise<Error | undefined> {
  return await new Promise(resolve => {
    let error: Error | undefined
    socket.on('error', err => { error ??= err })
    socket.once('close', () => { resolve(error) })
  })
}

describe('TlsListener', () => {
  const clients: Socket[] = []
  const owned = new Map<TLSSocket, Socket>()
  let listener: TlsListener | undefined
  afterEach(async () => {
    for (const c of clients) c.destroy()
    clients.length = 0
    for (const [socket, tcp] of owned) resetConnection(socket, tcp)
    await listener?.close()
    listener = undefined
    owned.clear()
  })

  /**
   * A listener on 127.0.0.1 whose `onAuthenticated` records the handshake
   * and, with `finish`, calls `done()` at once; refused connections are
   * recorded with their reason.
   */
  async function listen (limits: Partial<TlsListenerInit>, finish = true): Promise<{ port: number, authenticated: InboundHandshake[], dropped: Error[] }> {
    const authenticated: InboundHandshake[] = []
    const dropped: Error[] = []
    listener = new TlsListener({
      secureContext: await createIdentityContext(await generateKey()),
      alpn: TLS_ALPN_PROTOCOL,
      handshakeTimeoutMs: 5000,
      maxPendingHandshakes: 8,
      maxInboundConnections: 8,
      allowHalfOpen: true,
      label: 'TLS',
      handshakeName: 'TLS handshake',
      ...limits
    }, {
      own: (socket, tcp) => {
        owned.set(socket, tcp)
        socket.once('close', () => { owned.delete(socket) })
      },
      drop: (socket, tcp, err) => {
        dropped.push(err)
        resetConnection(socket, tcp)
      },
      onSocketError: () => {}
    })
    await listener.listen([{ address: 'test', host: '127.0.0.1', port: 0 }], handshake => {
      if (finish) handshake.done()
      authenticated.push(handshake)
    })
    return { port: listener.addresses()[0].port, authenticated, dropped }
  }

  /** A TLS client presenting the certificate of a new key; resolves with the socket and that key's peer id once it connected. */
  async function client (port: number): Promise<{ socket: TLSSocket, identity: string }> {
    const key = await generateKey()
    const { keyPem, certPem } = await createIdentityCertificate(key)
    const socket = tlsConnect({ host: '127.0.0.1', port, key: keyPem, cert: certPem, rejectUnauthorized: false, ALPNProtocols: [TLS_ALPN_PROTOCOL] })
    clients.push(socket)
    socket.on('error', () => {})
    await new Promise<void>(resolve => socket.once('secureConnect', () => { resolve() }))
    return { socket, identity: peerIdOf(key) }
  }

  it('hands over a peer that finished TLS, with the peer id of its certificate', async () => {
    const { port, authenticated } = await listen({})
    const { identity } = await client(port)
    const [handshake] = await eventually('the peer to be authenticated', () => authenticated.length === 1 && authenticated)
    expect(handshake.identity).toBe(identity)
    expect(handshake.remote).toMatch(/^127\.0\.0\.1:\d+$/)
  })

  describe('when maxInboundConnections are open', () => {
    it('resets a new connection at once, and accepts again once one has closed', async () => {
      const { port, authenticated, dropped } = await listen({ maxInboundConnections: 1 })
      const first = await client(port)
      await eventually('the first peer to be authenticated', () => authenticated.length === 1)
      const second = tcpConnect({ host: '127.0.0.1', port })
      clients.push(second)
      expect(await closed(second)).toMatchObject({ code: 'ECONNRESET' })
      // reset at accept, not refused later (by the handshake timeout)
      expect(dropped).toEqual([])
      // the transport drops the first connection
      const firstGone = closed(first.socket)
      resetConnection(authenticated[0].socket, authenticated[0].tcp)
      await firstGone
      const third = await client(port)
      const handshakes = await eventually('the third peer to be authenticated', () => authenticated.length === 2 && authenticated)
      expect(handshakes[1].identity).toBe(third.identity)
    })
  })

  describe('when the transport does not call done() within handshakeTimeoutMs', () => {
    it('refuses the connection with HandshakeTimeoutError', async () => {
      const { port, authenticated, dropped } = await listen({ handshakeTimeoutMs: 300 }, false)
      const { socket } = await client(port)
      await eventually('the peer to be authenticated', () => authenticated.length === 1)
      await closed(socket)
      expect(dropped.map(e => e.name)).toEqual(['HandshakeTimeoutError'])
      expect(dropped[0].message).toMatch(/^no TLS handshake from 127\.0\.0\.1:\d+ within 300 ms$/)
    })
  })
})
