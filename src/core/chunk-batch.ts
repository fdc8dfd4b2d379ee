import type { Inbox } from './inbox.ts'

/**
 * The whole messages decoded from one transport chunk, handed to the inbox
 * when the chunk is done: as views into the chunk when they make up most
 * of it, else copied together into one buffer, so a few small messages do
 * not pin a chunk of other lanes' data (the inbox's byte caps then bound
 * the memory held).
 */
export class ChunkBatch {
  readonly #lanes: number[] = []
  readonly #payloads: Uint8Array[] = []
  #count = 0
  #bytes = 0

  get empty (): boolean { return this.#count === 0 }

  /** A message of `lane`, a view into the chunk in hand. */
  add (lane: number, payload: Uint8Array): void {
    const i = this.#count++
    this.#lanes[i] = lane
    this.#payloads[i] = payload
    this.#bytes += payload.byteLength
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
      for (let i = 0; i < count; i++) {
        const p = payloads[i]
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
