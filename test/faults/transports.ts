import { it } from '@jest/globals'
import { DAEMON_TRANSPORTS } from '../../src/daemon/daemon.ts'
import { FULL } from './scale.ts'
import type { DaemonTransport } from '../../src/daemon/daemon.ts'

/**
 * The fault scenarios run on every network transport a daemon has (`mirnet
 * serve --transport`). Under `npm test` (the quick form) libp2p runs every
 * case and TLS and gRPC one representative case per scenario file, to keep
 * the suite short; under `npm run faults -- --full` every case runs on every
 * transport.
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

/** Whether a case runs on `transport` in this run: libp2p always, the others under --full or when the case is its file's representative. */
export function runsOn (transport: DaemonTransport, representative = false): boolean {
  return transport === 'libp2p' || representative || FULL
}

/**
 * `it` for a case on `transport`, or, when the case does not run on it in
 * this run (see {@link runsOn}), nothing: the case is left out, not skipped.
 */
export function itOn (transport: DaemonTransport, representative = false): (name: string, fn: () => Promise<void>, timeoutMs?: number) => void {
  if (runsOn(transport, representative)) return (name, fn, timeoutMs) => { it(name, fn, timeoutMs) }
  return () => {}
}

/** `quick` for a case on libp2p or any case under --full; `other` for TLS and gRPC in the quick form (their representative case runs shorter). */
export function quickOn<T> (transport: DaemonTransport, libp2p: T, other: T): T {
  return transport === 'libp2p' || FULL ? libp2p : other
}
