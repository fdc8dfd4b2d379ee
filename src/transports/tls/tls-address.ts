import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { InvalidAddressError, MissingPeerIdError } from '../../core/errors.ts'

/**
 * Addresses of the TLS transport are multiaddrs of the form
 * `/ip4/<address>/tcp/<port>/tls/p2p/<peer id>` (or `/ip6/…`, `/dns4/…`,
 * `/dns6/…`, `/dns/…` for the host). `/tls` is what tells them apart from a
 * libp2p address (`/ip4/…/tcp/…/p2p/…`, Noise), so that one membership can
 * name members on either transport. Listen addresses are the same without
 * `/p2p/…` (the trailing `/tls` may be left out there).
 *
 * The gRPC transport's addresses have the same shape with another suffix
 * (grpc-address.ts): both are parsed by `parseSuffixedAddress`.
 */
export interface TlsAddress {
  host: string
  port: number
  /** The peer id the address names; absent in a listen address. */
  identity?: string
}

/** What follows `/tcp/<port>` in a transport's addresses, before `/p2p/<peer id>`. */
export interface AddressSuffix {
  /** The multiaddr protocols, in order: `['tls']`, `['tls', 'http']`. */
  protocols: readonly string[]
  /** The transport's name in errors: `TLS`, `gRPC`. */
  transport: string
  /** A listen address may end at `/tcp/<port>`, without the suffix. */
  optionalInListen: boolean
}

export const TLS_ADDRESS_SUFFIX: AddressSuffix = { protocols: ['tls'], transport: 'TLS', optionalInListen: true }

const HOSTS = new Set(['ip4', 'ip6', 'dns', 'dns4', 'dns6'])

/**
 * Parse `/<host protocol>/<host>/tcp/<port><suffix>[/p2p/<peer id>]`; throws
 * `InvalidAddressError` or, when `requireIdentity` and no `/p2p/` is there,
 * `MissingPeerIdError`. The peer id must be of an Ed25519 key.
 */
export function parseSuffixedAddress (address: string, requireIdentity: boolean, suffix: AddressSuffix): TlsAddress {
  const path = suffix.protocols.map(p => `/${p}`).join('')
  let components
  try {
    components = multiaddr(address).getComponents()
  } catch (err) {
    throw new InvalidAddressError(`address "${address}" is not a valid multiaddr: ${(err as Error).message}`)
  }
  const [host, tcp] = components
  if (host === undefined || !HOSTS.has(host.name) || host.value === undefined || tcp?.name !== 'tcp' || tcp.value === undefined) {
    throw new InvalidAddressError(`address "${address}" is not a /ip4|ip6|dns…/<host>/tcp/<port>${path}/p2p/<peer id> address`)
  }
  if (components.length === 2 && suffix.optionalInListen && !requireIdentity) return { host: host.value, port: Number(tcp.value) }
  if (suffix.protocols.some((p, i) => components[2 + i]?.name !== p)) {
    throw new InvalidAddressError(`address "${address}" has no ${path} after its TCP port: it is not a ${suffix.transport} transport address`)
  }
  const [p2p, ...rest] = components.slice(2 + suffix.protocols.length)
  if (p2p === undefined) {
    if (requireIdentity) throw new MissingPeerIdError(`address "${address}" does not end in /p2p/<peer id>`)
    return { host: host.value, port: Number(tcp.value) }
  }
  if (p2p.name !== 'p2p' || p2p.value === undefined || rest.length > 0) {
    throw new InvalidAddressError(`address "${address}" has something other than /p2p/<peer id> after ${path}`)
  }
  let identity
  try {
    identity = peerIdFromString(p2p.value)
  } catch (err) {
    throw new InvalidAddressError(`address "${address}" has an invalid peer id: ${(err as Error).message}`)
  }
  if (identity.type !== 'Ed25519') throw new InvalidAddressError(`address "${address}" names a ${identity.type} peer id; the ${suffix.transport} transport authenticates Ed25519 keys only`)
  return { host: host.value, port: Number(tcp.value), identity: identity.toString() }
}

/** The dialable address of a bound listener, with `suffix`. */
export function formatSuffixedAddress (host: string, port: number, identity: string, suffix: AddressSuffix): string {
  const family = host.includes(':') ? 'ip6' : 'ip4'
  return `/${family}/${host}/tcp/${port}${suffix.protocols.map(p => `/${p}`).join('')}/p2p/${identity}`
}

/** Parse a TLS address; throws `InvalidAddressError` or, when `requireIdentity` and no `/p2p/` is there, `MissingPeerIdError`. */
export function parseTlsAddress (address: string, requireIdentity: boolean): TlsAddress {
  return parseSuffixedAddress(address, requireIdentity, TLS_ADDRESS_SUFFIX)
}

/** The dialable address of a bound listener. */
export function formatTlsAddress (host: string, port: number, identity: string): string {
  return formatSuffixedAddress(host, port, identity, TLS_ADDRESS_SUFFIX)
}
