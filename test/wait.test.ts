import { describe, expect, it } from '@jest/globals'
import { eventually } from './helpers/wait.ts'

describe('eventually()', () => {
  it('resolves with the first value of check() that is neither undefined nor false', async () => {
    let calls = 0
    expect(await eventually('the third call', () => ++calls >= 3 && calls)).toBe(3)
  })

  it('resolves with the value read once done() holds, reading async values too', async () => {
    let n = 0
    expect(await eventually('n to reach 2', async () => await Promise.resolve(++n), v => v === 2)).toBe(2)
  })

  it('fails after its deadline naming what it awaited', async () => {
    await expect(eventually('a miracle', () => false, 30)).rejects.toThrow('timed out after 30 ms waiting for a miracle')
  })

  it('fails after its deadline with the last value it read', async () => {
    let n = 0n
    await expect(eventually('the counter to reach -1', () => ({ counter: ++n }), v => v.counter < 0n, 30))
      .rejects.toThrow(/waiting for the counter to reach -1; last seen: \{ counter: \d+n \}$/)
  })

  it('passes on an error of the check at once', async () => {
    const started = Date.now()
    await expect(eventually('nothing', () => { throw new RangeError('broken') }, 10_000)).rejects.toThrow(RangeError)
    expect(Date.now() - started).toBeLessThan(1_000)
  })
})
