import { mkdtempSync, readdirSync, readFileSync, rmSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execFileSync } from 'node:child_process'
import { setTimeout as sleep } from 'node:timers/promises'

/**
 * What a test run must not leave behind (processes, temporary files, network
 * namespaces), checked once around the whole jest run:
 *
 * - every process the run starts inherits `MIRNET_TEST_RUN=<id>` from the
 *   environment, so a leftover process is found by its environment, whoever
 *   started it and whatever namespace it runs in;
 * - `TMPDIR` points into a folder of the run's own, which must be empty at the
 *   end but for Node's compile cache, which all the run's Node processes
 *   share through `NODE_COMPILE_CACHE` (a module is compiled once, not once
 *   per process);
 * - the namespace lab (test/helpers/netns.ts) notes each namespace it creates
 *   in `MIRNET_TEST_NETNS_DIR` and removes the note when it deletes it.
 *
 * Leftovers are listed, removed (so that the next run starts clean) and fail
 * the run.
 */

export const RUN_ENV = 'MIRNET_TEST_RUN'
export const NETNS_DIR_ENV = 'MIRNET_TEST_NETNS_DIR'
const RUN_DIR_ENV = 'MIRNET_TEST_RUN_DIR'

/** Node's cache of compiled modules, under the run's TMPDIR, where module.enableCompileCache() puts it too. */
const COMPILE_CACHE = 'node-compile-cache'

/** Processes may take this long to exit after the test that stopped them. */
const EXIT_GRACE_MS = 5_000

export class LeftBehindError extends Error {
  override name = 'LeftBehindError'
}

export function startRun (): void {
  const runDir = mkdtempSync(join(tmpdir(), 'mirnet-run-'))
  mkdirSync(join(runDir, 'tmp'))
  mkdirSync(join(runDir, 'netns'))
  process.env[RUN_DIR_ENV] = runDir
  process.env[RUN_ENV] = runDir.slice(runDir.lastIndexOf('-') + 1)
  process.env[NETNS_DIR_ENV] = join(runDir, 'netns')
  process.env.TMPDIR = join(runDir, 'tmp')
  process.env.NODE_COMPILE_CACHE = join(runDir, 'tmp', COMPILE_CACHE)
}

/** Pids of the processes that carry this run's marker, but not jest's own. */
function markedProcesses (marker: string): Array<{ pid: number, cmd: string }> {
  const found: Array<{ pid: number, cmd: string }> = []
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry)
    if (!Number.isInteger(pid) || pid === process.pid) continue
    try {
      if (!readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(marker)) continue
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').join(' ').trim()
      if (cmd === '' || cmd.includes('jest-worker')) continue // a zombie, or a worker jest is ending
      found.push({ pid, cmd })
    } catch { /* gone, or not ours to read */ }
  }
  return found
}

export async function endRun (): Promise<void> {
  const runDir = process.env[RUN_DIR_ENV]
  const id = process.env[RUN_ENV]
  if (runDir === undefined || id === undefined) return
  const marker = `${RUN_ENV}=${id}`
  const problems: string[] = []

  let procs = markedProcesses(marker)
  for (const deadline = Date.now() + EXIT_GRACE_MS; procs.length > 0 && Date.now() < deadline; procs = markedProcesses(marker)) await sleep(100)
  for (const p of procs) {
    problems.push(`process ${p.pid} still running: ${p.cmd.slice(0, 300)}`)
    try { process.kill(p.pid, 'SIGKILL') } catch { /* exited meanwhile */ }
  }

  for (const ns of readdirSync(join(runDir, 'netns'))) {
    problems.push(`network namespace ${ns} not deleted`)
    try { execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' }) } catch { /* already gone */ }
  }

  const left = readdirSync(join(runDir, 'tmp')).filter(f => f !== COMPILE_CACHE)
  if (left.length > 0) problems.push(`temporary files left in ${join(runDir, 'tmp')}: ${left.slice(0, 20).join(', ')}${left.length > 20 ? ', …' : ''}`)
  rmSync(runDir, { recursive: true, force: true })

  if (problems.length > 0) throw new LeftBehindError(`the test run left behind:\n  ${problems.join('\n  ')}`)
}
