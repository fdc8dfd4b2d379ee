import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { InvalidAddressError, MissingPeerIdError } from '../../core/errors.ts'

/**
 * Addresses of the gRPC transport are multiaddrs of the form
 * `/ip4/<address>/tcp/<port>/tls/http/p2p/<peer id>` (or `/ip6/…`, `/dns4/…`,
 * `/dns6/…`, `/dns/…` for the host): HTTP over TLS, the multiaddr spelling of
 * `https://` (the deprecated `/https` is not accepted). `/tls/http` is what
 * tells them apart from a libp2p address (`/ip4/…/tcp/…/p2p/…`) and from a
 * TLS transport address (`/ip4/…/tcp/…/tls/p2p/…`), so that one membership
 * can name members on each. Listen addresses are the same without `/p2p/…`;
 * `/tls/http` is required there too.
 */
export interface GrpcAddress {
  host: string
  port: number
  /** The peer id the address names; absent in a listen address. */
  identity?: string
}

const HOSTS = new Set(['ip4', 'ip6', 'dns', 'dns4', 'dns6'])
const FORM = '/ip4|ip6|dns…/<host>/tcp/<port>/tls/http/p2p/<peer id>'

/** Parse a gRPC address; throws `InvalidAddressError` or, when `requireIdentity` and no `/p2p/` is there, `MissingPeerIdError`. */
export function parseGrpcAddress (address: string, requireIdentity: boolean): GrpcAddress {
  let components
  try {
    components = multiaddr(address).getComponents()
  } catch (err) {
    throw new InvalidAddressError(`address "${address}" is not a valid multiaddr: ${(err as Error).message}`)
  }
  const [host, tcp, tls, http, p2p, ...rest] = components
  if (host === undefined || !HOSTS.has(host.name) || host.value === undefined || tcp?.name !== 'tcp' || tcp.value === undefined) {
    throw new InvalidAddressError(`address "${address}" is not a ${FORM} address`)
  }
  if (tls?.name !== 'tls' || http?.name !== 'http') {
    throw new InvalidAddressError(`address "${address}" has no /tls/http after its TCP port: it is not a gRPC transport address`)
  }
  if (p2p === undefined) {
    if (requireIdentity) throw new MissingPeerIdError(`address "${address}" does not end in /p2p/<peer id>`)
    return { host: host.value, port: Number(tcp.value) }
  }
  if (p2p.name !== 'p2p' || p2p.value === undefined || rest.length > 0) {
    throw new InvalidAddressError(`address "${address}" has something other than /p2p/<peer id> after /tls/http`)
  }
  let identity
  try {
    identity = peerIdFromString(p2p.value)
  } catch (err) {
    throw new InvalidAddressError(`address "${address}" has an invalid peer id: ${(err as Error).message}`)
  }
  if (identity.type !== 'Ed25519') throw new InvalidAddressError(`address "${address}" names a ${identity.type} peer id; the gRPC transport authenticates Ed25519 keys only`)
  return { host: host.value, port: Number(tcp.value), identity: identity.toString() }
}

/** The dialable address of a bound listener. */
export function formatGrpcAddress (host: string, port: number, identity: string): string {
  const family = host.includes(':') ? 'ip6' : 'ip4'
  return `/${family}/${host}/tcp/${port}/tls/http/p2p/${identity}`
}
