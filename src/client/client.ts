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

/**
 * Received messages one by one from a Receive stream. Leaving the loop (break,
 * return, throw) cancels the stream. With connect-es, breaking out of
 * `for await (… of client.receive())` does not cancel the HTTP/2 stream: the
 * daemon goes on handing it messages that are never read.
 */
export async function * receiveMessages (
  client: MirnetClient,
  options: { maxBatchMessages?: number, signal?: AbortSignal, timeoutMs?: number } = {}
): AsyncGenerator<{ from: string, payload: Uint8Array }, void, undefined> {
  const abort = new AbortController()
  const signal = options.signal === undefined ? abort.signal : AbortSignal.any([options.signal, abort.signal])
  const batches = client.receive({ maxBatchMessages: options.maxBatchMessages ?? 0 }, { signal, timeoutMs: options.timeoutMs })[Symbol.asyncIterator]()
  try {
    for (;;) {
      const next = await batches.next()
      if (next.done === true) return
      yield * next.value.messages
    }
  } finally {
    // cancel the call itself; the iterator's return() would wait for the stream to end
    abort.abort()
  }
}
