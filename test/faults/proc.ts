import { readdirSync, readFileSync } from 'node:fs'

/** Resident set size of a process, in bytes (from /proc). */
export function rssBytes (pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(status)
  if (m === null) throw new Error(`no VmRSS for process ${pid}`)
  return Number(m[1]) * 1024
}

export const MiB = 1024 * 1024

/**
 * Processes whose environment holds `NAME=VALUE`: a tag given to a process
 * at spawn is inherited by all its descendants, and stays on them even when
 * they are re-parented after their parent exits.
 */
export function processesTagged (name: string, value: string): number[] {
  const needle = `${name}=${value}`
  const found: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    let environ: string
    try {
      environ = readFileSync(`/proc/${entry}/environ`, 'latin1')
    } catch {
      continue // exited meanwhile, or a kernel thread
    }
    if (environ.split('\0').includes(needle)) found.push(Number(entry))
  }
  return found
}

export function median (values: number[]): number {
  if (values.length === 0) return Number.NaN
  const s = [...values].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}

export const round = (n: number, digits = 1): number => Number(n.toFixed(digits))
