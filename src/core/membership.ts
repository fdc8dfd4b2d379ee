import {
  DuplicateNodeIdError, DuplicatePeerIdError, EmptyNodeIdError, InvalidAddressError,
  MissingPeerIdError, SelfMismatchError
} from './errors.ts'

/** One node as the caller gives it. */
export interface MemberSpec {
  id: string
  address: string
}

/** A validated member. */
export interface Member {
  readonly nodeId: string
  readonly address: string
  /** The identity the address names and the transport authenticates (libp2p peer id). */
  readonly identity: string
}

/**
 * Validate a membership as a whole: every id non-empty and unique, every
 * address parsed by the transport and naming an identity, identities unique,
 * the own node (if listed) with the own identity. Throws the first problem as
 * a named `MembershipError` that says which entry and why; nothing is
 * returned half-checked.
 */
export function parseMembership (
  specs: readonly MemberSpec[],
  parseAddress: (address: string) => string,
  self: { nodeId: string, identity: string }
): Map<string, Member> {
  const members = new Map<string, Member>()
  const byIdentity = new Map<string, string>()
  specs.forEach((spec, index) => {
    const where = `entry ${index}`
    const nodeId = spec.id
    if (typeof nodeId !== 'string' || nodeId.length === 0) {
      throw new EmptyNodeIdError(`${where}: node id is empty`, index)
    }
    if (members.has(nodeId)) {
      throw new DuplicateNodeIdError(`${where}: node id "${nodeId}" is listed twice`, index)
    }
    let identity: string
    try {
      identity = parseAddress(spec.address)
    } catch (err) {
      if (err instanceof InvalidAddressError) throw new InvalidAddressError(`${where} (node "${nodeId}"): ${err.message}`, index)
      if (err instanceof MissingPeerIdError) throw new MissingPeerIdError(`${where} (node "${nodeId}"): ${err.message}`, index)
      throw new InvalidAddressError(`${where} (node "${nodeId}"): address "${spec.address}" is invalid: ${(err as Error).message}`, index)
    }
    const other = byIdentity.get(identity)
    if (other !== undefined) {
      throw new DuplicatePeerIdError(`${where} (node "${nodeId}"): peer id ${identity} is already the peer id of node "${other}"`, index)
    }
    if (nodeId === self.nodeId && identity !== self.identity) {
      throw new SelfMismatchError(`${where}: the own node "${nodeId}" is listed with peer id ${identity}, but this node is ${self.identity}`, index)
    }
    if (nodeId !== self.nodeId && identity === self.identity) {
      throw new SelfMismatchError(`${where}: node "${nodeId}" has this node's own peer id ${identity}; this node is "${self.nodeId}"`, index)
    }
    byIdentity.set(identity, nodeId)
    members.set(nodeId, { nodeId, address: spec.address, identity })
  })
  return members
}

