import { isIP } from 'node:net'
import { NetworkModule } from '../core/network-module.ts'
import { ApiServer } from '../service/api-server.ts'
import { BearerTokenAuth } from '../service/bearer-token.ts'
import { HealthService, ServingStatus } from '../service/health.ts'
import { registerReflection } from '../service/reflection.ts'
import { TransportServiceHandlers } from '../service/transport-service.ts'
import { TransportService } from '../../gen/ts/mirnet/v1/transport_pb.ts'
import { Health } from '../../gen/ts/grpc/health/v1/health_pb.ts'
import { createDaemonTransport } from './daemon-transports.ts'
import { DaemonConfigError, UnprotectedRemoteApiError } from './daemon-errors.ts'
import type { DaemonTransport } from './transport-names.ts'
import type { ApiTlsOptions } from '../service/api-server.ts'
import type { DaemonMetrics } from '../service/metrics.ts'
import type { MetricsServer } from '../service/metrics-server.ts'
import type { NetworkModuleInit } from '../core/config.ts'
import type { Logger } from '../core/logger.ts'
import type { MemberSpec } from '../core/membership.ts'
import type { PrivateKey } from '@libp2p/interface'

export { DaemonConfigError, DuplicateTransportError, ListenAddressError, UnprotectedRemoteApiError } from './daemon-errors.ts'
export { DAEMON_TRANSPORTS, DEFAULT_LISTEN } from './transport-names.ts'
export type { DaemonTransport } from './transport-names.ts'

export interface DaemonConfig {
  nodeId: string
  privateKey: PrivateKey
  /**
   * Which transport(s) the daemon talks to the other members over: libp2p
   * (TCP + Noise + Yamux, addresses `/ip4/…/tcp/…/p2p/<peer id>`), TLS
   * (TCP + TLS 1.3 with the same key, addresses `/ip4/…/tcp/…/tls/p2p/<peer id>`)
   * or gRPC (HTTP/2 over TLS 1.3 with the same key, addresses
   * `/ip4/…/tcp/…/tls/http/p2p/<peer id>`), or several of them at once: each
   * member is then dialed over the transport its address names, and a member
   * can only be reached over a transport that both ends run.
   * @default 'libp2p'
   */
  transport?: DaemonTransport | readonly DaemonTransport[]
  /**
   * Multiaddrs to listen on; each goes to the transport of its form (with one
   * transport, all go to it), and a transport given none listens on its
   * `DEFAULT_LISTEN`.
   * @default each transport's DEFAULT_LISTEN
   */
  listen?: string[]
  apiHost: string
  apiPort: number
  /**
   * Bearer token every API call must carry (`authorization: Bearer <token>`),
   * except calls to grpc.health.v1.Health. An API on a non-loopback address
   * needs this or `apiTls`.
   * @default none: calls are not authenticated
   */
  apiToken?: string
  /**
   * Serve the API over TLS, optionally requiring client certificates. An API
   * on a non-loopback address needs this or `apiToken`.
   * @default none: h2c
   */
  apiTls?: ApiTlsOptions
  /** Largest API request accepted, in bytes. */
  apiMaxRequestBytes?: number
  /** Membership applied at start, as with Connect. */
  membership?: MemberSpec[]
  network?: NetworkModuleInit
  /**
   * Where to serve Prometheus metrics (`GET /metrics`, plain HTTP). Any
   * address is allowed: the endpoint exposes counters only.
   * @default undefined (no metrics endpoint, and RPCs are not timed)
   */
  metrics?: { host: string, port: number }
  logger: Logger
}

/** What the daemon announces when it is ready. */
export interface DaemonInfo {
  nodeId: string
  peerId: string
  /** Every transport's listen addresses, in the order the transports were named. */
  listen: string[]
  api: string
  /** `HOST:PORT` of the metrics endpoint, when there is one. */
  metrics?: string
}

export function isLoopback (host: string): boolean {
  if (host === 'localhost') return true
  if (isIP(host) === 4) return host.startsWith('127.')
  if (isIP(host) === 6) return host === '::1'
  return false
}

interface DaemonParts {
  net: NetworkModule
  api: ApiServer
  metrics?: DaemonMetrics
  metricsServer?: MetricsServer
  health: HealthService
  stopping: AbortController
  log: Logger
}

/**
 * One mirnet daemon: the network module over libp2p, TLS or gRPC (or several
 * of them at once, src/daemon/daemon-transports.ts), the API (TransportService,
 * gRPC health, server reflection) on one HTTP/2 port, and optionally the
 * Prometheus metrics on another.
 */
export class Daemon {
  readonly info: DaemonInfo
  readonly net: NetworkModule
  /** The daemon's metrics, when it serves them. */
  readonly metrics?: DaemonMetrics
  readonly #api: ApiServer
  readonly #metricsServer?: MetricsServer
  readonly #health: HealthService
  readonly #stopping: AbortController
  readonly #log: Logger
  #stopped?: Promise<void>

  private constructor (parts: DaemonParts) {
    this.net = parts.net
    this.#api = parts.api
    this.metrics = parts.metrics
    this.#metricsServer = parts.metricsServer
    this.#health = parts.health
    this.#stopping = parts.stopping
    this.#log = parts.log
    this.info = { nodeId: this.net.nodeId, peerId: this.net.identity, listen: this.net.listenAddresses(), api: parts.api.address }
    if (parts.metricsServer !== undefined) this.info.metrics = parts.metricsServer.address
  }

  static async start (config: DaemonConfig): Promise<Daemon> {
    if (!isLoopback(config.apiHost) && config.apiToken === undefined && config.apiTls === undefined) {
      throw new UnprotectedRemoteApiError(
        `refusing to serve the API on ${config.apiHost}, which is not a loopback address, to anyone who can reach it: ` +
        'require a bearer token (--api-token-file FILE) or TLS (--api-tls-cert FILE --api-tls-key FILE, optionally --api-tls-client-ca FILE), ' +
        'or listen on 127.0.0.1'
      )
    }
    const log = config.logger
    const transport = await createDaemonTransport({ privateKey: config.privateKey, transport: config.transport, listen: config.listen, logger: log })
    const net = new NetworkModule({ transport, logger: log }, { ...config.network, nodeId: config.nodeId })
    let api: ApiServer | undefined
    let metricsServer: MetricsServer | undefined
    try {
      await net.start()
      if (config.membership !== undefined) net.connect(config.membership)
      const stopping = new AbortController()
      const health = new HealthService()
      const handlers = new TransportServiceHandlers(net, { stopping: stopping.signal })
      let metrics: DaemonMetrics | undefined
      if (config.metrics !== undefined) {
        // loaded only when asked for: prom-client (and the OpenTelemetry API it
        // pulls in) would otherwise sit in every daemon's memory
        const [{ DaemonMetrics }, { MetricsServer }] = await Promise.all([import('../service/metrics.ts'), import('../service/metrics-server.ts')])
        const daemonMetrics = new DaemonMetrics({ stats: () => net.stats(), service: handlers.counters })
        metrics = daemonMetrics
        const { host, port } = config.metrics
        metricsServer = await MetricsServer.listen({
          host,
          port,
          scrape: async () => await daemonMetrics.scrape(),
          contentType: daemonMetrics.contentType,
          logger: log.child({ component: 'metrics' })
        }).catch((err: unknown) => {
          throw new DaemonConfigError(`cannot serve metrics on ${host}:${port}: ${(err as Error).message}`)
        })
      }
      api = await ApiServer.listen({
        host: config.apiHost,
        port: config.apiPort,
        readMaxBytes: config.apiMaxRequestBytes ?? Math.max(64 * 1024 * 1024, 2 * net.config.maxFrameBytes),
        // Health stays open: Kubernetes gRPC probes cannot send a token
        checks: config.apiToken === undefined ? [] : [new BearerTokenAuth({ token: config.apiToken, openServices: [Health.typeName] })],
        tls: config.apiTls,
        logger: log.child({ component: 'api' }),
        rpcMetrics: metrics?.rpc,
        fastUnary: handlers.fastUnary(),
        routes: router => {
          handlers.register(router)
          health.register(router)
          registerReflection(router, [TransportService])
        }
      })
      log.child({ component: 'api' }).info({
        api: api.address,
        token: config.apiToken !== undefined,
        tls: config.apiTls === undefined ? 'off' : config.apiTls.clientCa === undefined ? 'server' : 'mutual'
      }, 'API listening')
      health.setStatus('', ServingStatus.SERVING)
      health.setStatus(TransportService.typeName, ServingStatus.SERVING)
      return new Daemon({ net, api, metrics, metricsServer, health, stopping, log: log.child({ component: 'daemon' }) })
    } catch (err) {
      await api?.close()
      await metricsServer?.close()
      await net.close()
      throw err
    }
  }

  /**
   * Stop gracefully: health turns NOT_SERVING, Receive streams end cleanly,
   * calls in progress finish, connections close. Idempotent.
   */
  async stop (): Promise<void> {
    this.#stopped ??= this.#stop()
    await this.#stopped
  }

  async #stop (): Promise<void> {
    this.#log.info({}, 'stopping')
    this.#health.shutdown()
    this.#stopping.abort()
    await this.#api.close()
    const left = this.net.inbox.length
    if (left > 0) this.#log.warn({ messages: left }, 'received messages not taken by any Receive stream are discarded')
    await this.net.close()
    // last: the final counts can be scraped while the rest stops
    await this.#metricsServer?.close()
    this.#log.info({}, 'stopped')
  }
}
