/**
 * mirnet: a membership-aware network transport for consensus protocols.
 * The core is transport-agnostic; the libp2p transport is the default.
 */
export { NetworkModule } from './core/network-module.ts'
export type { NetworkModuleComponents, NetworkModuleOptions, MembershipChange, PeerStateDetail } from './core/network-module.ts'
export type { NetworkModuleInit, NetworkModuleConfig } from './core/config.ts'
export type { MemberSpec, Member } from './core/membership.ts'
export type { ReceivedMessage } from './core/inbox.ts'
export type { NetworkStats, PeerStats, TentativeStats, TentativeLosses, SendOutcome, LinkState } from './core/peer-stats.ts'
export type { Transport, Channel, ChannelHandler, Bytes } from './core/transport.ts'
export type { Logger } from './core/logger.ts'
export * from './core/errors.ts'
export * as defaults from './core/constants.ts'
export { Libp2pTransport } from './transports/libp2p/libp2p-transport.ts'
export type { Libp2pTransportInit } from './transports/libp2p/libp2p-transport.ts'
export { generateKey, peerIdOf, readKeyFile, writeKeyFile, KeyFileError } from './transports/libp2p/keys.ts'
export { TlsTransport, IdentityMismatchError, HandshakeTimeoutError, HandshakeFailedError } from './transports/tls/tls-transport.ts'
export type { TlsTransportInit } from './transports/tls/tls-transport.ts'
export { PeerCertificateError } from './transports/tls/certificate.ts'
export { MemoryNetwork, MemoryTransport } from './transports/memory/memory-transport.ts'
