import { availableParallelism } from 'node:os'

/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2023', parser: { syntax: 'typescript' } } }] },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  testTimeout: 60_000,
  // files run in parallel, one worker per core and at least three (so three
  // on the 2 cores of CI): most files spend their time waiting on daemons
  // and the network, not on a core
  maxWorkers: Math.max(3, availableParallelism()),
  // the longest files first, also in a clean clone, where jest has no times of its own
  testSequencer: '<rootDir>/test/setup/slow-first-sequencer.ts',
  // no process, temporary file or network namespace may outlive the run (test/setup/leak-guard.ts)
  globalSetup: '<rootDir>/test/setup/global-setup.ts',
  globalTeardown: '<rootDir>/test/setup/global-teardown.ts'
}
