import { afterEach, describe, expect, it } from '@jest/globals'
import { encodeStreamOpening, frameTag, FIRST_CHUNK, newIncarnation, WHOLE } from '../src/core/link-protocol.ts'
import { encodeHeader } from '../src/core/frame-codec.ts'
import { MemoryHarness, membershipOf } from './helpers/harness.ts'
import { eventually } from './helpers/wait.ts'
import type { ReceivedMessage } from '../src/core/inbox.ts'

/** Bytes of the distinct buffers the messages' payloads keep alive. */
function pinnedBytes (messages: ReceivedMessage[]): number {
  const buffers = new Set<ArrayBufferLike>()
  for (const m of messages) buffers.add(m.payload.buffer)
  let n = 0
  for (const b of buffers) n += b.byteLength
  return n
}

/** `bytes` at the start of a fresh buffer of `backing` bytes, as a socket's read pool would hand them over. */
function inLargeBuffer (bytes: Uint8Array, backing: number): Uint8Array {
  const view = new Uint8Array(new ArrayBuffer(backing), 0, bytes.byteLength)
  view.set(bytes)
  return view
}

describe('memory that the inbox caps really bound', () => {
  const harness = new MemoryHarness()
  afterEach(async () => { await harness.cleanup() })

  async function memberStream (): Promise<{ send: (chunk: Uint8Array) => void, take: (n: number) => Promise<ReceivedMessage[]> }> {
    const a = await harness.createNode('a', { inboxCapacity: 100_000, inboxMinCredit: 100_000 })
    const raw = await harness.createRawTransport()
    a.module.connect([...membershipOf(a), { id: 'm', address: harness.withIdentity(a.address, raw.localIdentity) }])
    const channel = await raw.dial(a.address, { signal: AbortSignal.timeout(5000) })
    channel.setHandler({ onData: () => {}, onDrain: () => {}, onIdle: () => {}, onEnd: () => {}, onClose: () => {} })
    channel.send(encodeStreamOpening(newIncarnation(), [0, 0, 0]))
    return {
      send: chunk => { channel.send(chunk) },
      take: async n => {
        await eventually(`${n} messages in the inbox`, () => a.module.inbox.length >= n)
        return a.module.inbox.take(n)
      }
    }
  }

  it('does not let tiny frames, each in its own large chunk, pin a chunk each', async () => {
    const s = await memberStream()
    const count = 2_000
    for (let i = 0; i < count; i++) {
      // a frame of a 10-byte message on lane 1, alone in a 64 KiB buffer
      s.send(inLargeBuffer(Uint8Array.of(11, frameTag(1, WHOLE), ...new Uint8Array(10).fill(i % 256)), 64 * 1024))
    }
    const got = await s.take(count)
    const payloadBytes = got.reduce((n, m) => n + m.payload.byteLength, 0)
    expect(payloadBytes).toBe(10 * count)
    // without the copy: 2,000 × 64 KiB = 125 MiB held for 20 kB of payload
    expect(pinnedBytes(got)).toBeLessThan(4 * payloadBytes)
  })

  it('does not let a small message pin the chunk of another lane\'s data it arrived with', async () => {
    const s = await memberStream()
    const part = new Uint8Array(30_000).fill(7)
    // one chunk: the first 30,000 bytes of a 100,000-byte bulk message, then a 10-byte control message
    const chunk = Buffer.concat([
      encodeHeader(1 + 3 + part.byteLength), // tag, varint total (3 bytes), 30,000 bytes
      Uint8Array.of(frameTag(2, FIRST_CHUNK), 0xa0, 0x8d, 0x06), // total 100,000
      part,
      Uint8Array.of(11, frameTag(0, WHOLE)), new Uint8Array(10).fill(1)
    ])
    s.send(chunk)
    const [vote] = await s.take(1)
    expect(vote.lane).toBe('control')
    expect(vote.payload.buffer.byteLength).toBeLessThan(1024)
  })
})
