/**
 * What ChaCha20-Poly1305 decryption alone costs through node:crypto, per MB
 * of 64 KiB Noise messages (the largest Noise allows): a share of the CPU a
 * Noise receiver needs on top of what a raw TCP receiver needs.
 *
 *   node bench/tools/chacha-decrypt.ts
 */
import { createCipheriv, createDecipheriv, createSecretKey, randomBytes } from 'node:crypto'

const NOISE_MAX_PLAINTEXT = 65535 - 16
const key = createSecretKey(randomBytes(32))
const nonce = randomBytes(12)
const plaintext = randomBytes(NOISE_MAX_PLAINTEXT)
const cipher = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 })
const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()])
const tag = cipher.getAuthTag()
const messages = 20_000
for (let round = 1; round <= 3; round++) {
  const c0 = process.cpuUsage()
  for (let i = 0; i < messages; i++) {
    const d = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 })
    d.setAuthTag(tag)
    d.update(ciphertext)
    d.final()
  }
  const u = process.cpuUsage(c0)
  const seconds = (u.user + u.system) / 1e6
  const mb = messages * NOISE_MAX_PLAINTEXT / 1e6
  console.log(`round ${round}: decrypt ${(mb / seconds).toFixed(0)} MB per CPU second, ${(seconds * 1000 / mb).toFixed(3)} ms per MB`)
}
