import { createServer } from 'node:http2'
import { connectNodeAdapter } from '@connectrpc/connect-node'
import type { Http2Server, Http2Session } from 'node:http2'
import type { AddressInfo } from 'node:net'
import type { ConnectRouter } from '@connectrpc/connect'
import type { Logger } from '../core/logger.ts'

export interface ApiServerOptions {
  host: string
  port: number
  routes: (router: ConnectRouter) => void
  /** Largest request message accepted. */
  readMaxBytes: number
  logger: Logger
}

/**
 * The API endpoint: HTTP/2 without TLS (h2c), where one port answers gRPC,
 * Connect and gRPC-Web. Responses are never compressed: on a local link gzip
 * costs far more than it saves.
 */
export class ApiServer {
  readonly host: string
  readonly port: number
  readonly #server: Http2Server
  readonly #sessions = new Set<Http2Session>()
  #closing?: Promise<void>

  private constructor (server: Http2Server, host: string, port: number) {
    this.#server = server
    this.host = host
    this.port = port
    server.on('session', session => {
      this.#sessions.add(session)
      session.once('close', () => this.#sessions.delete(session))
    })
  }

  static async listen (options: ApiServerOptions): Promise<ApiServer> {
    const handler = connectNodeAdapter({
      routes: options.routes,
      acceptCompression: [],
      readMaxBytes: options.readMaxBytes
    })
    const server = createServer(handler)
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(options.port, options.host, () => {
        server.off('error', reject)
        resolve()
      })
    })
    server.on('error', err => { options.logger.error({ err: err.message }, 'API server error') })
    const { port } = server.address() as AddressInfo
    return new ApiServer(server, options.host, port)
  }

  /** `host:port`, IPv6 hosts in brackets. */
  get address (): string {
    return this.host.includes(':') ? `[${this.host}]:${this.port}` : `${this.host}:${this.port}`
  }

  /**
   * Stop accepting connections, let calls in progress finish for up to
   * `graceMs`, then close what is left. Idempotent.
   */
  async close (graceMs = 2_000): Promise<void> {
    this.#closing ??= this.#close(graceMs)
    await this.#closing
  }

  async #close (graceMs: number): Promise<void> {
    const closed = new Promise<void>(resolve => { this.#server.close(() => { resolve() }) })
    for (const session of this.#sessions) session.close()
    const timer = setTimeout(() => {
      for (const session of this.#sessions) session.destroy()
    }, graceMs)
    await closed
    clearTimeout(timer)
  }
}
