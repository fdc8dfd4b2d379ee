/**
 * The transports a daemon can run, by name, with nothing loaded: the CLI's
 * `k8s` and `cluster` commands name them without loading any transport.
 */

/**
 * A transport to the other members. Their address forms
 * (src/transports/multi/address-form.ts) tell them apart, so one daemon can
 * run several at once: a member's address says which one reaches it.
 */
export type DaemonTransport = 'libp2p' | 'tls' | 'grpc'

/** The transports a daemon can run, as `--transport` names them. */
export const DAEMON_TRANSPORTS: readonly DaemonTransport[] = ['libp2p', 'tls', 'grpc']

/** Where a daemon runs each transport unless told: loopback, a free port. */
export const DEFAULT_LISTEN: Readonly<Record<DaemonTransport, string>> = {
  libp2p: '/ip4/127.0.0.1/tcp/0',
  tls: '/ip4/127.0.0.1/tcp/0/tls',
  grpc: '/ip4/127.0.0.1/tcp/0/tls/http'
}
