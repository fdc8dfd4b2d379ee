import { HandshakeFailedError, HandshakeTimeoutError, IdentityMismatchError, verifiedPeer } from './tls-handshake.ts'
import type { TLSSocket } from 'node:tls'

export interface TlsDialInit {
  /** The dialing TLS socket, its handshake under way. */
  socket: TLSSocket
  /** The address dialed, for errors. */
  address: string
  host: string
  port: number
  /** The peer id the address names: the server's certificate must be of its key. */
  expected: string | undefined
  /** The ALPN protocol the server must have chosen. */
  alpn: string
  /** How long the whole handshake may take, `succeed()` included. */
  handshakeTimeoutMs: number
  signal: AbortSignal
  /** Names the transport in errors: `TLS`, `gRPC`. */
  label: string
  /** What must be over within the timeout, for its error: `TLS handshake`. */
  handshakeName: string
  /** Drop the connection of a failed dial at once. */
  drop: (err: Error) => void
}

/** A dial whose server authenticated as the address says, its handshake not yet over. */
export interface PendingDial<T> {
  /** The server's peer id (verifiedPeer), the one the address names. */
  readonly identity: string
  /** Fail the dial with a HandshakeFailedError naming `err`: for what runs on the socket (a session, a stream). */
  readonly onError: (err: Error) => void
  /** Fail the dial: the connection is dropped and the dial rejects with `err`. */
  fail: (err: Error) => void
  /** The handshake is over: the dial resolves with `value`. */
  succeed: (value: T) => void
  /** Run `undo` when the dial settles either way (to take off listeners added for it). */
  onSettle: (undo: () => void) => void
}

/**
 * The outbound handshake of a TLS endpoint: it fails when the caller's
 * signal aborts (with its reason), when the connection fails or closes
 * first (`HandshakeFailedError`), after `handshakeTimeoutMs`
 * (`HandshakeTimeoutError`), when the certificate is not valid
 * (`PeerCertificateError`) or not of the key the address names
 * (`IdentityMismatchError`). Once the server is authenticated,
 * `onAuthenticated` finishes the handshake (the gRPC transport opens its
 * call there) and settles it; a failure drops the connection.
 */
export async function tlsDial<T> (init: TlsDialInit, onAuthenticated: (dial: PendingDial<T>) => void): Promise<T> {
  const { socket, address, signal } = init
  return await new Promise<T>((resolve, reject) => {
    let settled = false
    const undos: Array<() => void> = []
    const cleanup = (): void => {
      settled = true
      clearTimeout(timer)
      signal.removeEventListener('abort', onAbort)
      socket.off('error', onError)
      socket.off('close', onClose)
      for (const undo of undos) undo()
    }
    const fail = (err: Error): void => {
      if (settled) return
      cleanup()
      init.drop(err)
      reject(err)
    }
    const succeed = (value: T): void => {
      if (settled) return
      cleanup()
      resolve(value)
    }
    const onAbort = (): void => { fail(signal.reason as Error) }
    const onError = (err: Error): void => { fail(new HandshakeFailedError(`${init.label} connection to ${address} failed: ${err.message}`)) }
    const onClose = (): void => { fail(new HandshakeFailedError(`${init.label} connection to ${address} closed during the handshake`)) }
    const timer = setTimeout(() => {
      fail(new HandshakeTimeoutError(`no ${init.handshakeName} with ${address} within ${init.handshakeTimeoutMs} ms`))
    }, init.handshakeTimeoutMs)
    signal.addEventListener('abort', onAbort, { once: true })
    socket.on('error', onError)
    socket.once('close', onClose)
    socket.once('secureConnect', () => {
      let identity: string
      try {
        identity = verifiedPeer(socket, init.alpn)
      } catch (err) {
        fail(err as Error)
        return
      }
      if (identity !== init.expected) {
        fail(new IdentityMismatchError(`node at ${init.host}:${init.port} is ${identity}, not ${String(init.expected)}`))
        return
      }
      onAuthenticated({ identity, onError, fail, succeed, onSettle: undo => { undos.push(undo) } })
    })
  })
}
