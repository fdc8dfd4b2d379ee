/** Errors of the simulated network and of the simulation itself. */

/** Nothing listens at the dialed host (or the dialing transport has stopped). */
export class ConnectionRefusedError extends Error {
  override name = 'ConnectionRefusedError'
}

/** The node at the dialed host authenticates as another identity than the address names. */
export class IdentityMismatchError extends Error {
  override name = 'IdentityMismatchError'
}

/** The connection was reset: by the remote end, by a crash of its host, or by the network. */
export class ConnectionResetError extends Error {
  override name = 'ConnectionResetError'
}

/** An invariant of the core did not hold. */
export class InvariantViolation extends Error {
  override name = 'InvariantViolation'
  readonly invariant: string

  constructor (invariant: string, detail: string) {
    super(`${invariant}: ${detail}`)
    this.invariant = invariant
  }
}

/** A command-line argument of `npm run sim` is wrong. */
export class SimUsageError extends Error {
  override name = 'SimUsageError'
}
