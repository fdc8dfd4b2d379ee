import { createClient } from '@connectrpc/connect'
import { createGrpcTransport } from '@connectrpc/connect-node'
import { TransportService } from '../../gen/ts/mirnet/v1/transport_pb.ts'
import type { Client } from '@connectrpc/connect'

export type MirnetClient = Client<typeof TransportService>

/**
 * A TypeScript client of a mirnet daemon's TransportService, over gRPC on
 * HTTP/2 without TLS. `address` is the daemon's `host:port` (as in its ready
 * line) or a full `http://` URL.
 */
export function createMirnetClient (address: string): MirnetClient {
  const baseUrl = address.startsWith('http') ? address : `http://${address}`
  return createClient(TransportService, createGrpcTransport({ baseUrl }))
}
