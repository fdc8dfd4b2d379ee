import { describe } from '@jest/globals'

/**
 * `describe` for tests that need something of the machine (root and network
 * namespaces, nftables, podman, Go). Where it is missing they cannot run:
 * under CI (`CI=true`, which `.ci/run` installs everything for) that FAILS
 * the file, so a suite that did not run never passes there; elsewhere the
 * tests are left out with the reason printed, so a developer without root
 * can still run the rest.
 */
export function describeWhereAvailable (what: string, unavailable: string | undefined): typeof describe | typeof describe.skip {
  if (unavailable === undefined) return describe
  if (process.env.CI === 'true') throw new Error(`${what}: cannot run under CI: ${unavailable}`)
  process.stdout.write(`${what}: not run on this machine: ${unavailable}\n`)
  return describe.skip
}
