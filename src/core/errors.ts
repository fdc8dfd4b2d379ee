/**
 * Named errors of the networking module. Each condition has its own class so
 * callers (and the service layer, which maps them to RPC codes) test `name`,
 * never message text.
 */

export class MembershipError extends Error {
  override name: string = 'MembershipError'
  /** Index of the offending entry in the membership given, if any. */
  readonly index?: number
  constructor (message: string, index?: number) {
    super(message)
    this.index = index
  }
}

export class EmptyNodeIdError extends MembershipError {
  override name = 'EmptyNodeIdError'
}

export class DuplicateNodeIdError extends MembershipError {
  override name = 'DuplicateNodeIdError'
}

export class DuplicatePeerIdError extends MembershipError {
  override name = 'DuplicatePeerIdError'
}

/** The address cannot be parsed by the transport. */
export class InvalidAddressError extends MembershipError {
  override name = 'InvalidAddressError'
}

/** The address parses but does not name the identity (for libp2p: no `/p2p/<peer id>`). */
export class MissingPeerIdError extends MembershipError {
  override name = 'MissingPeerIdError'
}

/** The own node is listed with another identity, or the own identity under another node id. */
export class SelfMismatchError extends MembershipError {
  override name = 'SelfMismatchError'
}

export class UnknownDestinationError extends Error {
  override name = 'UnknownDestinationError'
  readonly destination: string
  constructor (destination: string) {
    super(`destination "${destination}" is not in the membership`)
    this.destination = destination
  }
}

export class PayloadTooLargeError extends Error {
  override name = 'PayloadTooLargeError'
  readonly limit: number
  readonly size: number
  constructor (size: number, limit: number) {
    super(`payload of ${size} bytes exceeds the maximum of ${limit} bytes`)
    this.size = size
    this.limit = limit
  }
}

/** A frame header announces more than the maximum frame size. */
export class FrameTooLargeError extends Error {
  override name = 'FrameTooLargeError'
}

/** A frame header is not a valid varint. */
export class MalformedFrameError extends Error {
  override name = 'MalformedFrameError'
}

export class ModuleClosedError extends Error {
  override name = 'ModuleClosedError'
  constructor (message = 'the network module is closed') {
    super(message)
  }
}

export class AbortError extends Error {
  override name = 'AbortError'
  constructor (message = 'the operation was aborted') {
    super(message)
  }
}

/** The stream was closed by the remote end or replaced. */
export class StreamClosedError extends Error {
  override name = 'StreamClosedError'
}

/** Nothing was heard from the peer on an open stream within the keepalive timeout. */
export class PeerUnresponsiveError extends Error {
  override name = 'PeerUnresponsiveError'
}

/** Invalid configuration given to a component. */
export class InvalidConfigError extends Error {
  override name = 'InvalidConfigError'
}

/** A message or a Receive names a lane this node does not have. */
export class UnknownLaneError extends Error {
  override name = 'UnknownLaneError'
  readonly lane: string
  constructor (lane: string, known: readonly string[]) {
    super(`lane "${lane}" is not configured (lanes: ${known.join(', ')})`)
    this.lane = lane
  }
}

/** The peer speaks another version of the link protocol. */
export class ProtocolVersionError extends Error {
  override name = 'ProtocolVersionError'
}

/** A tentative receiver's hold was used after it delivered, handed over or discarded its messages. */
export class TentativeHoldReleasedError extends Error {
  override name = 'TentativeHoldReleasedError'
}
