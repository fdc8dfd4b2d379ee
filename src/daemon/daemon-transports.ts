import { Libp2pTransport } from '../transports/libp2p/libp2p-transport.ts'
import { TlsTransport } from '../transports/tls/tls-transport.ts'
import { GrpcTransport } from '../transports/grpc/grpc-transport.ts'
import { addressForm } from '../transports/multi/address-form.ts'
import { MultiTransport } from '../transports/multi/multi-transport.ts'
import { InvalidAddressError } from '../core/errors.ts'
import { DaemonConfigError, DuplicateTransportError, ListenAddressError } from './daemon-errors.ts'
import { DEFAULT_LISTEN } from './transport-names.ts'
import type { DaemonTransport } from './transport-names.ts'
import type { Logger } from '../core/logger.ts'
import type { Transport } from '../core/transport.ts'
import type { PrivateKey } from '@libp2p/interface'

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

export interface DaemonTransportInit {
  privateKey: PrivateKey
  /** One transport or several, each at most once. @default 'libp2p' */
  transport?: DaemonTransport | readonly DaemonTransport[]
  /** Listen addresses, assigned to the transports by `assignListenAddresses`. @default each transport's DEFAULT_LISTEN */
  listen?: readonly string[]
  logger: Logger
}

async function createOne (name: DaemonTransport, privateKey: PrivateKey, listen: string[], logger: Logger): Promise<Transport> {
  switch (name) {
    case 'tls': return await TlsTransport.create({ privateKey, listen, logger })
    case 'grpc': return await GrpcTransport.create({ privateKey, listen, logger })
    case 'libp2p': return await Libp2pTransport.create({ privateKey, listen, logger })
  }
}

/**
 * The transport a daemon runs: the one named, or a `MultiTransport` of the
 * several named (one key, so one identity on each), every one listening on
 * the addresses of its form. Nothing listens yet: `start()` binds.
 */
export async function createDaemonTransport (init: DaemonTransportInit): Promise<Transport> {
  const { privateKey, logger } = init
  const transports = transportList(init.transport)
  const listen = assignListenAddresses(transports, init.listen ?? [])
  if (transports.length === 1) {
    const [name] = transports
    // libp2p names its own components; TLS and gRPC log as the daemon's transport
    const log = name === 'libp2p' ? logger : logger.child({ component: 'transport' })
    return await createOne(name, privateKey, listen.get(name) ?? [], log)
  }
  const created = new Map<DaemonTransport, Transport>()
  try {
    for (const [name, addresses] of listen) {
      const log = name === 'libp2p' ? logger.child({ transport: name }) : logger.child({ component: 'transport', transport: name })
      created.set(name, await createOne(name, privateKey, addresses, log))
    }
    return new MultiTransport(created)
  } catch (err) {
    // none listens yet, but libp2p has made its components: stop what was made
    await Promise.all([...created.values()].map(async t => { await t.stop() }))
    throw err
  }
}
