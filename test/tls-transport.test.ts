import { X509Certificate, webcrypto } from 'node:crypto'
import { connect as tcpConnect, createServer as createTcpServer } from 'node:net'
import { connect as tlsConnect, createServer as createTlsServer } from 'node:tls'
import { afterEach, describe, expect, it } from '@jest/globals'
import { X509CertificateGenerator } from '@peculiar/x509'
import { describeNetworkBehaviour } from './network-behaviour.suite.ts'
import { TlsHarness } from './helpers/harness.ts'
import { generateKey } from '../src/transports/libp2p/keys.ts'
import { createIdentityCertificate, identityOfCertificate } from '../src/transports/tls/certificate.ts'
import { parseTlsAddress } from '../src/transports/tls/tls-address.ts'
import { TLS_ALPN_PROTOCOL, TlsTransport } from '../src/transports/tls/tls-transport.ts'
import { eventually } from './helpers/wait.ts'
import type { Server, Socket } from 'node:net'
import type { Channel } from '../src/core/transport.ts'
import type { PrivateKey } from '@libp2p/interface'

describe('NetworkModule over TLS (TCP + TLS 1.3, Ed25519 certificates, on 127.0.0.1)', () => {
  describeNetworkBehaviour(() => new TlsHarness())
})

type Crypto = Parameters<typeof X509CertificateGenerator.createSelfSigned>[1]

function pem (label: string, der: ArrayBuffer): string {
  const lines = Buffer.from(der).toString('base64').match(/.{1,64}/g) ?? []
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`
}

/** A self-signed ECDSA P-256 certificate: valid X.509, but not an Ed25519 identity. */
async function ecdsaCertificate (): Promise<{ key: string, cert: string }> {
  const keys = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])
  const cert = await X509CertificateGenerator.createSelfSigned({
    name: 'CN=ecdsa',
    keys,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' }
  }, webcrypto as unknown as Crypto)
  return { key: pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)), cert: cert.toString('pem') }
}

/** An Ed25519 certificate of one key signed by another: the holder can do the handshake, but it is not self-signed. */
async function crossSignedCertificate (): Promise<{ key: string, cert: string }> {
  const subject = await webcrypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify']) as unknown as webcrypto.CryptoKeyPair
  const signer = await webcrypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify']) as unknown as webcrypto.CryptoKeyPair
  const cert = await X509CertificateGenerator.create({
    subject: 'CN=subject',
    issuer: 'CN=subject',
    publicKey: subject.publicKey,
    signingKey: signer.privateKey,
    signingAlgorithm: { name: 'Ed25519' }
  }, webcrypto as unknown as Crypto)
  return { key: pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', subject.privateKey)), cert: cert.toString('pem') }
}

function hostPort (address: string): { host: string, port: number } {
  const { host, port } = parseTlsAddress(address, true)
  return { host, port }
}

/** Resolves when the socket closes, with the error it saw, if any. */
async function closed (socket: Socket): Promise<Error | undefined> {
  return await new Promise(resolve => {
    let error: Error | undefined
    socket.on('error', err => { error ??= err })
    socket.once('close', () => { resolve(error) })
  })
}

describe('TlsTransport', () => {
  const options = { handshakeTimeoutMs: 300, maxPendingHandshakes: 2 }
  const transports: TlsTransport[] = []
  const servers: Server[] = []
  const sockets: Socket[] = []
  afterEach(async () => {
    for (const s of sockets) s.destroy()
    sockets.length = 0
    await Promise.all(servers.map(async s => { await new Promise(resolve => s.close(resolve)) }))
    servers.length = 0
    await Promise.all(transports.map(async t => { await t.stop() }))
    transports.length = 0
  })

  /** A started transport (handshake timeout 300 ms, 2 pending handshakes at most) and the channels it accepted. */
  async function start (key?: PrivateKey): Promise<{ transport: TlsTransport, accepted: Channel[] }> {
    const accepted: Channel[] = []
    const transport = await TlsTransport.create({ ...options, privateKey: key ?? await generateKey() })
    transports.push(transport)
    await transport.start(channel => { accepted.push(channel) })
    return { transport, accepted }
  }

  async function node (key?: PrivateKey): Promise<TlsTransport> {
    return (await start(key)).transport
  }

  describe('addresses', () => {
    it('parses /ip4|ip6|dns…/tcp/<port>/tls/p2p/<peer id> and names the identity', async () => {
      const t = await node()
      const [address] = t.listenAddresses()
      expect(address).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/tls\/p2p\/12D3KooW/)
      expect(t.parseAddress(address)).toBe(t.localIdentity)
      expect(t.parseAddress(`/dns4/node-1.example/tcp/9000/tls/p2p/${t.localIdentity}`)).toBe(t.localIdentity)
      expect(t.parseAddress(`/ip6/::1/tcp/9000/tls/p2p/${t.localIdentity}`)).toBe(t.localIdentity)
      expect(Number(address.split('/')[4])).toBeGreaterThan(0)
    })

    it('refuses other addresses with the named errors', async () => {
      const t = await node()
      const id = t.localIdentity
      expect(() => t.parseAddress('/ip4/127.0.0.1/tcp/9000/tls')).toThrow(expect.objectContaining({ name: 'MissingPeerIdError' }))
      // a libp2p (Noise) address is not a TLS address
      expect(() => t.parseAddress(`/ip4/127.0.0.1/tcp/9000/p2p/${id}`)).toThrow(expect.objectContaining({ name: 'InvalidAddressError' }))
      expect(() => t.parseAddress('not an address')).toThrow(expect.objectContaining({ name: 'InvalidAddressError' }))
      expect(() => t.parseAddress(`/ip4/127.0.0.1/udp/9000/tls/p2p/${id}`)).toThrow(expect.objectContaining({ name: 'InvalidAddressError' }))
      expect(() => t.parseAddress('/ip4/127.0.0.1/tcp/9000/tls/p2p/notapeerid')).toThrow(expect.objectContaining({ name: 'InvalidAddressError' }))
    })
  })

  describe('authentication', () => {
    it('reports the peer id of each end\'s certificate as remoteIdentity, on both sides', async () => {
      const { transport: server, accepted } = await start()
      const client = await node()
      const channel = await client.dial(server.listenAddresses()[0], { signal: AbortSignal.timeout(5000) })
      expect(channel.remoteIdentity).toBe(server.localIdentity)
      await eventually('the server to accept', () => accepted.length === 1)
      expect(accepted[0].remoteIdentity).toBe(client.localIdentity)
    })

    it('presents a self-signed Ed25519 certificate of the node key, over TLS 1.3 only', async () => {
      const key = await generateKey()
      const server = await node(key)
      const { key: clientKey, cert } = await createIdentityCertificate(await generateKey()).then(c => ({ key: c.keyPem, cert: c.certPem }))
      const socket = tlsConnect({ ...hostPort(server.listenAddresses()[0]), key: clientKey, cert, rejectUnauthorized: false, ALPNProtocols: [TLS_ALPN_PROTOCOL] })
      sockets.push(socket)
      await new Promise<void>((resolve, reject) => { socket.once('secureConnect', resolve); socket.once('error', reject) })
      expect(socket.getProtocol()).toBe('TLSv1.3')
      const peerCert = socket.getPeerX509Certificate() as X509Certificate
      expect(peerCert.publicKey.asymmetricKeyType).toBe('ed25519')
      expect(peerCert.checkIssued(peerCert)).toBe(true)
      expect(identityOfCertificate(peerCert)).toBe(server.localIdentity)
      expect(identityOfCertificate(peerCert)).toBe(server.parseAddress(server.listenAddresses()[0]))
    })

    it('a dial that expects identity X but reaches a node with key Y fails with IdentityMismatchError', async () => {
      const { transport: y, accepted } = await start()
      const x = await node()
      const client = await node()
      const address = y.listenAddresses()[0].replace(y.localIdentity, x.localIdentity)
      await expect(client.dial(address, { signal: AbortSignal.timeout(5000) })).rejects.toMatchObject({ name: 'IdentityMismatchError' })
      // the right identity at the same address works
      const channel = await client.dial(y.listenAddresses()[0], { signal: AbortSignal.timeout(5000) })
      expect(channel.remoteIdentity).toBe(y.localIdentity)
      await eventually('the server to accept', () => accepted.length >= 1)
      expect(accepted.every(c => c.remoteIdentity === client.localIdentity)).toBe(true)
    })

    it('a dial to a server with a certificate that is not Ed25519 fails with PeerCertificateError', async () => {
      const { key, cert } = await ecdsaCertificate()
      const server = createTlsServer({ key, cert, ALPNProtocols: [TLS_ALPN_PROTOCOL], minVersion: 'TLSv1.3' }, s => { sockets.push(s) })
      servers.push(server)
      await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
      const port = (server.address() as { port: number }).port
      const client = await node()
      const someone = await node()
      await expect(client.dial(`/ip4/127.0.0.1/tcp/${port}/tls/p2p/${someone.localIdentity}`, { signal: AbortSignal.timeout(5000) }))
        .rejects.toMatchObject({ name: 'PeerCertificateError' })
    })

    const refused: Array<[string, () => Promise<{ key?: string, cert?: string }>]> = [
      ['no certificate', async () => ({})],
      ['an ECDSA certificate', ecdsaCertificate],
      ['an Ed25519 certificate not signed by its own key', crossSignedCertificate]
    ]
    for (const [what, credentials] of refused) {
      it(`refuses a client that presents ${what}, and never hands it to the core`, async () => {
        const { transport: server, accepted } = await start()
        const socket = tlsConnect({ ...hostPort(server.listenAddresses()[0]), ...await credentials(), rejectUnauthorized: false, ALPNProtocols: [TLS_ALPN_PROTOCOL] })
        sockets.push(socket)
        const ended = closed(socket)
        // TLS 1.3: the client finishes its side first; the server checks the client's certificate then and resets
        await new Promise<void>(resolve => { socket.once('secureConnect', resolve); socket.once('close', () => { resolve() }) })
        expect(await ended).toBeDefined()
        expect(accepted).toEqual([])
      })
    }

    it('refuses TLS 1.2', async () => {
      const { transport: server, accepted } = await start()
      const { keyPem, certPem } = await createIdentityCertificate(await generateKey())
      const socket = tlsConnect({ ...hostPort(server.listenAddresses()[0]), key: keyPem, cert: certPem, maxVersion: 'TLSv1.2', rejectUnauthorized: false, ALPNProtocols: [TLS_ALPN_PROTOCOL] })
      sockets.push(socket)
      let secured = false
      socket.once('secureConnect', () => { secured = true })
      const err = await closed(socket)
      expect(err).toBeDefined()
      expect(secured).toBe(false)
      expect(accepted).toEqual([])
    })

    it('refuses a client that does not speak the mirnet ALPN protocol', async () => {
      const { transport: server, accepted } = await start()
      const { keyPem, certPem } = await createIdentityCertificate(await generateKey())
      const socket = tlsConnect({ ...hostPort(server.listenAddresses()[0]), key: keyPem, cert: certPem, rejectUnauthorized: false, ALPNProtocols: ['h2'] })
      sockets.push(socket)
      expect(await closed(socket)).toBeDefined()
      expect(accepted).toEqual([])
    })
  })

  describe('limits', () => {
    it('drops a connection that never starts its handshake after handshakeTimeoutMs', async () => {
      const { transport: server } = await start()
      const t0 = performance.now()
      const socket = tcpConnect(hostPort(server.listenAddresses()[0]))
      sockets.push(socket)
      await closed(socket)
      const elapsed = performance.now() - t0
      expect(elapsed).toBeGreaterThanOrEqual(290)
      expect(elapsed).toBeLessThan(3000)
    })

    it('a dial to a server that never answers the handshake fails with HandshakeTimeoutError', async () => {
      const silent = createTcpServer(s => { sockets.push(s) })
      servers.push(silent)
      await new Promise<void>(resolve => silent.listen(0, '127.0.0.1', resolve))
      const port = (silent.address() as { port: number }).port
      const client = await node()
      const t0 = performance.now()
      await expect(client.dial(`/ip4/127.0.0.1/tcp/${port}/tls/p2p/${client.localIdentity}`, { signal: AbortSignal.timeout(5000) }))
        .rejects.toMatchObject({ name: 'HandshakeTimeoutError' })
      expect(performance.now() - t0).toBeGreaterThanOrEqual(290)
    })

    it('resets connections past maxPendingHandshakes at once, and accepts again once they are gone', async () => {
      const { transport: server, accepted } = await start()
      const target = hostPort(server.listenAddresses()[0])
      const idle = [tcpConnect(target), tcpConnect(target)]
      sockets.push(...idle)
      const idleClosed = idle.map(closed)
      await Promise.all(idle.map(async s => { await new Promise(resolve => s.once('connect', resolve)) }))
      const t0 = performance.now()
      const third = tcpConnect(target)
      sockets.push(third)
      await closed(third)
      // refused at once, long before the handshake timeout
      expect(performance.now() - t0).toBeLessThan(250)
      await Promise.all(idleClosed)
      const client = await node()
      await client.dial(server.listenAddresses()[0], { signal: AbortSignal.timeout(5000) })
      await eventually('the server to accept', () => accepted.length === 1)
    })
  })
})
