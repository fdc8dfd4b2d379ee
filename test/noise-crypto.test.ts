import { randomBytes } from 'node:crypto'
import { describe, expect, it } from '@jest/globals'
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto'
import { Uint8ArrayList } from 'uint8arraylist'
import { noiseCrypto } from '../src/transports/libp2p/noise-crypto.ts'

/** Noise's uint8arraylist is another major version than ours: same shape, other types. */
const flat = (b: unknown): Uint8Array => b instanceof Uint8Array ? b : (b as { subarray: () => Uint8Array }).subarray()

describe('noise crypto', () => {
  const k = randomBytes(32)
  const nonce = Buffer.alloc(12)
  nonce.writeUInt32LE(7, 4)
  const ad = randomBytes(32)

  it.each([16, 1199, 1200, 4096, 65_519])('is wire-compatible with the library default for %d-byte messages, both ways', (size) => {
    const plain = randomBytes(size)
    const ours = flat(noiseCrypto.chaCha20Poly1305Encrypt(plain, nonce, ad, k))
    const theirs = flat(defaultCrypto.chaCha20Poly1305Encrypt(plain, nonce, ad, k))
    expect(Buffer.from(ours).equals(Buffer.from(theirs))).toBe(true)
    expect(Buffer.from(flat(defaultCrypto.chaCha20Poly1305Decrypt(ours, nonce, ad, k))).equals(plain)).toBe(true)
    expect(Buffer.from(flat(noiseCrypto.chaCha20Poly1305Decrypt(theirs, nonce, ad, k))).equals(plain)).toBe(true)
    // split across a list, as messages arrive from the socket
    const list = new Uint8ArrayList(theirs.subarray(0, size >> 1), theirs.subarray(size >> 1))
    expect(Buffer.from(flat(noiseCrypto.chaCha20Poly1305Decrypt(list as never, nonce, ad, k))).equals(plain)).toBe(true)
  })

  it('rejects a tampered message, a wrong key, and a reused key array rewritten in place', () => {
    const plain = randomBytes(4096)
    const sealed = Buffer.from(flat(noiseCrypto.chaCha20Poly1305Encrypt(plain, nonce, ad, k)))
    const tampered = Buffer.from(sealed)
    tampered[100] ^= 1
    expect(() => noiseCrypto.chaCha20Poly1305Decrypt(tampered, nonce, ad, k)).toThrow()
    expect(() => noiseCrypto.chaCha20Poly1305Decrypt(sealed, nonce, ad, randomBytes(32))).toThrow()
    const key = Buffer.from(k)
    expect(Buffer.from(flat(noiseCrypto.chaCha20Poly1305Decrypt(sealed, nonce, ad, key))).equals(plain)).toBe(true)
    key[0] ^= 1
    expect(() => noiseCrypto.chaCha20Poly1305Decrypt(sealed, nonce, ad, key)).toThrow()
  })
})
