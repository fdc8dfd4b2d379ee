import { InvalidArgumentError, Option } from 'commander'
import { DAEMON_TRANSPORTS } from '../daemon/transport-names.ts'
import type { DaemonTransport } from '../daemon/transport-names.ts'

/** `--transport`'s default: the object itself tells the parser that nothing was named yet. */
const DEFAULT_TRANSPORTS: readonly DaemonTransport[] = Object.freeze(['libp2p'])

/**
 * `--transport`: one or several of libp2p, tls, grpc, comma-separated or
 * repeated, each at most once. The first occurrence replaces the default
 * rather than adding to it (commander hands the default in as `previous`).
 */
export function transportNames (value: string, previous: readonly DaemonTransport[] = DEFAULT_TRANSPORTS): DaemonTransport[] {
  const names = previous === DEFAULT_TRANSPORTS ? [] : [...previous]
  const given = value.split(',').map(s => s.trim())
  if (given.some(s => s.length === 0)) throw new InvalidArgumentError(`expected transports such as libp2p or libp2p,tls, got "${value}"`)
  for (const name of given) {
    if (!(DAEMON_TRANSPORTS as readonly string[]).includes(name)) {
      throw new InvalidArgumentError(`Allowed choices are ${DAEMON_TRANSPORTS.join(', ')}. "${name}" is none of them.`)
    }
    if ((names as string[]).includes(name)) throw new InvalidArgumentError(`transport "${name}" is named twice.`)
    names.push(name as DaemonTransport)
  }
  return names
}

/**
 * The `--transport <names>` option of serve, cluster and k8s, with `help`
 * describing it; also read from MIRNET_TRANSPORT unless `env` is false.
 */
export function transportOption (help: string, { env = true }: { env?: boolean } = {}): Option {
  const option = new Option('--transport <names>', help)
    .argParser(transportNames)
    .default(DEFAULT_TRANSPORTS, 'libp2p')
  return env ? option.env('MIRNET_TRANSPORT') : option
}
