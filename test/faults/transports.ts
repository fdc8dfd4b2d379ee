import { it } from '@jest/globals'
import { DAEMON_TRANSPORTS } from '../../src/daemon/daemon.ts'
import { ALL_TRANSPORTS, FULL } from './scale.ts'
import type { DaemonTransport } from '../../src/daemon/daemon.ts'

/**
 * The fault scenarios run on every network transport a daemon has (`mirnet
 * serve --transport`). Under `npm run faults -- --full` every case runs on
 * every transport. Under `npm test` (the quick form) libp2p runs every case,
 * and each scenario file one representative case on the transports it names
 * (TLS, gRPC or both, so that both are covered across the suite): npm test
 * grows by about a minute, not by twice the suite. `npm run faults --
 * --all-transports` runs every case on every transport at the short counts.
 */
export const TRANSPORTS: readonly DaemonTransport[] = DAEMON_TRANSPORTS

/** What follows the TCP port in a transport's addresses: `/tls` for TLS, `/tls/http` for gRPC, nothing for libp2p. */
const SUFFIX: Readonly<Record<DaemonTransport, string>> = { libp2p: '', tls: '/tls', grpc: '/tls/http' }

/** Listen address of `transport` on `host`:`port`. */
export function listenAddress (transport: DaemonTransport, host: string, port: number): string {
  return `/ip4/${host}/tcp/${port}${SUFFIX[transport]}`
}

/** The address other members dial: the listen address and `/p2p/<peer id>`. */
export function memberAddress (transport: DaemonTransport, host: string, port: number, peerId: string): string {
  return `${listenAddress(transport, host, port)}/p2p/${peerId}`
}

/** `serve` flags for `transport`. */
export function transportArgs (transport: DaemonTransport): string[] {
  return ['--transport', transport]
}

/**
 * Whether a case runs on `transport` in this run: on libp2p always, on the
 * others under --full, or in the quick form on those of `quickAlso` (the
 * transports a file's representative case runs on there).
 */
export function runsOn (transport: DaemonTransport, quickAlso: readonly DaemonTransport[] = []): boolean {
  return transport === 'libp2p' || FULL || ALL_TRANSPORTS || quickAlso.includes(transport)
}

/**
 * The transports a file's cases run on in this run (jest refuses a describe
 * block whose hooks have no test): libp2p, and the others under --full,
 * --all-transports or when they are among `quickAlso`.
 */
export function transportsOf (quickAlso: readonly DaemonTransport[]): DaemonTransport[] {
  return TRANSPORTS.filter(t => runsOn(t, quickAlso))
}

/**
 * `it` for a case on `transport`, or, when the case does not run on it in
 * this run (see {@link runsOn}), nothing: the case is left out, not skipped.
 */
export function itOn (transport: DaemonTransport, quickAlso: readonly DaemonTransport[] = []): (name: string, fn: () => Promise<void>, timeoutMs?: number) => void {
  if (runsOn(transport, quickAlso)) return (name, fn, timeoutMs) => { it(name, fn, timeoutMs) }
  return () => {}
}

/**
 * `libp2p` for a case on libp2p, under --full or --all-transports; `other`
 * for TLS and gRPC in the plain quick form (their representative case runs
 * shorter there).
 */
export function quickOn<T> (transport: DaemonTransport, libp2p: T, other: T): T {
  return transport === 'libp2p' || FULL || ALL_TRANSPORTS ? libp2p : other
}
