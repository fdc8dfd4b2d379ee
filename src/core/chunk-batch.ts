import type { Inbox } from './inbox.ts'

/**
 * The whole messages decoded from one transport chunk, handed to the inbox
 * in the order they were decoded when the chunk is done: views into the
 * chunk as they are when they make up most of it, else copied together
 * into one buffer, so a few small messages do not pin a chunk of other
 * lanes' data (the inbox's byte caps then bound the memory held). A
 * reassembled message (its own buffer) waits in line with them, so that a
 * lane's messages reach the inbox in order.
 */
export class ChunkBatch {
  readonly #lanes: number[] = []
  readonly #payloads: Uint8Array[] = []
  /** Per message: its own buffer (reassembled), never copied. */
  readonly #owned: boolean[] = []
  #count = 0
  /** Bytes of the views. */
  #bytes = 0

  get empty (): boolean { return this.#count === 0 }

  /** A message of `lane`: a view into the chunk in hand, or, `owned`, a buffer of its own. */
  add (lane: number, payload: Uint8Array, owned = false): void {
    const i = this.#count++
    this.#lanes[i] = lane
    this.#payloads[i] = payload
    this.#owned[i] = owned
    if (!owned) this.#bytes += payload.byteLength
  }

  /** The chunk (`chunkBytes` long) is decoded: push its messages from `from` to `inbox`, all arrived at `nowMs`. */
  flush (inbox: Inbox, from: string, chunkBytes: number, nowMs: number): void {
    const count = this.#count
    if (count === 0) return
    const lanes = this.#lanes
    const payloads = this.#payloads
    if (this.#bytes * 2 + 1024 < chunkBytes) {
      const copy = Buffer.allocUnsafeSlow(this.#bytes)
      let offset = 0
      const owned = this.#owned
      for (let i = 0; i < count; i++) {
        const p = payloads[i]
        if (owned[i]) {
          inbox.push(from, lanes[i], p, nowMs)
          continue
        }
        copy.set(p, offset)
        inbox.push(from, lanes[i], copy.subarray(offset, offset + p.byteLength), nowMs)
        offset += p.byteLength
      }
    } else {
      for (let i = 0; i < count; i++) inbox.push(from, lanes[i], payloads[i], nowMs)
    }
    payloads.fill(undefined as unknown as Uint8Array, 0, count)
    this.#count = 0
    this.#bytes = 0
  }
}
