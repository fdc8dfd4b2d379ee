/** The daemon was asked for something unsafe or impossible before it started. */
export class DaemonConfigError extends Error {
  override name = 'DaemonConfigError'
}

/** The API was to listen beyond loopback with neither a bearer token nor TLS. */
export class UnprotectedRemoteApiError extends DaemonConfigError {
  override name = 'UnprotectedRemoteApiError'
}

/** A listen address is of the form of a transport the daemon does not run, or of none. */
export class ListenAddressError extends DaemonConfigError {
  override name = 'ListenAddressError'
}

/** The same transport was named twice. */
export class DuplicateTransportError extends DaemonConfigError {
  override name = 'DuplicateTransportError'
}
