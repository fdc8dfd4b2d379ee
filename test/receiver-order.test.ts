import { afterEach, describe, expect, it } from '@jest/globals'
import { FIRST_CHUNK, LAST_CHUNK, WHOLE, encodeStreamOpening, frameTag, newIncarnation } from '../src/core/link-protocol.ts'
import { MemoryHarness, membershipOf } from './helpers/harness.ts'
import { eventually } from './helpers/wait.ts'

/** A frame under 128 bytes: its length (one varint byte), then its payload. */
function frame (...payload: number[]): number[] {
  return [payload.length, ...payload]
}

describe('Receiver', () => {
  const harness = new MemoryHarness()
  afterEach(async () => { await harness.cleanup() })

  describe('when one transport chunk ends a chunked message after a whole one of the same lane', () => {
    // found by the simulation (npm run sim, seed 6): the reassembled message reached the inbox before the whole one
    it('puts them in the inbox in the order they were sent', async () => {
      const a = await harness.createNode('a')
      const raw = await harness.createRawTransport()
      a.module.connect([...membershipOf(a), { id: 'm', address: harness.withIdentity(a.address, raw.localIdentity) }])
      const channel = await raw.dial(a.address, { signal: AbortSignal.timeout(5000) })
      channel.setHandler({ onData: () => {}, onDrain: () => {}, onIdle: () => {}, onEnd: () => {}, onClose: () => {} })
      channel.send(encodeStreamOpening(newIncarnation(), [0, 0, 0]))
      const first = new Array<number>(10).fill(1)
      const second = new Array<number>(20).fill(2)
      channel.send(Uint8Array.from([
        ...frame(frameTag(2, WHOLE), ...first),
        ...frame(frameTag(2, FIRST_CHUNK), second.length, ...second.slice(0, 10)),
        ...frame(frameTag(2, LAST_CHUNK), ...second.slice(10))
      ]))
      await eventually('both messages in the inbox', () => a.module.inbox.length >= 2)
      expect(a.module.inbox.take(2).map(m => [m.from, m.lane, [...m.payload]])).toEqual([
        ['m', 'bulk', first],
        ['m', 'bulk', second]
      ])
    })
  })
})
