import { createCipheriv, createDecipheriv, createSecretKey } from 'node:crypto'
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto'
import { Uint8ArrayList } from 'uint8arraylist'
import type { KeyObject } from 'node:crypto'
import type { ICryptoInterface } from '@chainsafe/libp2p-noise'

/** Noise's own (older) uint8arraylist type; ours is the same at run time (both check one global symbol). */
type NoiseBytes = ReturnType<ICryptoInterface['chaCha20Poly1305Encrypt']>

const CHACHA20_POLY1305 = 'chacha20-poly1305'
const TAG_BYTES = 16
/** Below this the default's WASM ChaCha20-Poly1305 beats node:crypto (its own benchmark). */
const NATIVE_MIN_BYTES = 1200

interface CachedKey {
  bytes: Buffer
  key: KeyObject
}

/** Noise keeps one key array per cipher state: import it into a KeyObject once, not per message. */
const keys = new WeakMap<Uint8Array, CachedKey>()

function keyObject (k: Uint8Array): KeyObject {
  const cached = keys.get(k)
  // compare the bytes too, in case a key array is ever rewritten in place
  if (cached !== undefined && cached.bytes.equals(k)) return cached.key
  const bytes = Buffer.from(k)
  const key = createSecretKey(bytes)
  keys.set(k, { bytes, key })
  return key
}

/**
 * Noise crypto for transport messages: the default (node:crypto
 * ChaCha20-Poly1305 for large messages, WASM for small ones, node:crypto
 * X25519 and SHA-256), except that large messages use a cached KeyObject —
 * the default passes the raw key to `createCipheriv`, which imports it anew
 * for every 64 KiB Noise message (about half the cost of encrypting one) —
 * and are not concatenated with their tag into a new buffer.
 */
export const noiseCrypto: ICryptoInterface = {
  ...defaultCrypto,

  chaCha20Poly1305Encrypt (plaintext, nonce, ad, k) {
    if (plaintext.byteLength < NATIVE_MIN_BYTES) return defaultCrypto.chaCha20Poly1305Encrypt(plaintext, nonce, ad, k)
    const cipher = createCipheriv(CHACHA20_POLY1305, keyObject(k), nonce, { authTagLength: TAG_BYTES })
    cipher.setAAD(ad, { plaintextLength: plaintext.byteLength })
    const out = new Uint8ArrayList()
    if (plaintext instanceof Uint8Array) {
      out.append(cipher.update(plaintext))
    } else {
      for (const buf of plaintext) out.append(cipher.update(buf))
    }
    const final = cipher.final()
    if (final.byteLength > 0) out.append(final)
    out.append(cipher.getAuthTag())
    return out as unknown as NoiseBytes
  },

  chaCha20Poly1305Decrypt (ciphertext, nonce, ad, k, dst) {
    if (ciphertext.byteLength < NATIVE_MIN_BYTES) return defaultCrypto.chaCha20Poly1305Decrypt(ciphertext, nonce, ad, k, dst)
    const textBytes = ciphertext.byteLength - TAG_BYTES
    const decipher = createDecipheriv(CHACHA20_POLY1305, keyObject(k), nonce, { authTagLength: TAG_BYTES })
    decipher.setAAD(ad, { plaintextLength: textBytes })
    decipher.setAuthTag(ciphertext.subarray(textBytes))
    let out: Uint8Array | Uint8ArrayList
    if (ciphertext instanceof Uint8Array) {
      out = decipher.update(ciphertext.subarray(0, textBytes))
    } else {
      out = new Uint8ArrayList()
      for (const buf of ciphertext.sublist(0, textBytes)) out.append(decipher.update(buf))
    }
    // throws when the tag does not authenticate the message
    const final = decipher.final()
    if (final.byteLength === 0) return out as NoiseBytes
    return new Uint8ArrayList(out, final) as unknown as NoiseBytes
  }
}
