import { createRequire } from 'node:module'
import type * as TestSequencerModule from '@jest/test-sequencer'
import type { Test } from '@jest/test-result'

// the CommonJS build, whose `exports.default` is the class its typings describe
const { default: TestSequencer } = createRequire(import.meta.url)('@jest/test-sequencer') as typeof TestSequencerModule.default

/**
 * Seconds each of the long files of npm test took in a clean-clone run on
 * the project's 2-core machine (.ci/run, 2026-12-03): the estimate for a file
 * jest has no time of its own for. Small files that start many processes (the
 * quick benches) are among the longest, so jest's own fallback, larger files
 * first, starts them last and leaves one core idle while they finish; a clean
 * clone (CI) has no times. Only the order depends on these figures.
 */
export const EXPECTED_SECONDS: Readonly<Record<string, number>> = {
  'test/bench/transports.test.ts': 55,
  'test/sim.test.ts': 50,
  'test/bench/api.test.ts': 41,
  'test/bench/lanes.test.ts': 41,
  'test/image.test.ts': 40,
  'test/daemon-cli.test.ts': 36,
  'test/go-client.test.ts': 35,
  'test/stop-means-stop.test.ts': 28,
  'test/libp2p-transport.test.ts': 25,
  'test/memory-transport.test.ts': 22,
  'test/daemon-multi-transport.test.ts': 20,
  'test/grpc-transport.test.ts': 17,
  'test/tls-transport.test.ts': 17,
  'test/bench/raft.test.ts': 16,
  'test/api-security.test.ts': 16,
  'test/daemon-tls.test.ts': 15,
  'test/metrics.test.ts': 15,
  'test/python-client.test.ts': 14
}

/** The file's path from the repository root, `test/…`. */
function relativePath (test: Test): string {
  const root = test.context.config.rootDir
  return test.path.startsWith(`${root}/`) ? test.path.slice(root.length + 1) : test.path
}

/**
 * Longest first, so that no long file starts late: by the time jest recorded
 * for the file in an earlier run on this checkout, else by
 * {@link EXPECTED_SECONDS}, else after those, larger files first (jest's own
 * order). Files that failed last time still run first.
 */
export default class SlowFirstSequencer extends TestSequencer {
  override sort (tests: Test[]): Test[] {
    const failed = new Map<Test, boolean>()
    const key = new Map<Test, number>()
    const size = new Map<Test, number>()
    for (const test of tests) {
      const [status, ms] = this._getCache(test)[test.path] ?? []
      const expected = EXPECTED_SECONDS[relativePath(test)]
      failed.set(test, status === 0)
      key.set(test, ms ?? (expected === undefined ? -1 : expected * 1000))
      size.set(test, test.context.hasteFS.getSize(test.path) ?? 0)
    }
    return [...tests].sort((a, b) =>
      Number(failed.get(b)) - Number(failed.get(a)) ||
      (key.get(b) as number) - (key.get(a) as number) ||
      (size.get(b) as number) - (size.get(a) as number))
  }
}
