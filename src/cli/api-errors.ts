import { Code, ConnectError } from '@connectrpc/connect'

/** The daemon's API could not be reached, or did not answer in time. */
export class ApiUnreachableError extends Error {
  override name = 'ApiUnreachableError'
}

/** The daemon refused the call's credentials (no token, another token). */
export class ApiAuthenticationError extends Error {
  override name = 'ApiAuthenticationError'
}

/** TLS towards the daemon failed (certificate not trusted or not given, no TLS on one side). */
export class ApiTlsError extends Error {
  override name = 'ApiTlsError'
}

/** The daemon answered the call with an error. */
export class ApiCallError extends Error {
  override name = 'ApiCallError'
}

export interface ApiCallContext {
  /** The address as the user gave it. */
  address: string
  /** The RPC, e.g. `GetStatus`. */
  method: string
  /** Whether the call went over TLS. */
  tls: boolean
  /** The call's deadline. */
  timeoutMs: number
}

/** `…:SSL routines:tls_validate_record_header:wrong version number:…` → `wrong version number`. */
function opensslReason (message: string): string {
  return /SSL routines:[^:]*:([^:]+):/.exec(message)?.[1] ?? message.trim()
}

/** What to do about a TLS failure, by Node's or OpenSSL's error code. */
function tlsHint (code: string): string {
  if (['SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY'].includes(code)) {
    return 'give the CA certificate that signed the daemon\'s certificate with --api-tls-ca'
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return 'call it by a name its certificate carries, or name one with --api-tls-server-name'
  if (code === 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED') return 'the daemon asks for a client certificate: give --api-tls-client-cert and --api-tls-client-key'
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER') return 'the daemon does not serve TLS there: call it without the TLS options, as HOST:PORT'
  return 'check the daemon\'s --api-tls-* settings against these'
}

/**
 * The one place where a failed API call of a CLI command becomes the error
 * the user reads (`mirnet: <message>`): what failed, at which address, and
 * which option to look at. Errors other than ConnectErrors pass through.
 */
export function describeApiFailure (err: unknown, ctx: ApiCallContext): Error {
  if (!(err instanceof ConnectError)) return err as Error
  const at = `the mirnet API at ${ctx.address}`
  const cause = err.cause as { code?: unknown } | undefined
  const causeCode = typeof cause?.code === 'string' ? cause.code : ''
  switch (err.code) {
    case Code.Unavailable: {
      const why = causeCode === 'ECONNREFUSED'
        ? 'connection refused; is `mirnet serve` running there? (--api or MIRNET_API names the address)'
        : causeCode === 'ENOTFOUND' ? `host not found (${err.rawMessage})` : err.rawMessage
      return new ApiUnreachableError(`cannot reach ${at}: ${why}`)
    }
    case Code.DeadlineExceeded:
      return new ApiUnreachableError(`${at} did not answer ${ctx.method} within ${ctx.timeoutMs / 1000} s`)
    case Code.Unauthenticated:
    case Code.PermissionDenied:
      return new ApiAuthenticationError(`${at} refused ${ctx.method}: ${err.rawMessage}; give the daemon's token with --api-token-file (or MIRNET_API_TOKEN_FILE)`)
    default:
  }
  if (/^(ERR_SSL_|ERR_TLS_|CERT_|UNABLE_TO_|SELF_SIGNED|DEPTH_ZERO)/.test(causeCode)) {
    return new ApiTlsError(`TLS to ${at} failed: ${opensslReason(err.rawMessage)}; ${tlsHint(causeCode)}`)
  }
  if (err.code === Code.Canceled && !ctx.tls) {
    // what an h2c client sees from a TLS server: the connection is closed under it
    return new ApiUnreachableError(`${at} closed the call (${err.rawMessage}); if it serves TLS, call it with https:// or --api-tls-ca`)
  }
  return new ApiCallError(`${ctx.method} on ${at} failed: [${Code[err.code]}] ${err.rawMessage}`)
}
