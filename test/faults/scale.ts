import { appendFileSync } from 'node:fs'

/**
 * The fault suite runs short under `npm test` and at the full counts
 * under `npm run faults -- --full` (which sets MIRNET_FAULTS_FULL=1).
 */
export const FULL = process.env.MIRNET_FAULTS_FULL === '1'

/**
 * Every case on every transport, at the short counts unless FULL (`npm run
 * faults -- --all-transports`, which sets MIRNET_FAULTS_ALL_TRANSPORTS=1; see
 * transports.ts).
 */
export const ALL_TRANSPORTS = process.env.MIRNET_FAULTS_ALL_TRANSPORTS === '1'

/** `quick` under `npm test`, `full` under `npm run faults -- --full`. */
export function scale<T> (quick: T, full: T): T {
  return FULL ? full : quick
}

/**
 * Print a scenario's figures as one `FIGURES {json}` line, and append them to
 * MIRNET_FAULTS_REPORT (JSON lines) when set, for RELIABILITY.md.
 */
export function report (scenario: string, figures: Record<string, unknown>): void {
  const line = JSON.stringify({ scenario, full: FULL, ...figures })
  process.stdout.write(`FIGURES ${line}\n`)
  const file = process.env.MIRNET_FAULTS_REPORT
  if (file !== undefined && file !== '') appendFileSync(file, line + '\n')
}

/** With MIRNET_FAULTS_TRACE=1, print a timestamped progress line to stderr (to find where a run hangs). */
export function trace (what: string): void {
  if (process.env.MIRNET_FAULTS_TRACE === '1') process.stderr.write(`${new Date().toISOString()} ${what}\n`)
}
