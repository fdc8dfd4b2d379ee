import { Libp2pTransport } from '../transports/libp2p/libp2p-transport.ts'
import { TlsTransport } from '../transports/tls/tls-transport.ts'
import { GrpcTransport } from '../transports/grpc/grpc-transport.ts'
import { MultiTransport } from '../transports/multi/multi-transport.ts'
import { assignListenAddresses, transportList } from './listen-addresses.ts'
import type { DaemonTransport } from './transport-names.ts'
import type { Logger } from '../core/logger.ts'
import type { Transport } from '../core/transport.ts'
import type { PrivateKey } from '@libp2p/interface'

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
