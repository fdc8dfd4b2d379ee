/**
 * A mirnet process started by npm stops when the process that started it is
 * gone.
 *
 * `npm start` and `npm run mirnet` `exec` the daemon in place of npm's shell,
 * so the SIGTERM or SIGINT that npm forwards reaches the daemon. `npx mirnet`
 * cannot do that: npm runs `sh -c mirnet …`, forwards a signal to that shell
 * only, and the shell dies without passing it on. The daemon would keep
 * running as an orphan and keep its API port. Nothing tells a Node process
 * that its parent died (Linux's PR_SET_PDEATHSIG is out of Node's reach), so a
 * process started by npm checks its parent pid every
 * {@link PARENT_CHECK_INTERVAL_MS} and, once it has been re-parented, stops as
 * on SIGTERM.
 */

/**
 * How often a process started by npm checks whether its parent is still the
 * one it started with, in ms.
 * @default 250
 */
export const PARENT_CHECK_INTERVAL_MS = 250

/** npm sets `npm_lifecycle_event` for what it starts: `npm start`, `npm run <script>` and `npx` (as `npx`). */
export function startedByNpm (env: NodeJS.ProcessEnv): boolean {
  return env.npm_lifecycle_event !== undefined
}

/**
 * Call `onOrphaned` once, when this process's parent pid is no longer the one
 * it had now. The check does not keep the process alive. Returns a function
 * that cancels it.
 */
export function whenOrphaned (onOrphaned: () => void, intervalMs = PARENT_CHECK_INTERVAL_MS): () => void {
  const parent = process.ppid
  const timer = setInterval(() => {
    if (process.ppid === parent) return
    clearInterval(timer)
    onOrphaned()
  }, intervalMs)
  timer.unref()
  return () => { clearInterval(timer) }
}

/** Under npm, stop (SIGTERM to this process, handled as any SIGTERM) when npm's shell is gone. */
export function stopWithNpm (): void {
  if (!startedByNpm(process.env)) return
  whenOrphaned(() => { process.kill(process.pid, 'SIGTERM') })
}
