import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from '@jest/globals'
import SlowFirstSequencer, { EXPECTED_SECONDS } from './setup/slow-first-sequencer.ts'
import type { Test } from '@jest/test-result'

const ROOT = '/repo'

/** Tests of one context without a cache (as in a clean clone), each file `sizes[path]` bytes. */
function testsOf (sizes: Record<string, number>): Test[] {
  const context = {
    config: { rootDir: ROOT, cache: false, id: 'x', cacheDirectory: '/nonexistent' },
    hasteFS: { getSize: (path: string) => sizes[path.slice(ROOT.length + 1)] }
  }
  return Object.keys(sizes).map(path => ({ path: join(ROOT, path), context, duration: undefined }) as unknown as Test)
}

const order = (tests: Test[]): string[] => tests.map(t => t.path.slice(ROOT.length + 1))

describe('the test sequencer of npm test', () => {
  it('starts the files known to be long first, longest first, then the rest larger first', () => {
    const sequencer = new SlowFirstSequencer({ contexts: [], globalConfig: {} } as never)
    const tests = testsOf({
      'test/small-unit.test.ts': 900,
      'test/bench/transports.test.ts': 1_000,
      'test/large-unit.test.ts': 20_000,
      'test/api-security.test.ts': 15_000,
      'test/sim.test.ts': 5_000
    })
    expect(order(sequencer.sort(tests))).toEqual([
      'test/bench/transports.test.ts',
      'test/sim.test.ts',
      'test/api-security.test.ts',
      'test/large-unit.test.ts',
      'test/small-unit.test.ts'
    ])
  })

  it('prefers a time jest recorded, and runs last time\'s failures first', () => {
    const tests = testsOf({ 'test/sim.test.ts': 5_000, 'test/bench/api.test.ts': 1_000, 'test/a.test.ts': 10, 'test/b.test.ts': 10 })
    const recorded: Record<string, [0 | 1, number]> = {
      [join(ROOT, 'test/sim.test.ts')]: [1, 2_000], // passed in 2 s
      [join(ROOT, 'test/a.test.ts')]: [1, 60_000], // passed in 60 s
      [join(ROOT, 'test/b.test.ts')]: [0, 100] // failed
    }
    const sequencer = new (class extends SlowFirstSequencer {
      override _getCache (): typeof recorded { return recorded }
    })({ contexts: [], globalConfig: {} } as never)
    expect(order(sequencer.sort(tests))).toEqual(['test/b.test.ts', 'test/a.test.ts', 'test/bench/api.test.ts', 'test/sim.test.ts'])
  })

  it('names only files that exist', () => {
    for (const path of Object.keys(EXPECTED_SECONDS)) expect([path, existsSync(path)]).toEqual([path, true])
  })
})
