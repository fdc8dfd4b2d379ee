import { toConnectError } from './errors.ts'
import type { Interceptor } from '@connectrpc/connect'

/** The request headers of a call, as a check reads them (`Headers` on connect-node's path). */
export interface CallHeaders {
  get: (name: string) => string | null | undefined
}

/**
 * Something every API call must pass before its handler runs (the bearer
 * token is one). The API server holds one list of them and applies it on
 * both ways into a handler: connect-node's pipeline, as interceptors made
 * by {@link checkInterceptor}, and the gRPC unary fast path, which calls
 * {@link check} before it reads the request. A check added to the list
 * applies to both; nothing else decides whether a call may run. (The other
 * things a call passes are shared too: the deadline is parsed by connect's
 * own `parseTimeout` on both paths, and `RpcMetrics` observes both.)
 */
export interface CallCheck {
  /** Throws a named error (mapped by `toConnectError`) to refuse a call to `service`. */
  check: (service: string, headers: CallHeaders) => void
}

/** A check as a connect-node interceptor. */
export function checkInterceptor (check: CallCheck): Interceptor {
  return next => async req => {
    try {
      check.check(req.service.typeName, req.header)
    } catch (err) {
      throw toConnectError(err)
    }
    return await next(req)
  }
}

/** Run every check, in order; the first to refuse throws, as a `ConnectError`. */
export function runChecks (checks: readonly CallCheck[], service: string, headers: CallHeaders): void {
  try {
    for (const c of checks) c.check(service, headers)
  } catch (err) {
    throw toConnectError(err)
  }
}
