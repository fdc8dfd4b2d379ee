import { constants } from 'node:http2'
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2'

/**
 * The one call of the link protocol, as gRPC over HTTP/2 names it: a
 * bidirectional stream (`mirnet.link.v1.LinkService/Stream`, see
 * grpc-message.ts). The dialer's request stream carries its frames, the
 * response stream the acceptor's acks; each is one core Channel's two
 * directions. The decisions about a call's headers are pure functions here.
 */
export const LINK_SERVICE_PATH = '/mirnet.link.v1.LinkService/Stream'

/** gRPC status codes used by the link call (grpc/doc/statuscodes.md). */
export const GrpcStatus = {
  OK: 0,
  INVALID_ARGUMENT: 3,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14
} as const

/** Why a call is refused: the gRPC status and message of a trailers-only response. */
export interface CallRefusal {
  status: number
  message: string
}

/** The headers of the dialer's call. */
export function requestHeaders (): OutgoingHttpHeaders {
  return {
    [constants.HTTP2_HEADER_METHOD]: 'POST',
    [constants.HTTP2_HEADER_PATH]: LINK_SERVICE_PATH,
    [constants.HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc+proto',
    [constants.HTTP2_HEADER_TE]: 'trailers',
    'grpc-accept-encoding': 'identity'
  }
}

/** The response headers that accept a call; the status follows in the trailers. */
export const RESPONSE_HEADERS: OutgoingHttpHeaders = {
  [constants.HTTP2_HEADER_STATUS]: 200,
  [constants.HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc+proto',
  'grpc-accept-encoding': 'identity'
}

function isGrpcContentType (value: unknown): boolean {
  return value === 'application/grpc' || value === 'application/grpc+proto'
}

/** Whether the acceptor refuses a call with these request headers, and why. */
export function requestRefusal (headers: IncomingHttpHeaders): CallRefusal | undefined {
  const path = headers[constants.HTTP2_HEADER_PATH]
  if (headers[constants.HTTP2_HEADER_METHOD] !== 'POST' || !isGrpcContentType(headers[constants.HTTP2_HEADER_CONTENT_TYPE])) {
    return { status: GrpcStatus.INVALID_ARGUMENT, message: 'not a gRPC call (POST, content-type application/grpc)' }
  }
  if (path !== LINK_SERVICE_PATH) return { status: GrpcStatus.UNIMPLEMENTED, message: `no method ${String(path)}: this endpoint serves ${LINK_SERVICE_PATH} only` }
  const encoding = headers['grpc-encoding']
  if (encoding !== undefined && encoding !== 'identity') return { status: GrpcStatus.UNIMPLEMENTED, message: `grpc-encoding ${String(encoding)} is not supported, only identity` }
  return undefined
}

/** The headers of a trailers-only response refusing a call. */
export function refusalHeaders (refusal: CallRefusal): OutgoingHttpHeaders {
  return {
    [constants.HTTP2_HEADER_STATUS]: 200,
    [constants.HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc+proto',
    'grpc-status': String(refusal.status),
    'grpc-message': encodeURIComponent(refusal.message)
  }
}

/** Whether the dialer gives up on a call whose response begins with these headers, and why. */
export function responseRefusal (headers: IncomingHttpHeaders): CallRefusal | undefined {
  // node gives the response :status as a number
  const status = Number(headers[constants.HTTP2_HEADER_STATUS])
  if (status !== 200) return { status: GrpcStatus.UNAVAILABLE, message: `HTTP status ${status}, not 200` }
  const grpcStatus = headers['grpc-status']
  if (grpcStatus !== undefined) return trailersRefusal(headers) ?? { status: GrpcStatus.INTERNAL, message: 'the call ended at once (trailers-only response with status 0)' }
  if (!isGrpcContentType(headers[constants.HTTP2_HEADER_CONTENT_TYPE])) {
    return { status: GrpcStatus.UNAVAILABLE, message: `content-type ${String(headers[constants.HTTP2_HEADER_CONTENT_TYPE])}, not application/grpc` }
  }
  return undefined
}

/** The error a call's trailers report, if any (a missing grpc-status is an error too). */
export function trailersRefusal (headers: IncomingHttpHeaders): CallRefusal | undefined {
  const raw = headers['grpc-status']
  const status = typeof raw === 'string' ? Number(raw) : Number.NaN
  if (status === GrpcStatus.OK) return undefined
  const message = headers['grpc-message']
  return {
    status: Number.isInteger(status) ? status : GrpcStatus.INTERNAL,
    message: typeof message === 'string' ? percentDecoded(message) : (raw === undefined ? 'no grpc-status in the trailers' : `grpc-status ${String(raw)}`)
  }
}

/** grpc-message is percent-encoded; a malformed one is shown as it came. */
function percentDecoded (message: string): string {
  try {
    return decodeURIComponent(message)
  } catch {
    return message
  }
}
