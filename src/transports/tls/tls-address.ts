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
 */
export interface TlsAddress {
  host: string
  port: number
  /** The peer id the address names; absent in a listen address. */
  identity?: string
}

const HOSTS = new Set(['ip4', 'ip6', 'dns', 'dns4', 'dns6'])

/** Parse a TLS address; throws `InvalidAddressError` or, when `requireIdentity` and no `/p2p/` is there, `MissingPeerIdError`. */
export function parseTlsAddress (address: string, requireIdentity: boolean): TlsAddress {
  let components
  try {
    components = multiaddr(address).getComponents()
  } catch (err) {
    throw new InvalidAddressError(`address "${address}" is not a valid multiaddr: ${(err as Error).message}`)
  }
  const [host, tcp, tls, p2p, ...rest] = components
  if (host === undefined || !HOSTS.has(host.name) || host.value === undefined || tcp?.name !== 'tcp' || tcp.value === undefined) {
    throw new InvalidAddressError(`address "${address}" is not a /ip4|ip6|dns…/<host>/tcp/<port>/tls/p2p/<peer id> address`)
  }
  if (tls === undefined && !requireIdentity) return { host: host.value, port: Number(tcp.value) }
  if (tls?.name !== 'tls') {
    throw new InvalidAddressError(`address "${address}" has no /tls after its TCP port: it is not a TLS transport address`)
  }
  if (p2p === undefined) {
    if (requireIdentity) throw new MissingPeerIdError(`address "${address}" does not end in /p2p/<peer id>`)
    return { host: host.value, port: Number(tcp.value) }
  }
  if (p2p.name !== 'p2p' || p2p.value === undefined || rest.length > 0) {
    throw new InvalidAddressError(`address "${address}" has something other than /p2p/<peer id> after /tls`)
  }
  let identity
  try {
    identity = peerIdFromString(p2p.value)
  } catch (err) {
    throw new InvalidAddressError(`address "${address}" has an invalid peer id: ${(err as Error).message}`)
  }
  if (identity.type !== 'Ed25519') throw new InvalidAddressError(`address "${address}" names a ${identity.type} peer id; the TLS transport authenticates Ed25519 keys only`)
  return { host: host.value, port: Number(tcp.value), identity: identity.toString() }
}

/** The dialable address of a bound listener. */
export function formatTlsAddress (host: string, port: number, identity: string): string {
  const family = host.includes(':') ? 'ip6' : 'ip4'
  return `/${family}/${host}/tcp/${port}/tls/p2p/${identity}`
}
