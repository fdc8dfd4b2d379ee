/**
 * The transport a mirnet link worker runs, loaded only when asked for: a
 * worker of another system never loads node:http2 (the gRPC transport's).
 * With node:http2 merely loaded, a TLS receiver worker at times spun at 100%
 * CPU after `close` and never exited (seen on main's code with only
 * `import 'node:http2'` added: 2 of 4 runs), so the workers import the
 * core and each transport by file, not through src/index.ts.
 */
import type { PrivateKey } from '@libp2p/interface'
import type { Transport } from '../../src/core/transport.ts'

export type LinkTransportKind = 'libp2p' | 'tls' | 'grpc'

export async function createLinkTransport (kind: LinkTransportKind, privateKey: PrivateKey): Promise<Transport> {
  switch (kind) {
    case 'tls': return await (await import('../../src/transports/tls/tls-transport.ts')).TlsTransport.create({ privateKey })
    case 'grpc': return await (await import('../../src/transports/grpc/grpc-transport.ts')).GrpcTransport.create({ privateKey })
    case 'libp2p': return await (await import('../../src/transports/libp2p/libp2p-transport.ts')).Libp2pTransport.create({ privateKey })
  }
}
