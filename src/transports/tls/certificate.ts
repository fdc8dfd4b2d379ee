import { createPrivateKey, webcrypto } from 'node:crypto'
import { createSecureContext } from 'node:tls'
import { publicKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { X509CertificateGenerator } from '@peculiar/x509'
import type { X509Certificate } from 'node:crypto'
import type { PrivateKey } from '@libp2p/interface'
import type { SecureContext } from 'node:tls'

/** The peer's certificate is missing, malformed, or not an Ed25519 self-signed certificate valid now. */
export class PeerCertificateError extends Error {
  override name = 'PeerCertificateError'
}

/** The key pair a TLS endpoint presents: PEM, as node:tls takes it. */
export interface IdentityCertificate {
  keyPem: string
  certPem: string
}

/**
 * How long a generated certificate is valid. Certificates are made afresh at
 * every start of the transport and carry nothing but the key, so a long
 * validity costs nothing; `notBefore` is set an hour back to tolerate clocks
 * that are somewhat behind.
 */
const VALIDITY_MS = 10 * 365 * 24 * 3600_000
const CLOCK_SKEW_MS = 3600_000

/**
 * A self-signed X.509 certificate for the node's own Ed25519 key (the libp2p
 * host key, whose peer id is the node's identity).
 *
 * This differs from libp2p's TLS handshake spec (libp2p/specs tls/tls.md),
 * where the certificate holds an unrelated, possibly ephemeral key and the
 * host key signs it inside a custom extension (OID 1.3.6.1.4.1.53594.1.1), so
 * that any host key type works. mirnet's keys are Ed25519 only, which X.509
 * and TLS 1.3 support directly: the certificate's subject key *is* the host
 * key, and TLS 1.3's CertificateVerify proves possession of it. Verifying a
 * peer is then a plain comparison of the certificate key with the peer id.
 * The rest follows the spec: TLS 1.3 only, both ends present one certificate,
 * the server requires the client's, and the validity period is checked.
 */
export async function createIdentityCertificate (key: PrivateKey): Promise<IdentityCertificate> {
  if (key.type !== 'Ed25519') throw new PeerCertificateError(`the TLS transport needs an Ed25519 key, not ${key.type}`)
  const publicRaw = key.publicKey.raw
  // libp2p's Ed25519 private key is the 32-byte seed followed by the public key
  const seed = key.raw.subarray(0, 32)
  const jwk = { kty: 'OKP', crv: 'Ed25519', d: Buffer.from(seed).toString('base64url'), x: Buffer.from(publicRaw).toString('base64url') }
  const keyObject = createPrivateKey({ key: jwk, format: 'jwk' })
  const privateKey = await webcrypto.subtle.importKey('jwk', { ...jwk, ext: true }, { name: 'Ed25519' }, false, ['sign'])
  const publicKey = await webcrypto.subtle.importKey('raw', publicRaw, { name: 'Ed25519' }, true, ['verify'])
  const peerId = peerIdFromPublicKey(key.publicKey).toString()
  const now = Date.now()
  const cert = await X509CertificateGenerator.createSelfSigned({
    name: `CN=${peerId}`,
    keys: { privateKey, publicKey },
    signingAlgorithm: { name: 'Ed25519' },
    notBefore: new Date(now - CLOCK_SKEW_MS),
    notAfter: new Date(now + VALIDITY_MS)
  }, webcrypto as unknown as Parameters<typeof X509CertificateGenerator.createSelfSigned>[1])
  return {
    keyPem: keyObject.export({ format: 'pem', type: 'pkcs8' }).toString(),
    certPem: cert.toString('pem')
  }
}

/** A TLS 1.3-only context presenting the certificate of `key` (createIdentityCertificate). */
export async function createIdentityContext (key: PrivateKey): Promise<SecureContext> {
  const { keyPem, certPem } = await createIdentityCertificate(key)
  return createSecureContext({ key: keyPem, cert: certPem, minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' })
}

/**
 * The identity (peer id) a peer's certificate authenticates: its subject key
 * must be Ed25519, the certificate must be signed by that very key and valid
 * at `nowMs`. Throws `PeerCertificateError` otherwise.
 */
export function identityOfCertificate (cert: X509Certificate | undefined, nowMs = Date.now()): string {
  if (cert === undefined) throw new PeerCertificateError('the peer presented no certificate')
  const key = cert.publicKey
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new PeerCertificateError(`the peer's certificate has a ${String(key.asymmetricKeyType)} key, not Ed25519`)
  }
  if (!cert.verify(key)) throw new PeerCertificateError('the peer\'s certificate is not signed by its own key')
  if (nowMs < cert.validFromDate.getTime() || nowMs > cert.validToDate.getTime()) {
    throw new PeerCertificateError(`the peer's certificate is valid from ${cert.validFrom} to ${cert.validTo}, not now`)
  }
  const x = key.export({ format: 'jwk' }).x
  if (x === undefined) throw new PeerCertificateError('the peer\'s certificate key cannot be read')
  return peerIdFromPublicKey(publicKeyFromRaw(Buffer.from(x, 'base64url'))).toString()
}
