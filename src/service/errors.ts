import { Code, ConnectError } from '@connectrpc/connect'
import { AbortError, MembershipError, ModuleClosedError, PayloadTooLargeError, UnknownDestinationError, UnknownLaneError } from '../core/errors.ts'

/** A request field with a value the API does not accept. */
export class InvalidRequestError extends Error {
  override name = 'InvalidRequestError'
}

/**
 * A call without the API's bearer token, or with another one. The message
 * never repeats what the caller sent.
 */
export class UnauthenticatedError extends Error {
  override name = 'UnauthenticatedError'
}

/** A call the daemon can no longer serve because it is stopping. */
export class DaemonStoppingError extends Error {
  override name = 'DaemonStoppingError'
}

/**
 * The one place where errors become RPC status codes. Messages are kept as
 * they are: they already name the offending value.
 */
export function toConnectError (err: unknown, signal?: AbortSignal): ConnectError {
  if (err instanceof ConnectError) return err
  // the call's own deadline or cancellation, as connect reports it on the signal
  if (signal?.aborted === true && signal.reason instanceof ConnectError) return signal.reason
  if (err instanceof MembershipError) return new ConnectError(err.message, Code.InvalidArgument, undefined, undefined, err)
  if (err instanceof PayloadTooLargeError) return new ConnectError(err.message, Code.InvalidArgument, undefined, undefined, err)
  if (err instanceof UnknownLaneError) return new ConnectError(err.message, Code.InvalidArgument, undefined, undefined, err)
  if (err instanceof InvalidRequestError) return new ConnectError(err.message, Code.InvalidArgument, undefined, undefined, err)
  if (err instanceof UnauthenticatedError) return new ConnectError(err.message, Code.Unauthenticated, undefined, undefined, err)
  if (err instanceof UnknownDestinationError) return new ConnectError(err.message, Code.NotFound, undefined, undefined, err)
  if (err instanceof DaemonStoppingError) return new ConnectError(err.message, Code.Unavailable, undefined, undefined, err)
  if (err instanceof ModuleClosedError) return new ConnectError('the daemon is shutting down', Code.Unavailable, undefined, undefined, err)
  if (err instanceof AbortError) return new ConnectError(err.message, Code.Canceled, undefined, undefined, err)
  return ConnectError.from(err, Code.Internal)
}
