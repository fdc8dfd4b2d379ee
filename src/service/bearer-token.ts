import { createHash, timingSafeEqual } from 'node:crypto'
import { UnauthenticatedError } from './errors.ts'
import type { CallCheck, CallHeaders } from './call-checks.ts'

export interface BearerTokenInit {
  /** The token every call must carry as `authorization: Bearer <token>`. */
  token: string
  /**
   * Fully-qualified names of services called without a token (the daemon
   * opens `grpc.health.v1.Health`: Kubernetes gRPC probes send no headers).
   * @default []
   */
  openServices?: string[]
}

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i

function digest (value: string): Buffer {
  return createHash('sha256').update(value).digest()
}

/**
 * Bearer-token authentication of API calls. Tokens are compared as SHA-256
 * digests with `timingSafeEqual`: the time a check takes says nothing about
 * the token, not even its length.
 */
export class BearerTokenAuth implements CallCheck {
  readonly #expected: Buffer
  readonly #open: ReadonlySet<string>

  constructor (init: BearerTokenInit) {
    if (init.token.length === 0) throw new RangeError('the API token must not be empty')
    this.#expected = digest(init.token)
    this.#open = new Set(init.openServices ?? [])
  }

  /**
   * Check the `authorization` header of a call to `service`; throws
   * {@link UnauthenticatedError} unless it carries the token or the service
   * is open.
   */
  check (service: string, headers: CallHeaders): void {
    if (this.#open.has(service)) return
    const authorization = headers.get('authorization')
    if (authorization === undefined || authorization === null || authorization === '') {
      throw new UnauthenticatedError(`missing bearer token: calls to ${service} need the header "authorization: Bearer <token>", with the token of the daemon's --api-token-file`)
    }
    const m = BEARER.exec(authorization)
    if (m === null) {
      throw new UnauthenticatedError(`the authorization header of a call to ${service} is not "Bearer <token>"`)
    }
    if (!timingSafeEqual(digest(m[1]), this.#expected)) {
      throw new UnauthenticatedError(`invalid bearer token for ${service}`)
    }
  }
}
