import { describe, expect, it } from '@jest/globals'
import { DropOldestQueue } from '../src/core/drop-oldest-queue.ts'

const bytes = (n: number, fill = 0): Uint8Array => new Uint8Array(n).fill(fill)

describe('DropOldestQueue', () => {
  it('keeps FIFO order below capacity', () => {
    const q = new DropOldestQueue<Uint8Array>(4)
    for (let i = 0; i < 3; i++) expect(q.push(bytes(1, i))).toBe(0)
    expect([q.shift()?.[0], q.shift()?.[0], q.shift()?.[0], q.shift()]).toEqual([0, 1, 2, undefined])
  })

  describe('when full in messages', () => {
    it('drops the oldest, counts it, and keeps the most recent', () => {
      const q = new DropOldestQueue<Uint8Array>(3)
      const dropped = Array.from({ length: 10 }, (_, i) => q.push(bytes(2, i)))
      expect(dropped).toEqual([0, 0, 0, 1, 1, 1, 1, 1, 1, 1])
      expect(q.length).toBe(3)
      expect(q.dropped).toBe(7)
      expect(q.droppedBytes).toBe(14)
      expect([q.shift()?.[0], q.shift()?.[0], q.shift()?.[0]]).toEqual([7, 8, 9])
    })
  })

  describe('when full in bytes', () => {
    it('drops as many oldest as it takes to fit the new one', () => {
      const q = new DropOldestQueue<Uint8Array>(100, 10)
      q.push(bytes(4, 1)); q.push(bytes(4, 2))
      expect(q.push(bytes(6, 3))).toBe(1)
      expect(q.byteLength).toBe(10)
      expect(q.push(bytes(9, 4))).toBe(2)
      expect(q.length).toBe(1)
      expect(q.peek()?.[0]).toBe(4)
      expect(q.dropped).toBe(3)
    })
  })

  it('matches a plain array model through many wrap-arounds', () => {
    const q = new DropOldestQueue<Uint8Array>(5)
    const model: number[] = []
    for (let i = 0; i < 1000; i++) {
      q.push(bytes(1, i % 256))
      model.push(i % 256)
      if (model.length > 5) model.shift()
      if (i % 3 === 0) expect(q.shift()?.[0]).toBe(model.shift())
      expect(q.length).toBe(model.length)
    }
    const rest: number[] = []
    while (q.length > 0) rest.push((q.shift() as Uint8Array)[0])
    expect(rest).toEqual(model)
  })

  it('rejects a capacity that is not a positive integer', () => {
    expect(() => new DropOldestQueue(0)).toThrow(expect.objectContaining({ name: 'InvalidConfigError' }))
    expect(() => new DropOldestQueue(1.5)).toThrow(expect.objectContaining({ name: 'InvalidConfigError' }))
  })
})
