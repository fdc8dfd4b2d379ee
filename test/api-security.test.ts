import { chmod, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals'
import { Code, ConnectError, createClient } from '@connectrpc/connect'
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from '@connectrpc/connect-node'
import { credentials, Metadata, status as GrpcStatus } from '@grpc/grpc-js'
import type { ChannelCredentials, ServiceError } from '@grpc/grpc-js'
import { Health } from '../gen/ts/grpc/health/v1/health_pb.ts'
import { TransportService } from '../gen/ts/mirnet/v1/transport_pb.ts'
import { createMirnetClient, pullMessages, receiveMessages } from '../src/client/client.ts'
import type { MirnetClient, MirnetClientOptions } from '../src/client/client.ts'
import { silentLogger } from '../src/core/logger.ts'
import { Daemon } from '../src/daemon/daemon.ts'
import type { DaemonConfig } from '../src/daemon/daemon.ts'
import { generateKey } from '../src/transports/libp2p/keys.ts'
import { ServingStatus } from '../src/service/health.ts'
import { makeCa, makeClientCert, makeTestPki } from './helpers/certs.ts'
import type { TestPki } from './helpers/certs.ts'
import { grpcJsClient } from './helpers/daemons.ts'
import { BUF, Scratch, firstLine, freePort, mirnet, run, stop } from './helpers/processes.ts'
import type { Ready } from './helpers/processes.ts'

const TOKEN = 'c2VjcmV0LXRva2VuLW9mLXRoZS10ZXN0'
const text = (s: string): Uint8Array => new TextEncoder().encode(s)
const str = (b: Uint8Array): string => new TextDecoder().decode(b)

/** Start an in-process daemon; its API on `apiHost`, port 0. */
async function startDaemon (nodeId: string, api: Partial<DaemonConfig> & { apiHost: string }): Promise<Daemon> {
  return await Daemon.start({
    nodeId,
    privateKey: await generateKey(),
    listen: ['/ip4/127.0.0.1/tcp/0'],
    apiPort: 0,
    logger: silentLogger,
    ...api
  })
}

/** Where to reach a daemon: always 127.0.0.1, whatever address it listens on. */
function loopbackOf (daemon: Daemon): string {
  return `127.0.0.1:${daemon.info.api.slice(daemon.info.api.lastIndexOf(':') + 1)}`
}

async function failure (promise: Promise<unknown>): Promise<unknown> {
  return await promise.then(() => { throw new Error('the call succeeded') }, (err: unknown) => err)
}

type Self = { id: string, address: string }

/**
 * Every TransportService RPC through connect-es, in an order where each one
 * succeeds with the right credentials: Send and SendStream queue to the own
 * node, Pull takes the first message (the one of Send), Receive the next.
 */
function connectEsCalls (self: Self): Record<string, (c: MirnetClient) => Promise<unknown>> {
  return {
    getInfo: async c => (await c.getInfo({})).nodeId,
    connect: async c => await c.connect({ nodes: [self] }),
    send: async c => (await c.send({ messages: [{ destinations: [self.id], payload: text('send') }] })).queued,
    sendStream: async c => (await c.sendStream((async function * () {
      yield { messages: [{ destinations: [self.id], payload: text('sendStream') }] }
    })())).queued,
    pull: async c => (await pullMessages(c, { maxMessages: 1, waitMs: 30_000 })).map(m => str(m.payload)),
    receive: async c => {
      for await (const m of receiveMessages(c, { timeoutMs: 30_000 })) return str(m.payload)
      throw new Error('Receive ended without a message')
    },
    awaitConnections: async c => (await c.awaitConnections({ minConnected: 1 }, { timeoutMs: 30_000 })).connected,
    getStatus: async c => (await c.getStatus({})).nodeId,
    watchPeers: async c => {
      // cancelled by a signal, with the deadline as a signal too: connect-es keeps the timer of `timeoutMs` alive after a cancel
      const done = new AbortController()
      try {
        const events = c.watchPeers({}, { signal: AbortSignal.any([done.signal, AbortSignal.timeout(30_000)]) })[Symbol.asyncIterator]()
        const first = await events.next()
        if (first.done === true) throw new Error('WatchPeers ended without an event')
        return first.value.nodeId
      } finally {
        done.abort()
      }
    }
  }
}

type GrpcClient = ReturnType<typeof grpcJsClient>

function unary (client: GrpcClient, method: string, request: object, metadata: Metadata): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    client[method](request, metadata, (err: ServiceError | null, response: Record<string, unknown>) => {
      if (err !== null) reject(err)
      else resolve(response)
    })
  })
}

/** The same through @grpc/grpc-js: its unary Send takes the API server's fast path. */
function grpcJsCalls (self: Self): Record<string, (c: GrpcClient, md: Metadata) => Promise<unknown>> {
  return {
    getInfo: async (c, md) => (await unary(c, 'getInfo', {}, md)).nodeId,
    connect: async (c, md) => await unary(c, 'connect', { nodes: [self] }, md),
    send: async (c, md) => (await unary(c, 'send', { messages: [{ destinations: [self.id], payload: text('send') }] }, md)).queued,
    sendStream: async (c, md) => await new Promise((resolve, reject) => {
      const call = c.sendStream(md, (err: ServiceError | null, response: Record<string, unknown>) => {
        if (err !== null) reject(err)
        else resolve(response.queued)
      }) as NodeJS.WritableStream
      call.write({ messages: [{ destinations: [self.id], payload: text('sendStream') }] } as never)
      call.end()
    }),
    pull: async (c, md) => ((await unary(c, 'pull', { maxMessages: 1, waitMs: 30_000 }, md)).messages as Array<{ payload: Uint8Array }>).map(m => str(m.payload)),
    receive: async (c, md) => await new Promise((resolve, reject) => {
      const call = c.receive({}, md) as NodeJS.ReadableStream & { cancel: () => void }
      // after a message, the error is the CANCELLED of call.cancel()
      call.once('error', reject)
      call.once('data', (batch: { messages: Array<{ payload: Uint8Array }> }) => {
        resolve(str(batch.messages[0].payload))
        call.cancel()
      })
    }),
    awaitConnections: async (c, md) => (await unary(c, 'awaitConnections', { minConnected: 1 }, md)).connected,
    getStatus: async (c, md) => (await unary(c, 'getStatus', {}, md)).nodeId,
    watchPeers: async (c, md) => await new Promise((resolve, reject) => {
      const call = c.watchPeers({}, md) as NodeJS.ReadableStream & { cancel: () => void }
      call.once('error', reject)
      call.once('data', (event: { nodeId: string }) => {
        resolve(event.nodeId)
        call.cancel()
      })
    })
  }
}

/** What each call of the tables above gives when it works. */
function expectedResults (self: Self): Record<string, unknown> {
  return { getInfo: self.id, connect: expect.anything(), send: 1n, sendStream: 1n, pull: ['send'], receive: 'sendStream', awaitConnections: 1, getStatus: self.id, watchPeers: self.id }
}

function metadata (authorization?: string): Metadata {
  const md = new Metadata()
  if (authorization !== undefined) md.set('authorization', authorization)
  return md
}

async function bufCurl (args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  return await run(BUF, ['curl', '--protocol', 'grpc', ...args], { timeoutMs: 30_000 })
}

function closeGrpc (clients: GrpcClient[]): void {
  for (const c of clients) c.close()
}

describe('API security', () => {
  let scratch: Scratch
  beforeEach(() => { scratch = new Scratch() })
  afterEach(async () => { await scratch.cleanup() })

  /** A file holding `content` in a fresh scratch folder, for buf curl. */
  async function pemFile (name: string, content: string): Promise<string> {
    const path = join(await scratch.dir(), name)
    await writeFile(path, content, { mode: 0o600 })
    return path
  }

  it('covers every TransportService RPC in its call tables', () => {
    const methods = TransportService.methods.map(m => m.localName).sort()
    const self = { id: 'x', address: '' }
    expect(Object.keys(connectEsCalls(self)).sort()).toEqual(methods)
    expect(Object.keys(grpcJsCalls(self)).sort()).toEqual(methods)
  })

  describe('an API beyond loopback', () => {
    it('is refused without a token or TLS, with an error naming both options', async () => {
      const err = await failure(startDaemon('a', { apiHost: '0.0.0.0' }))
      expect(err).toMatchObject({ name: 'UnprotectedRemoteApiError' })
      expect((err as Error).message).toContain('0.0.0.0')
      expect((err as Error).message).toContain('--api-token-file')
      expect((err as Error).message).toContain('--api-tls-cert')
    })
  })

  describe('with a bearer token, on 0.0.0.0', () => {
    let daemon: Daemon
    let address: string
    let self: Self
    const grpcClients: GrpcClient[] = []

    beforeEach(async () => {
      daemon = await startDaemon('a', { apiHost: '0.0.0.0', apiToken: TOKEN })
      address = loopbackOf(daemon)
      self = { id: 'a', address: daemon.info.listen[0] }
    })

    afterEach(async () => {
      closeGrpc(grpcClients.splice(0))
      await daemon.stop()
    })

    /** A connect-es client that sends `authorization` as given (or none). */
    function connectEsWith (authorization?: string): MirnetClient {
      return createClient(TransportService, createGrpcTransport({
        baseUrl: `http://${address}`,
        interceptors: authorization === undefined
          ? []
          : [next => async req => { req.header.set('authorization', authorization); return await next(req) }]
      }))
    }

    const refusals: Array<[string, string | undefined, string]> = [
      ['no token', undefined, 'missing bearer token: calls to mirnet.v1.TransportService need the header "authorization: Bearer <token>"'],
      ['a wrong token', 'Bearer not-the-token', 'invalid bearer token for mirnet.v1.TransportService'],
      ['the token one character short', `Bearer ${TOKEN.slice(0, -1)}`, 'invalid bearer token'],
      ['another scheme', `Basic ${TOKEN}`, 'is not "Bearer <token>"']
    ]

    it.each(refusals)('refuses every call through connect-es with %s: UNAUTHENTICATED, nothing done', async (_, authorization, message) => {
      const client = connectEsWith(authorization)
      for (const [method, call] of Object.entries(connectEsCalls(self))) {
        const err = await failure(call(client))
        expect({ method, error: err }).toEqual({ method, error: expect.any(ConnectError) })
        expect({ method, code: (err as ConnectError).code, message: (err as ConnectError).rawMessage })
          .toEqual({ method, code: Code.Unauthenticated, message: expect.stringContaining(message) })
      }
      // the refused Send and SendStream queued nothing: the first message now is the next one
      const good = createMirnetClient(address, { token: TOKEN })
      await good.send({ messages: [{ destinations: ['a'], payload: text('after') }] })
      for await (const m of receiveMessages(good, { timeoutMs: 30_000 })) {
        expect(str(m.payload)).toBe('after')
        break
      }
    })

    it.each(refusals)('refuses every call through grpc-js with %s, the fast path\'s Send included', async (_, authorization, message) => {
      const client = grpcJsClient(address)
      grpcClients.push(client)
      for (const [method, call] of Object.entries(grpcJsCalls(self))) {
        const err = await failure(call(client, metadata(authorization))) as ServiceError
        // grpc-js undoes only part of the percent-encoding of grpc-message (decodeURI)
        expect({ method, code: err.code, details: decodeURIComponent(err.details) })
          .toEqual({ method, code: GrpcStatus.UNAUTHENTICATED, details: expect.stringContaining(message) })
      }
      const status = await unary(client, 'getStatus', {}, metadata(`Bearer ${TOKEN}`))
      expect(status.totals).toMatchObject({ inboxMessages: 0n, deliveredMessages: 0n })
      expect((await unary(client, 'send', { messages: [{ destinations: ['a'], payload: text('after') }] }, metadata(`Bearer ${TOKEN}`))).queued).toBe(1n)
      expect(await grpcJsCalls(self).receive(client, metadata(`Bearer ${TOKEN}`))).toBe('after')
    })

    it('serves every call with the token, through connect-es', async () => {
      const client = createMirnetClient(address, { token: TOKEN })
      const results: Record<string, unknown> = {}
      for (const [method, call] of Object.entries(connectEsCalls(self))) results[method] = await call(client)
      expect(results).toEqual(expectedResults(self))
    })

    it('serves every call with the token, through grpc-js', async () => {
      const client = grpcJsClient(address)
      grpcClients.push(client)
      const results: Record<string, unknown> = {}
      for (const [method, call] of Object.entries(grpcJsCalls(self))) results[method] = await call(client, metadata(`Bearer ${TOKEN}`))
      expect(results).toEqual(expectedResults(self))
    })

    it.each([
      ['Connect', createConnectTransport],
      ['gRPC-Web', createGrpcWebTransport]
    ])('checks the token of %s calls as well', async (_, createTransport) => {
      const client = (token?: string): MirnetClient => createClient(TransportService, createTransport({
        baseUrl: `http://${address}`,
        httpVersion: '2',
        interceptors: token === undefined ? [] : [next => async req => { req.header.set('authorization', `Bearer ${token}`); return await next(req) }]
      }))
      expect(await failure(client().send({ messages: [{ destinations: ['a'], payload: text('x') }] }))).toMatchObject({ code: Code.Unauthenticated })
      expect(await failure(client('wrong').getInfo({}))).toMatchObject({ code: Code.Unauthenticated })
      expect((await client(TOKEN).getInfo({})).nodeId).toBe('a')
    })

    it('answers grpc.health.v1.Health without a token (Kubernetes gRPC probes send none)', async () => {
      const health = createClient(Health, createGrpcTransport({ baseUrl: `http://${address}` }))
      expect((await health.check({ service: '' })).status).toBe(ServingStatus.SERVING)
      expect((await health.check({ service: TransportService.typeName })).status).toBe(ServingStatus.SERVING)
      const grpcHealth = grpcJsClient(address, { service: Health })
      grpcClients.push(grpcHealth)
      expect((await unary(grpcHealth, 'check', { service: '' }, metadata())).status).toBe(ServingStatus.SERVING)
    })

    it('requires the token for server reflection: buf curl works with -H, not without', async () => {
      const url = `http://${address}`
      const without = await bufCurl(['--http2-prior-knowledge', '--list-services', url])
      expect(without.code).not.toBe(0)
      // buf reads UNAUTHENTICATED as a missing login of its own
      expect(without.stderr).toMatch(/unauthenticated|not authenticated/)
      // buf curl sends -H headers to reflection only with --reflect-header '*'
      const header = ['-H', `Authorization: Bearer ${TOKEN}`, '--reflect-header', '*']
      const services = await bufCurl(['--http2-prior-knowledge', ...header, '--list-services', url])
      expect(services.stdout.trim().split('\n')).toContain('mirnet.v1.TransportService')
      const info = await bufCurl(['--http2-prior-knowledge', ...header, `${url}/mirnet.v1.TransportService/GetInfo`])
      expect(JSON.parse(info.stdout)).toMatchObject({ nodeId: 'a', peerId: daemon.info.peerId })
    })
  })

  describe('over TLS', () => {
    let pki: TestPki
    beforeAll(async () => { pki = await makeTestPki() })

    describe('on 127.0.0.1, without client certificates', () => {
      let daemon: Daemon
      let address: string
      const grpcClients: GrpcClient[] = []

      beforeEach(async () => {
        daemon = await startDaemon('a', { apiHost: '127.0.0.1', apiTls: pki.server })
        address = loopbackOf(daemon)
      })

      afterEach(async () => {
        closeGrpc(grpcClients.splice(0))
        await daemon.stop()
      })

      it('serves a client that trusts the CA, through connect-es and grpc-js', async () => {
        const client = createMirnetClient(address, { tls: { ca: pki.ca.cert } })
        expect((await client.getInfo({})).nodeId).toBe('a')
        expect((await createMirnetClient(`https://${address}`, { tls: { ca: pki.ca.cert } }).getStatus({})).nodeId).toBe('a')
        const grpc = grpcJsClient(address, { channel: credentials.createSsl(Buffer.from(pki.ca.cert)) })
        grpcClients.push(grpc)
        expect((await unary(grpc, 'send', { messages: [{ destinations: ['a'], payload: text('over tls') }] }, metadata())).queued).toBe(1n)
        expect(await grpcJsCalls({ id: 'a', address: '' }).receive(grpc, metadata())).toBe('over tls')
      })

      it('fails a plaintext (h2c) client and one that does not trust the CA', async () => {
        expect(await failure(createMirnetClient(address).getInfo({}, { timeoutMs: 20_000 }))).toBeInstanceOf(ConnectError)
        const untrusting = await failure(createMirnetClient(address, { tls: {} }).getInfo({}, { timeoutMs: 20_000 }))
        expect((untrusting as ConnectError).rawMessage).toContain('unable to verify the first certificate')
        const grpc = grpcJsClient(address)
        grpcClients.push(grpc)
        expect((await failure(unary(grpc, 'getInfo', {}, metadata())) as ServiceError).code).toBe(GrpcStatus.UNAVAILABLE)
        // the daemon goes on serving
        expect((await createMirnetClient(address, { tls: { ca: pki.ca.cert } }).getInfo({})).nodeId).toBe('a')
      })

      it('serves buf curl given the CA', async () => {
        const info = await bufCurl(['--cacert', await pemFile('ca.pem', pki.ca.cert), `https://${address}/mirnet.v1.TransportService/GetInfo`])
        expect(JSON.parse(info.stdout)).toMatchObject({ nodeId: 'a' })
      })
    })

    describe('with client certificates and a token, on 0.0.0.0', () => {
      let daemon: Daemon
      let address: string
      const grpcClients: GrpcClient[] = []

      beforeEach(async () => {
        daemon = await startDaemon('a', { apiHost: '0.0.0.0', apiToken: TOKEN, apiTls: { ...pki.server, clientCa: pki.ca.cert } })
        address = loopbackOf(daemon)
      })

      afterEach(async () => {
        closeGrpc(grpcClients.splice(0))
        await daemon.stop()
      })

      const call = async (options: MirnetClientOptions): Promise<unknown> => await createMirnetClient(address, options).getInfo({}, { timeoutMs: 20_000 })

      it('fails a client without a certificate or with one of another CA', async () => {
        const without = await failure(call({ token: TOKEN, tls: { ca: pki.ca.cert } }))
        expect((without as ConnectError).rawMessage).toContain('certificate required')
        const stranger = await makeClientCert(await makeCa('another CA'), 'stranger')
        const foreign = await failure(call({ token: TOKEN, tls: { ca: pki.ca.cert, ...stranger } }))
        // TLS 1.3: the client finishes its handshake before the server checks its certificate
        expect(foreign).toBeInstanceOf(ConnectError)
        const grpc = grpcJsClient(address, { channel: credentials.createSsl(Buffer.from(pki.ca.cert)) })
        grpcClients.push(grpc)
        expect((await failure(unary(grpc, 'send', { messages: [{ destinations: ['a'], payload: text('x') }] }, metadata(`Bearer ${TOKEN}`))) as ServiceError).code)
          .toBe(GrpcStatus.UNAVAILABLE)
      })

      it('wants the token as well as the certificate, and serves a client with both', async () => {
        const tls = { ca: pki.ca.cert, ...pki.client }
        expect(await failure(call({ tls }))).toMatchObject({ code: Code.Unauthenticated })
        expect(await call({ token: TOKEN, tls })).toMatchObject({ nodeId: 'a' })
        const grpc = grpcJsClient(address, { channel: credentials.createSsl(Buffer.from(pki.ca.cert), Buffer.from(pki.client.key), Buffer.from(pki.client.cert)) })
        grpcClients.push(grpc)
        const send = { messages: [{ destinations: ['a'], payload: text('x') }] }
        expect((await failure(unary(grpc, 'send', send, metadata())) as ServiceError).code).toBe(GrpcStatus.UNAUTHENTICATED)
        expect((await unary(grpc, 'send', send, metadata(`Bearer ${TOKEN}`))).queued).toBe(1n)
      })

      it('serves buf curl given the CA, a client certificate and the token', async () => {
        const args = ['--cacert', await pemFile('ca.pem', pki.ca.cert), '--cert', await pemFile('client.pem', pki.client.cert), '--key', await pemFile('client.key', pki.client.key)]
        const info = await bufCurl([...args, '-H', `Authorization: Bearer ${TOKEN}`, '--reflect-header', '*', `https://${address}/mirnet.v1.TransportService/GetInfo`])
        expect(info).toMatchObject({ code: 0, stderr: '' })
        expect(JSON.parse(info.stdout)).toMatchObject({ nodeId: 'a' })
      })
    })
  })

  describe('through the CLI', () => {
    let pki: TestPki
    beforeAll(async () => { pki = await makeTestPki() })

    let dir: string
    let children: Array<ReturnType<Scratch['spawn']>>
    beforeEach(async () => {
      dir = await scratch.dir()
      children = []
    })
    // before the scratch's cleanup: each daemon must stop cleanly (exit 0)
    afterEach(async () => {
      for (const child of children) expect(await stop(child)).toBe(0)
    })

    async function file (name: string, content: string, mode = 0o600): Promise<string> {
      const path = join(dir, name)
      await writeFile(path, content, { mode })
      await chmod(path, mode)
      return path
    }

    async function serve (args: string[], env: Record<string, string> = {}): Promise<{ ready: Ready, address: string }> {
      const child = scratch.spawn(['serve', '--node-id', 'a', '--state-dir', dir, '--log-level', 'warn', ...args], env)
      const ready = await firstLine<Ready>(child)
      children.push(child)
      return { ready, address: `127.0.0.1:${ready.api.slice(ready.api.lastIndexOf(':') + 1)}` }
    }

    it('refuses --api 0.0.0.0 without a token or TLS, naming the options', async () => {
      const res = await mirnet(['serve', '--state-dir', dir, '--api', '0.0.0.0:0'])
      expect(res.code).toBe(1)
      expect(res.stderr).toContain('refusing to serve the API on 0.0.0.0')
      expect(res.stderr).toContain('--api-token-file')
      expect(res.stderr).toContain('--api-tls-cert')
    })

    it('serves 0.0.0.0 with MIRNET_API_TOKEN_FILE, and checks the token', async () => {
      const tokenFile = await file('api.token', `${TOKEN}\n`)
      const { ready, address } = await serve(['--api', '0.0.0.0:0'], { MIRNET_API_TOKEN_FILE: tokenFile })
      expect(ready.api).toMatch(/^0\.0\.0\.0:\d+$/)
      expect((await createMirnetClient(address, { token: TOKEN }).getInfo({})).nodeId).toBe('a')
      expect(await failure(createMirnetClient(address).getInfo({}))).toMatchObject({ code: Code.Unauthenticated })
    })

    it('refuses a token file group or others can read, unless --allow-insecure-api-token-file', async () => {
      const tokenFile = await file('api.token', TOKEN, 0o644)
      const res = await mirnet(['serve', '--state-dir', dir, '--api', '127.0.0.1:0', '--api-token-file', tokenFile])
      expect(res.code).toBe(1)
      expect(res.stderr).toContain(`API token file ${tokenFile} has mode 644; it must not be accessible by group or others`)
      expect(res.stderr).toContain('--allow-insecure-api-token-file')
      const { address } = await serve(['--api', '127.0.0.1:0', '--api-token-file', tokenFile, '--allow-insecure-api-token-file'])
      expect(await failure(createMirnetClient(address).getInfo({}))).toMatchObject({ code: Code.Unauthenticated })
      expect((await createMirnetClient(address, { token: TOKEN }).getInfo({})).nodeId).toBe('a')
    })

    it.each([
      ['an empty token file', '\n', 'is empty'],
      ['a token with a space', 'two words', 'must hold one token of visible ASCII characters without spaces']
    ])('refuses %s', async (_, content, message) => {
      const tokenFile = await file('api.token', content)
      const res = await mirnet(['serve', '--state-dir', dir, '--api', '127.0.0.1:0', '--api-token-file', tokenFile])
      expect(res.code).toBe(1)
      expect(res.stderr).toContain(`API token file ${tokenFile} ${message}`)
    })

    it('serves TLS with client certificates from --api-tls-* files', async () => {
      const args = [
        '--api', '0.0.0.0:0',
        '--api-tls-cert', await file('server.pem', pki.server.cert, 0o644),
        '--api-tls-key', await file('server.key', pki.server.key),
        '--api-tls-client-ca', await file('ca.pem', pki.ca.cert, 0o644)
      ]
      const { address } = await serve(args)
      expect((await createMirnetClient(address, { tls: { ca: pki.ca.cert, ...pki.client } }).getInfo({})).nodeId).toBe('a')
      expect(await failure(createMirnetClient(address, { tls: { ca: pki.ca.cert } }).getInfo({}, { timeoutMs: 20_000 }))).toBeInstanceOf(ConnectError)
    })

    it('refuses a TLS key group or others can read, unless --allow-insecure-api-tls-key', async () => {
      const args = ['--api', '127.0.0.1:0', '--api-tls-cert', await file('server.pem', pki.server.cert, 0o644), '--api-tls-key', await file('server.key', pki.server.key, 0o640)]
      const res = await mirnet(['serve', '--state-dir', dir, ...args])
      expect(res.code).toBe(1)
      expect(res.stderr).toContain('has mode 640; it must not be accessible by group or others')
      expect(res.stderr).toContain('--allow-insecure-api-tls-key')
      const { address } = await serve([...args, '--allow-insecure-api-tls-key'])
      expect((await createMirnetClient(address, { tls: { ca: pki.ca.cert } }).getInfo({})).nodeId).toBe('a')
    })

    it('refuses TLS options that do not go together', async () => {
      const cert = await file('server.pem', pki.server.cert, 0o644)
      const otherKey = await file('other.key', (await makeCa('other')).key)
      const serveWith = async (...args: string[]): Promise<string> => {
        const res = await mirnet(['serve', '--state-dir', dir, '--api', '127.0.0.1:0', ...args])
        expect(res.code).toBe(1)
        return res.stderr
      }
      expect(await serveWith('--api-tls-cert', cert)).toContain('--api-tls-cert and --api-tls-key go together')
      expect(await serveWith('--api-tls-client-ca', cert)).toContain('--api-tls-client-ca needs --api-tls-cert and --api-tls-key')
      expect(await serveWith('--api-tls-cert', cert, '--api-tls-key', otherKey)).toContain(`API TLS certificate ${cert} and key ${otherKey} cannot be used together`)
    })

    it('keeps mirnet cluster on loopback without credentials, whatever MIRNET_API_TOKEN_FILE and MIRNET_API_TLS_* say', async () => {
      const basePort = await freePort()
      const cluster = scratch.spawn(['cluster', '--nodes', '1', '--base-port', String(basePort), '--work-dir', dir], {
        MIRNET_API_TOKEN_FILE: await file('api.token', TOKEN),
        MIRNET_API_TLS_CERT: await file('server.pem', pki.server.cert),
        MIRNET_API_TLS_KEY: await file('server.key', pki.server.key)
      })
      const ready = await firstLine<{ nodes: Ready[] }>(cluster, 60_000)
      expect((await createMirnetClient(ready.nodes[0].api).getInfo({})).nodeId).toBe('node-0')
      children.push(cluster)
    })

    it('documents the API security options in serve --help', async () => {
      const help = (await mirnet(['serve', '--help'])).stdout
      for (const s of ['--api-token-file', 'MIRNET_API_TOKEN_FILE', '--api-tls-cert', 'MIRNET_API_TLS_CERT', '--api-tls-key', 'MIRNET_API_TLS_KEY', '--api-tls-client-ca', 'MIRNET_API_TLS_CLIENT_CA', 'grpc.health.v1.Health']) {
        expect(help).toContain(s)
      }
    })
  })
})
