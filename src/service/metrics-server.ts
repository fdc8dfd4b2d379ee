import { createServer } from 'node:http'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Logger } from '../core/logger.ts'

export interface MetricsServerOptions {
  host: string
  port: number
  /** Produces the exposition text for one scrape. */
  scrape: () => Promise<string>
  /** Content type of what `scrape` returns. */
  contentType: string
  logger: Logger
}

/**
 * The Prometheus endpoint: plain HTTP/1.1, `GET /metrics` (and `HEAD`);
 * anything else is 404 or 405. It serves counters and gauges only, no
 * payloads and no keys, so it may listen on any address Prometheus reaches.
 */
export class MetricsServer {
  readonly host: string
  readonly port: number
  readonly #server: Server
  #closing?: Promise<void>

  private constructor (server: Server, host: string, port: number) {
    this.#server = server
    this.host = host
    this.port = port
  }

  static async listen (options: MetricsServerOptions): Promise<MetricsServer> {
    const log = options.logger
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?', 1)[0]
      if (path !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: metrics are at /metrics\n')
        return
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end(`method ${req.method ?? ''} not allowed\n`)
        return
      }
      options.scrape().then(text => {
        res.writeHead(200, { 'content-type': options.contentType })
        res.end(req.method === 'HEAD' ? undefined : text)
      }, (err: unknown) => {
        log.error({ err: String(err) }, 'collecting metrics failed')
        res.writeHead(500, { 'content-type': 'text/plain' }).end('collecting metrics failed\n')
      })
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(options.port, options.host, () => {
        server.off('error', reject)
        resolve()
      })
    })
    server.on('error', err => { log.error({ err: err.message }, 'metrics server error') })
    const { port } = server.address() as AddressInfo
    return new MetricsServer(server, options.host, port)
  }

  /** `host:port`, IPv6 hosts in brackets. */
  get address (): string {
    return this.host.includes(':') ? `[${this.host}]:${this.port}` : `${this.host}:${this.port}`
  }

  /** Stop listening and close every connection (scrapers keep theirs alive). Idempotent. */
  async close (): Promise<void> {
    this.#closing ??= new Promise<void>(resolve => {
      this.#server.close(() => { resolve() })
      this.#server.closeAllConnections()
    })
    await this.#closing
  }
}
