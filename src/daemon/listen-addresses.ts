import { addressForm } from '../transports/multi/address-form.ts'
import { InvalidAddressError } from '../core/errors.ts'
import { DaemonConfigError, DuplicateTransportError, ListenAddressError } from './daemon-errors.ts'
import { DEFAULT_LISTEN } from './transport-names.ts'
import type { DaemonTransport } from './transport-names.ts'

/*
 * What a daemon's --transport and --listen mean, decided with no transport
 * loaded: the CLI checks them before it loads the daemon.
 */

/** `transport` as a list: one name, or several without repeats. Throws `DuplicateTransportError`, or `DaemonConfigError` for an empty list. */
export function transportList (transport: DaemonTransport | readonly DaemonTransport[] | undefined): DaemonTransport[] {
  const names = transport === undefined ? ['libp2p' as const] : typeof transport === 'string' ? [transport] : [...transport]
  if (names.length === 0) throw new DaemonConfigError('no transport named: name at least one of libp2p, tls, grpc')
  const seen = new Set<DaemonTransport>()
  for (const name of names) {
    if (seen.has(name)) throw new DuplicateTransportError(`transport "${name}" is named twice`)
    seen.add(name)
  }
  return names
}

/**
 * The listen addresses of each transport, in the order of `transports`: each
 * address goes to the transport its form names (`/tcp/N` libp2p, `/tcp/N/tls`
 * TLS, `/tcp/N/tls/http` gRPC), and a transport given none listens on its
 * `DEFAULT_LISTEN`. With one transport every address is that transport's to
 * check, as before several could run: a bare `/tcp/N` goes to it too (the TLS
 * transport takes one), and an address of no known form gets its own error.
 * Throws `ListenAddressError` for an address of a transport not in
 * `transports`, or (with several) of no known form.
 */
export function assignListenAddresses (transports: readonly DaemonTransport[], listen: readonly string[]): Map<DaemonTransport, string[]> {
  const assigned = new Map<DaemonTransport, string[]>(transports.map(t => [t, []]))
  const only = transports.length === 1 ? transports[0] : undefined
  for (const address of listen) {
    let form: DaemonTransport
    try {
      form = addressForm(address)
    } catch (err) {
      if (only !== undefined && err instanceof InvalidAddressError) {
        assigned.get(only)?.push(address)
        continue
      }
      throw new ListenAddressError(`listen address "${address}" is of no transport's form: ${(err as Error).message}`)
    }
    if (form === 'libp2p' && only !== undefined) form = only
    const addresses = assigned.get(form)
    if (addresses === undefined) {
      throw new ListenAddressError(
        `listen address "${address}" is a ${form} address, but the transports are ${transports.join(', ')}: ` +
        `add ${form} to --transport, or listen in the form of one of them (${transports.map(t => DEFAULT_LISTEN[t]).join(', ')})`
      )
    }
    addresses.push(address)
  }
  for (const [transport, addresses] of assigned) {
    if (addresses.length === 0) addresses.push(DEFAULT_LISTEN[transport])
  }
  return assigned
}
