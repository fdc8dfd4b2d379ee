import type { Uint8ArrayList } from 'uint8arraylist'

/**
 * The narrow interface between the core and a transport (libp2p, in-memory,
 * later raw TCP or gRPC). A transport moves bytes over one-way channels and
 * tells who is at the other end; everything else (framing, queues,
 * membership, reconnects) is the core's.
 */

/** Bytes as transports hand them over: one array or a list of arrays. */
export type Bytes = Uint8Array | Uint8ArrayList

/** Callbacks a channel calls; set once with {@link Channel.setHandler}. */
export interface ChannelHandler {
  /** Bytes arrived (inbound channels). Called synchronously per chunk. */
  onData: (data: Bytes) => void
  /** A `send()` that returned false may be followed by more sends now. */
  onDrain: () => void
  /** Everything sent so far has left the channel's write buffer. */
  onIdle: () => void
  /** The remote end closed its writing side: no more data will arrive. */
  onEnd: () => void
  /**
   * The channel is closed for good, with the error if it broke (remote reset,
   * connection lost, local abort). Called exactly once.
   */
  onClose: (err?: Error) => void
}

/**
 * A one-way byte channel: the core writes to channels it dials and reads from
 * channels it accepts.
 */
export interface Channel {
  /** The identity of the remote end as the transport authenticated it. */
  readonly remoteIdentity: string
  setHandler: (handler: ChannelHandler) => void
  /**
   * Queue bytes for sending. Returns false when the caller should wait for
   * `onDrain` before sending more. Throws when the channel is closed.
   */
  send: (data: Bytes) => boolean
  /** Stop delivering `onData` until `resume()`; the remote is slowed down. */
  pause: () => void
  resume: () => void
  /** Close at once, discarding unsent and unread data. Idempotent. */
  abort: (err: Error) => void
  /**
   * The peer is unresponsive: drop the whole connection this channel runs on,
   * so that the next dial makes a new one instead of reusing a dead one.
   */
  abortConnection: (err: Error) => void
  /** Close gracefully after the unsent data has been written. Idempotent. */
  close: () => Promise<void>
}

export interface DialOptions {
  signal: AbortSignal
}

export interface Transport {
  /** The identity this transport authenticates as (for libp2p, the peer id). */
  readonly localIdentity: string
  /**
   * Validate an address and return the identity it names. Throws
   * `InvalidAddressError` or `MissingPeerIdError`.
   */
  parseAddress: (address: string) => string
  /** Addresses peers can dial, each naming {@link localIdentity}. */
  listenAddresses: () => string[]
  /** Start accepting channels; `onInbound` is called for each new one. */
  start: (onInbound: (channel: Channel) => void) => Promise<void>
  /**
   * Open a channel to the node at `address`. Rejects if the node there does
   * not authenticate as the identity the address names.
   */
  dial: (address: string, options: DialOptions) => Promise<Channel>
  /** Close every connection to a remote identity. */
  disconnect: (identity: string) => Promise<void>
  /** Stop listening and close every connection. Idempotent. */
  stop: () => Promise<void>
}
