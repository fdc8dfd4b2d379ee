import { create } from '@bufbuild/protobuf'
import { Code, ConnectError } from '@connectrpc/connect'
import type { ConnectRouter, HandlerContext } from '@connectrpc/connect'
import {
  Health,
  HealthCheckResponse_ServingStatus,
  HealthCheckResponseSchema,
  HealthListResponseSchema
} from '../../gen/ts/grpc/health/v1/health_pb.ts'
import type { HealthCheckRequest, HealthCheckResponse, HealthListResponse } from '../../gen/ts/grpc/health/v1/health_pb.ts'

/** The serving status of a service: UNKNOWN, SERVING, NOT_SERVING or SERVICE_UNKNOWN. */
export const ServingStatus = HealthCheckResponse_ServingStatus
export type ServingStatus = HealthCheckResponse_ServingStatus

/** Most services `List` reports; past this it fails with RESOURCE_EXHAUSTED, as the protocol says. */
export const healthListMaxServices = 100

/** One open Watch call: the latest status it has not sent yet, and how to wake it. */
interface Watcher {
  readonly service: string
  pending: ServingStatus | undefined
  wake: (() => void) | undefined
}

/**
 * The gRPC health service (`grpc.health.v1.Health`): Check, List and Watch
 * over a table of service statuses that the daemon keeps current with
 * {@link HealthService.setStatus}. The service "" stands for the whole server
 * and starts SERVING; every other service is unknown until its status is set.
 *
 * Watch sends only the latest status a watcher has not seen (a slow client
 * skips intermediate states rather than buffering them), like grpc-go.
 *
 * @example
 * ```ts
 * const health = new HealthService()
 * connectNodeAdapter({ routes: router => { health.register(router) } })
 * health.setStatus('mirnet.v1.TransportService', ServingStatus.SERVING)
 * // on stop: every status NOT_SERVING, every Watch ends with OK
 * health.shutdown()
 * ```
 */
export class HealthService {
  readonly #statuses = new Map<string, ServingStatus>([['', ServingStatus.SERVING]])
  readonly #watchers = new Set<Watcher>()
  #shutDown = false

  /**
   * Set the status of `service` ("" is the whole server) and tell its
   * watchers. Ignored after {@link shutdown}, so a component stopping late
   * cannot report SERVING again.
   */
  setStatus (service: string, status: ServingStatus): void {
    if (this.#shutDown) return
    this.#set(service, status)
  }

  /** The status of `service`, or undefined if it is unknown. */
  getStatus (service: string): ServingStatus | undefined {
    return this.#statuses.get(service)
  }

  /** Watch calls open now; each is let go when its call ends. */
  get watchCount (): number {
    return this.#watchers.size
  }

  /**
   * Mark every known service NOT_SERVING, send that to every watcher, then end
   * every Watch call with OK. Later {@link setStatus} calls are ignored; later
   * Watch calls send the current status and end at once. Idempotent.
   */
  shutdown (): void {
    if (this.#shutDown) return
    for (const service of this.#statuses.keys()) this.#set(service, ServingStatus.NOT_SERVING)
    this.#shutDown = true
    for (const watcher of this.#watchers) watcher.wake?.()
  }

  /** Serve `grpc.health.v1.Health` (Check, List, Watch) on `router`. */
  register (router: ConnectRouter): void {
    router.service(Health, {
      check: request => this.#check(request),
      list: () => this.#list(),
      watch: (request, context) => this.#watch(request, context)
    })
  }

  #set (service: string, status: ServingStatus): void {
    this.#statuses.set(service, status)
    for (const watcher of this.#watchers) {
      if (watcher.service !== service) continue
      watcher.pending = status
      watcher.wake?.()
    }
  }

  #check (request: HealthCheckRequest): HealthCheckResponse {
    const status = this.#statuses.get(request.service)
    if (status === undefined) {
      throw new ConnectError(`service "${request.service}" is not known to the health service`, Code.NotFound)
    }
    return create(HealthCheckResponseSchema, { status })
  }

  #list (): HealthListResponse {
    if (this.#statuses.size > healthListMaxServices) {
      throw new ConnectError(`${this.#statuses.size} services exceed the ${healthListMaxServices} that List may return`, Code.ResourceExhausted)
    }
    const statuses: Record<string, HealthCheckResponse> = {}
    for (const [service, status] of this.#statuses) statuses[service] = create(HealthCheckResponseSchema, { status })
    return create(HealthListResponseSchema, { statuses })
  }

  /**
   * The current status at once, then each change, until the call is
   * cancelled (the client went away, its deadline passed, or the server
   * closed the connection) or the service shuts down. Returning ends the
   * response stream with OK; the `finally` is the one teardown path.
   */
  async * #watch (request: HealthCheckRequest, context: HandlerContext): AsyncGenerator<HealthCheckResponse> {
    const { signal } = context
    const watcher: Watcher = { service: request.service, pending: undefined, wake: undefined }
    const onAbort = (): void => watcher.wake?.()
    this.#watchers.add(watcher)
    signal.addEventListener('abort', onAbort)
    try {
      let sent = this.#statuses.get(request.service) ?? ServingStatus.SERVICE_UNKNOWN
      yield create(HealthCheckResponseSchema, { status: sent })
      for (;;) {
        if (signal.aborted) return
        const status = watcher.pending
        if (status !== undefined) {
          watcher.pending = undefined
          if (status === sent) continue
          sent = status
          yield create(HealthCheckResponseSchema, { status })
          continue
        }
        if (this.#shutDown) return
        await new Promise<void>(resolve => { watcher.wake = resolve })
        watcher.wake = undefined
      }
    } finally {
      this.#watchers.delete(watcher)
      signal.removeEventListener('abort', onAbort)
    }
  }
}
