/**
 * CPU time of processes, from /proc: what a measured window cost each
 * process of a path, per delivered message, and the rate those costs allow
 * when the path has nothing but the machine's cores to run on.
 */
import { execFileSync } from 'node:child_process'
import { readFile, readdir } from 'node:fs/promises'
import { availableParallelism } from 'node:os'
import { median } from './stats.ts'

/** Used when `getconf` is missing; it is 100 on every Linux build in practice. */
const DEFAULT_CLOCK_TICKS = 100

let ticks: number | undefined

/** Clock ticks per second of the times in /proc/<pid>/stat (`getconf CLK_TCK`), read once. */
export function clockTicksPerSecond (): number {
  if (ticks === undefined) {
    let n = Number.NaN
    try {
      n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim())
    } catch (err) {
      process.stderr.write(`bench: getconf CLK_TCK failed (${(err as Error).message}); assuming ${DEFAULT_CLOCK_TICKS}\n`)
    }
    ticks = Number.isFinite(n) && n > 0 ? n : DEFAULT_CLOCK_TICKS
  }
  return ticks
}

/** CPU time (user + system) of a process in seconds, in clock ticks (10 ms), from /proc/<pid>/stat; it includes threads that have exited. */
export async function cpuSecondsInTicks (pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // utime and stime are fields 14 and 15 (1-based) of the whole line
  return (Number(fields[11]) + Number(fields[12])) / clockTicksPerSecond()
}

/** Time a thread has run on a CPU, in ns: the first field of /proc/<pid>/task/<tid>/schedstat (0 for a thread that has just exited). */
async function threadRunNs (pid: number, tid: string): Promise<number> {
  try {
    return Number((await readFile(`/proc/${pid}/task/${tid}/schedstat`, 'utf8')).split(' ', 1)[0])
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ESRCH') return 0
    throw err
  }
}

let schedstat: boolean | undefined

/** Whether this kernel has per-thread schedstat files (CONFIG_SCHED_INFO), checked once on this process. */
async function hasSchedstat (): Promise<boolean> {
  if (schedstat === undefined) {
    const tids = await readdir('/proc/self/task').catch(() => [])
    schedstat = tids.length > 0 && Number.isFinite(await threadRunNs(process.pid, tids[0]).catch(() => Number.NaN))
  }
  return schedstat
}

/**
 * CPU time (user + system) of a process in seconds: the sum of its threads'
 * run time in ns (schedstat), which resolves the CPU of a short round; the
 * clock ticks of /proc/<pid>/stat (10 ms) can show a process that ran 9 ms
 * as having run none. Where the kernel has no schedstat, the ticks. A long
 * running process's threads (a Node process's main, V8 and libuv threads)
 * live as long as it does: one that exits between two readings takes its
 * time out of the second.
 */
export async function cpuSeconds (pid: number): Promise<number> {
  if (!await hasSchedstat()) return await cpuSecondsInTicks(pid)
  const tids = await readdir(`/proc/${pid}/task`)
  let ns = 0
  for (const runNs of await Promise.all(tids.map(async tid => await threadRunNs(pid, tid)))) ns += runNs
  return ns / 1e9
}

/** CPU seconds used so far by each named process. */
export async function cpuSnapshot<K extends string> (pids: Record<K, number>): Promise<Record<K, number>> {
  const names = Object.keys(pids) as K[]
  const seconds = await Promise.all(names.map(async name => await cpuSeconds(pids[name])))
  return Object.fromEntries(names.map((name, i) => [name, seconds[i]])) as Record<K, number>
}

/** µs of CPU each process spent per message between two snapshots in which `messages` were delivered. */
export function cpuUsPerMessage<K extends string> (before: Record<K, number>, after: Record<K, number>, messages: number): Record<K, number> {
  const names = Object.keys(before) as K[]
  return Object.fromEntries(names.map(name => [name, (after[name] - before[name]) * 1e6 / messages])) as Record<K, number>
}

/** Each process's median over rounds. */
export function medianCpu<K extends string> (rounds: ReadonlyArray<Record<K, number>>): Record<K, number> {
  if (rounds.length === 0) return {} as Record<K, number>
  const names = Object.keys(rounds[0]) as K[]
  return Object.fromEntries(names.map(name => [name, median(rounds.map(r => r[name]))])) as Record<K, number>
}

/** Sum of the processes' µs per message. */
export function cpuTotal (perProcess: Record<string, number>): number {
  return Object.values(perProcess).reduce((sum, us) => sum + us, 0)
}

/**
 * The rate `totalUs` of CPU per message allows when every core does nothing
 * else: cores × 1e6 / totalUs msg/s. It ignores waiting (a path with idle
 * processes can be slower), so it is an upper bound of a CPU-bound path.
 */
export function cpuCeilingMsgsPerSec (totalUs: number, cores = availableParallelism()): number {
  return cores * 1e6 / totalUs
}
