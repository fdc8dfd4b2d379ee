import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals'
import { connect as http2Connect } from 'node:http2'
import { createClient } from '@connectrpc/connect'
import { createGrpcTransport } from '@connectrpc/connect-node'
import { TransportService } from '../gen/ts/mirnet/v1/transport_pb.ts'
import { ApiServer } from '../src/service/api-server.ts'
import type { Logger } from '../src/core/logger.ts'
import { eventually } from './helpers/wait.ts'

interface Entry { level: string, fields: object, msg?: string }

function recordingLogger (entries: Entry[]): Logger {
  const at = (level: string) => (fields: object, msg?: string): void => { entries.push({ level, fields, msg }) }
  const logger: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => logger }
  return logger
}

/**
 * The ApiServer serves connect's calls through its own request listener: a
 * client that goes away while its stream is being written is the daemon's
 * debug log, never a `console.error` on the daemon's stderr (connect-node's
 * adapter prints one per such call: `write ECANCELED`).
 */
describe('the API server\'s request listener', () => {
  const entries: Entry[] = []
  let server: ApiServer
  let ended = 0
  const payload = new Uint8Array(60 * 1024)

  beforeAll(async () => {
    server = await ApiServer.listen({
      host: '127.0.0.1',
      port: 0,
      readMaxBytes: 1 << 20,
      logger: recordingLogger(entries),
      routes: router => {
        router.service(TransportService, {
          async * receive (_req, ctx) {
            try {
              // as fast as the stream takes them, until the client goes away
              while (!ctx.signal.aborted) yield { messages: [{ from: 'n1', payload }] }
            } finally { ended++ }
          }
        })
      }
    })
  })

  afterAll(async () => { await server.close() })

  it('logs a client that cancels mid-stream at debug, and prints nothing', async () => {
    const printed = jest.spyOn(console, 'error')
    try {
      const calls = 20
      for (let i = 0; i < calls; i++) {
        // a connection per call, so that some cancellations are the connection closing under a write
        const client = createClient(TransportService, createGrpcTransport({ baseUrl: `http://${server.address}` }))
        const abort = new AbortController()
        let got = 0
        await expect((async () => {
          for await (const res of client.receive({}, { signal: abort.signal })) {
            got += res.messages.length
            if (got >= 3) abort.abort()
          }
        })()).rejects.toThrow()
        expect(got).toBeGreaterThanOrEqual(3)
      }
      await eventually(`all ${calls} Receive handlers to end`, () => ended === calls)
      expect(printed).not.toHaveBeenCalled()
      expect(entries.length).toBeGreaterThan(0)
      expect(entries.filter(e => e.level !== 'debug')).toEqual([])
      for (const e of entries) expect(e.msg).toBe('client went away before its response was written')
    } finally { printed.mockRestore() }
  })

  it('answers an unknown path with 404', async () => {
    const session = http2Connect(`http://${server.address}`)
    try {
      const status = await new Promise<number | undefined>((resolve, reject) => {
        const req = session.request({ ':method': 'POST', ':path': '/mirnet.v1.Nope/Nothing', 'content-type': 'application/grpc' })
        req.on('response', headers => { resolve(headers[':status']) })
        req.on('error', reject)
        req.end()
      })
      expect(status).toBe(404)
    } finally { session.close() }
  })
})
