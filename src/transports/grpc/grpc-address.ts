import { formatSuffixedAddress, parseSuffixedAddress } from '../tls/tls-address.ts'
import type { AddressSuffix, TlsAddress } from '../tls/tls-address.ts'

/**
 * Addresses of the gRPC transport are multiaddrs of the form
 * `/ip4/<address>/tcp/<port>/tls/http/p2p/<peer id>` (or `/ip6/…`, `/dns4/…`,
 * `/dns6/…`, `/dns/…` for the host): HTTP over TLS, the multiaddr spelling of
 * `https://` (the deprecated `/https` is not accepted). `/tls/http` is what
 * tells them apart from a libp2p address (`/ip4/…/tcp/…/p2p/…`) and from a
 * TLS transport address (`/ip4/…/tcp/…/tls/p2p/…`), so that one membership
 * can name members on each. Listen addresses are the same without `/p2p/…`;
 * `/tls/http` is required there too. Parsed as the TLS transport's are
 * (tls-address.ts), with this suffix.
 */
export type GrpcAddress = TlsAddress

export const GRPC_ADDRESS_SUFFIX: AddressSuffix = { protocols: ['tls', 'http'], transport: 'gRPC', optionalInListen: false }

/** Parse a gRPC address; throws `InvalidAddressError` or, when `requireIdentity` and no `/p2p/` is there, `MissingPeerIdError`. */
export function parseGrpcAddress (address: string, requireIdentity: boolean): GrpcAddress {
  return parseSuffixedAddress(address, requireIdentity, GRPC_ADDRESS_SUFFIX)
}

/** The dialable address of a bound listener. */
export function formatGrpcAddress (host: string, port: number, identity: string): string {
  return formatSuffixedAddress(host, port, identity, GRPC_ADDRESS_SUFFIX)
}
