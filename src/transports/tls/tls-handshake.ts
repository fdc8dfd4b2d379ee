import { identityOfCertificate, PeerCertificateError } from './certificate.ts'
import type { TLSSocket } from 'node:tls'

/** The node at the dialed address authenticated with another key than the address names. */
export class IdentityMismatchError extends Error {
  override name = 'IdentityMismatchError'
}

/** The TLS handshake did not finish within `handshakeTimeoutMs`. */
export class HandshakeTimeoutError extends Error {
  override name = 'HandshakeTimeoutError'
}

/** The connection failed before the handshake finished (refused, reset, TLS alert). */
export class HandshakeFailedError extends Error {
  override name = 'HandshakeFailedError'
}

/** ALPN protocol both ends must agree on: refuses anything that is not a mirnet TLS endpoint. */
export const TLS_ALPN_PROTOCOL = 'mirnet/tls/1'

/**
 * The identity of the peer at the other end of a finished handshake: TLS 1.3,
 * the ALPN protocol `alpn` (ours unless the gRPC transport asks for `h2`), a
 * full handshake (no resumption, which would skip the certificate) and a
 * valid self-signed Ed25519 certificate.
 */
export function verifiedPeer (socket: TLSSocket, alpn = TLS_ALPN_PROTOCOL): string {
  const version = socket.getProtocol()
  if (version !== 'TLSv1.3') throw new PeerCertificateError(`the peer negotiated ${String(version)}, not TLSv1.3`)
  if (socket.alpnProtocol !== alpn) throw new PeerCertificateError(`the peer did not negotiate ALPN ${alpn}`)
  if (socket.isSessionReused()) throw new PeerCertificateError('the peer resumed a session; a full handshake is required')
  return identityOfCertificate(socket.getPeerX509Certificate())
}
