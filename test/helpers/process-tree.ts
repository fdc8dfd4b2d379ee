import { readdirSync, readFileSync } from 'node:fs'

/**
 * A process seen in /proc (Linux), named by its pid and its start time, so
 * that a pid the kernel has given to another process since is not mistaken
 * for it.
 */
export interface SeenProcess {
  pid: number
  /** Start time in clock ticks after boot (field 22 of /proc/PID/stat). */
  startTicks: string
  /** Its command line, for messages. */
  command: string
}

/** Fields of /proc/PID/stat after the command name, or undefined when the process is gone. */
function statFields (pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // the command name is in parentheses and may itself contain spaces and ')'
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  } catch {
    return undefined
  }
}

/** The process `pid` as it is now, or undefined when there is none. */
export function seen (pid: number): SeenProcess | undefined {
  const fields = statFields(pid)
  if (fields === undefined) return undefined
  let command = ''
  try {
    command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim()
  } catch {}
  // fields[0] is field 3 (state), so field 22 (starttime) is fields[19]
  return { pid, startTicks: fields[19], command }
}

/** Whether `p` still runs: same pid, same start time, not a zombie. */
export function isRunning (p: SeenProcess): boolean {
  const fields = statFields(p.pid)
  return fields !== undefined && fields[19] === p.startTicks && fields[0] !== 'Z'
}

/** Direct children of `pid` (from /proc/PID/task/TID/children). */
function children (pid: number): number[] {
  let tasks: string[]
  try {
    tasks = readdirSync(`/proc/${pid}/task`)
  } catch {
    return []
  }
  return tasks.flatMap(tid => {
    try {
      return readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number)
    } catch {
      return []
    }
  })
}

/** `pid` and all its descendants, as they are now. */
export function processTree (pid: number): SeenProcess[] {
  const out: SeenProcess[] = []
  const queue = [pid]
  while (queue.length > 0) {
    const next = queue.shift() as number
    const p = seen(next)
    if (p === undefined) continue
    out.push(p)
    queue.push(...children(next))
  }
  return out
}
