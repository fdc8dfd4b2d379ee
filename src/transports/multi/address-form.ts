import { multiaddr } from '@multiformats/multiaddr'
import { InvalidAddressError } from '../../core/errors.ts'

/** The transports whose addresses are told apart by their form. */
export type AddressForm = 'libp2p' | 'tls' | 'grpc'

/**
 * Which transport an address is for, by what follows `/tcp/<port>`:
 * nothing or `/p2p/…` is libp2p, `/tls[/p2p/…]` the TLS transport,
 * `/tls/http[/p2p/…]` the gRPC transport. Whether the rest of the address is
 * valid is that transport's to say. Throws `InvalidAddressError` for an
 * address that is none of these.
 */
export function addressForm (address: string): AddressForm {
  let names: string[]
  try {
    names = multiaddr(address).getComponents().map(c => c.name)
  } catch (err) {
    throw new InvalidAddressError(`address "${address}" is not a valid multiaddr: ${(err as Error).message}`)
  }
  const tcp = names.indexOf('tcp')
  if (tcp < 0) throw new InvalidAddressError(`address "${address}" has no /tcp/<port>: no transport of this daemon takes it`)
  const after = names.slice(tcp + 1).filter(n => n !== 'p2p')
  if (after.length === 0) return 'libp2p'
  if (after[0] === 'tls' && after.length === 1) return 'tls'
  if (after[0] === 'tls' && after[1] === 'http' && after.length === 2) return 'grpc'
  throw new InvalidAddressError(`address "${address}" is neither a libp2p (/tcp/…/p2p/…), a TLS (/tcp/…/tls/p2p/…) nor a gRPC (/tcp/…/tls/http/p2p/…) address`)
}
