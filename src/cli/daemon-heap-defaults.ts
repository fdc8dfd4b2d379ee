/**
 * The heap settings `mirnet serve` runs with unless told otherwise.
 *
 * A daemon decoding 100k messages/s allocates ~60 MB/s, and V8 by default
 * grows its young generation towards that rate (64 MB semi-spaces) and lets
 * the old generation grow to several times what is live before it collects
 * it. Most of that memory holds garbage, and it stays resident. The defaults
 * here keep the daemon's RSS flat under load for some more GC work; see
 * BENCHMARKS.md, "dead-peer memory", for the figures.
 *
 * V8 reads heap flags when the heap is made (`v8.setFlagsFromString()` is too
 * late) and glibc reads MALLOC_ARENA_MAX when the process starts, so the CLI
 * re-executes itself with them (`process.execve`: same pid, same stdio)
 * before it loads anything else.
 */

/**
 * Semi-space size of the daemon's young generation, in MB.
 * @default 2
 */
export const DAEMON_MAX_SEMI_SPACE_MB = 2

/**
 * How far the old generation may grow past what the last full GC left live
 * before the next one, in percent (V8's own factor is 1.1-4x, often 4x here).
 * @default 100
 */
export const DAEMON_HEAP_GROWING_PERCENT = 100

/**
 * glibc malloc arenas: V8's GC threads and libuv's pool otherwise each get
 * one, which fragments the memory that HTTP/2 and buffers return.
 * @default '2'
 */
export const DAEMON_MALLOC_ARENA_MAX = '2'

/** Flags that size the young generation: given any of them, the user decides. */
const YOUNG_GENERATION_FLAGS = ['--max-semi-space-size', '--min-semi-space-size', '--semi-space-growth-factor', '--max-young-generation-size']

/** `--max_semi_space_size=4` → `--max-semi-space-size` (V8 takes `_` and `-` alike). */
function flagName (arg: string): string {
  return arg.startsWith('--') ? '--' + arg.slice(2).split('=', 1)[0].replaceAll('_', '-') : arg
}

/** How to re-execute a daemon so that it runs with the defaults it lacks. */
export interface DaemonExecPlan {
  /** Node/V8 flags to add before the script. */
  flags: string[]
  /** Environment variables to add. */
  env: Record<string, string>
}

/**
 * The defaults a daemon started with `execArgv` (node's own command-line
 * flags) and `env` lacks; `undefined` when it has them all. Whatever the user
 * gave wins: a young-generation flag on the command line or in NODE_OPTIONS,
 * `--heap-growing-percent` on the command line (V8 takes it nowhere else),
 * MALLOC_ARENA_MAX in the environment.
 */
export function daemonExecPlan (execArgv: readonly string[], env: NodeJS.ProcessEnv): DaemonExecPlan | undefined {
  const given = new Set([...execArgv, ...(env.NODE_OPTIONS ?? '').split(/\s+/)].map(flagName))
  const flags: string[] = []
  if (!YOUNG_GENERATION_FLAGS.some(name => given.has(name))) flags.push(`--max-semi-space-size=${DAEMON_MAX_SEMI_SPACE_MB}`)
  if (!given.has('--heap-growing-percent')) flags.push(`--heap-growing-percent=${DAEMON_HEAP_GROWING_PERCENT}`)
  const extraEnv: Record<string, string> = {}
  if (env.MALLOC_ARENA_MAX === undefined) extraEnv.MALLOC_ARENA_MAX = DAEMON_MALLOC_ARENA_MAX
  return flags.length === 0 && Object.keys(extraEnv).length === 0 ? undefined : { flags, env: extraEnv }
}

/**
 * Replace this process by the same command with the daemon's defaults, when
 * it lacks any. Returns (and the daemon runs as it is) where that cannot be
 * done: without `process.execve` (Node < 22.15, Windows), or with an IPC
 * channel to a parent, which would not survive.
 */
export function execWithDaemonDefaults (): void {
  const plan = daemonExecPlan(process.execArgv, process.env)
  if (plan === undefined || typeof process.execve !== 'function' || process.channel !== undefined) return
  process.execve(process.execPath, [process.execPath, ...process.execArgv, ...plan.flags, ...process.argv.slice(1)], { ...process.env, ...plan.env })
}
