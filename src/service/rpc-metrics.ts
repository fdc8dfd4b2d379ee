import { performance } from 'node:perf_hooks'
import { Code, ConnectError } from '@connectrpc/connect'
import { Histogram } from 'prom-client'
import type { Message } from '@bufbuild/protobuf'
import type { Interceptor, StreamResponse } from '@connectrpc/connect'
import type { Registry } from 'prom-client'

/**
 * Upper bounds of the RPC latency buckets, in seconds: unary calls take tens
 * of microseconds to milliseconds; streams (Receive, SendStream) and
 * AwaitConnections last as long as the client keeps them.
 */
export const RPC_DURATION_BUCKETS_SECONDS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300]

/** The code label of each status code: gRPC's names in snake case, as the Connect protocol writes them ("ok" for success). */
const CODE_LABELS: string[] = ['ok']
for (let code = 1; code <= Code.Unauthenticated; code++) {
  CODE_LABELS[code] = (Code[code] as string).replace(/[A-Z]/g, (c, i: number) => (i === 0 ? '' : '_') + c.toLowerCase())
}

/**
 * The code of a failed call. A call whose client went away (its request
 * stream closed or was reset: connect-es resets with INTERNAL_ERROR when it
 * cancels) is `canceled`, unless its deadline passed.
 */
function failureCode (err: unknown, signal: AbortSignal): Code {
  const code = ConnectError.from(err).code
  return signal.aborted && code !== Code.DeadlineExceeded ? Code.Canceled : code
}

type Observe = (seconds: number) => void

/** One method's observers, by status code, made on first use. */
interface MethodSeries {
  service: string
  method: string
  byCode: Array<Observe | undefined>
}

/**
 * Counts and times the API's calls, by service, method and status code, in
 * one histogram (`mirnet_rpc_duration_seconds`; its `_count` is the number of
 * calls). Both ways into a handler report here: connect-node's pipeline
 * through {@link interceptor}, the gRPC unary fast path through
 * {@link observe}. A call is observed once, when it ends: a unary call when
 * its handler returns or throws, a stream when its last message is written,
 * it fails, or the client goes away (`canceled`).
 *
 * Label values come from the registered methods and the status codes only,
 * so the number of series stays bounded.
 */
export class RpcMetrics {
  readonly histogram: Histogram<'service' | 'method' | 'code'>
  readonly #series = new Map<string, MethodSeries>()

  constructor (registry: Registry) {
    this.histogram = new Histogram({
      name: 'mirnet_rpc_duration_seconds',
      help: 'API calls by service, method and status code, and how long they took (streams: until they ended)',
      labelNames: ['service', 'method', 'code'],
      buckets: RPC_DURATION_BUCKETS_SECONDS,
      registers: [registry]
    })
  }

  /**
   * The series of one method, looked up by its path `/<service>/<method>`.
   * Callers on a hot path keep it and pass it to {@link observe}.
   */
  series (path: string): MethodSeries {
    let s = this.#series.get(path)
    if (s === undefined) {
      const slash = path.lastIndexOf('/')
      s = { service: path.slice(1, slash), method: path.slice(slash + 1), byCode: [] }
      this.#series.set(path, s)
    }
    return s
  }

  /** Record one call of `series` that ended with `code` after `startMs` (a `performance.now()` reading). */
  observe (series: MethodSeries, code: Code | 0, startMs: number): void {
    let observe = series.byCode[code]
    if (observe === undefined) {
      observe = this.histogram.labels(series.service, series.method, CODE_LABELS[code] ?? String(code)).observe
      series.byCode[code] = observe
    }
    observe((performance.now() - startMs) / 1000)
  }

  /** A connect-node interceptor that records every call reaching a handler. */
  readonly interceptor: Interceptor = next => async req => {
    const start = performance.now()
    const series = this.series(`/${req.method.parent.typeName}/${req.method.name}`)
    let res
    try {
      res = await next(req)
    } catch (err) {
      this.observe(series, failureCode(err, req.signal), start)
      throw err
    }
    if (!res.stream) {
      this.observe(series, 0, start)
      return res
    }
    return { ...res, message: this.#observeStream(res, series, start, req.signal) }
  }

  /** Pass the output of a stream through, recording the call once when it ends. */
  #observeStream (res: StreamResponse, series: MethodSeries, start: number, signal: AbortSignal): AsyncIterable<Message> {
    let done = false
    const end = (code: Code | 0): void => {
      if (done) return
      done = true
      this.observe(series, code, start)
    }
    const onResult = (r: IteratorResult<Message>): IteratorResult<Message> => {
      if (r.done === true) end(0)
      return r
    }
    const onError = (err: unknown): never => {
      end(failureCode(err, signal))
      throw err
    }
    return {
      [Symbol.asyncIterator]: () => {
        const it = res.message[Symbol.asyncIterator]()
        return {
          // no async wrapper: one more promise per message for nothing
          next: () => it.next().then(onResult, onError),
          return: async (value?: unknown): Promise<IteratorResult<Message>> => {
            end(Code.Canceled)
            return await (it.return?.(value) ?? { done: true as const, value: undefined })
          },
          throw: async (err?: unknown): Promise<IteratorResult<Message>> => {
            end(failureCode(err, signal))
            if (it.throw === undefined) throw err
            return await it.throw(err)
          }
        }
      }
    }
  }
}
