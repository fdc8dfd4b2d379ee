// The README's ways of starting a daemon (npm start, npm run mirnet, npx
// mirnet) stop it when what was started is stopped: the process tree exits,
// the daemon's own pid with it, and the API port is free for the next start.
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { delimiter, join, sep } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from '@jest/globals'
import { freePort } from './helpers/processes.ts'
import { isRunning, processTree } from './helpers/process-tree.ts'
import { eventually } from './helpers/wait.ts'
import type { ChildProcess } from 'node:child_process'
import type { SeenProcess } from './helpers/process-tree.ts'
import type { Ready } from './helpers/processes.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

/**
 * The environment of a user in a shell in the project folder: this one
 * without what `npm test` and jest add (npm_* settings, node_modules/.bin on
 * PATH, NODE_OPTIONS) or MIRNET_* settings, so `npm` is the system's npm.
 */
function userEnv (): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [name, value] of Object.entries(process.env)) {
    if (/^(npm_|MIRNET_|NODE_OPTIONS$|INIT_CWD$|JEST_WORKER_ID$)/i.test(name)) continue
    env[name] = value
  }
  env.PATH = (process.env.PATH ?? '').split(delimiter).filter(dir => !dir.includes(`${sep}node_modules${sep}`)).join(delimiter)
  return env
}

/** The README's commands, with a state folder and an API port on 127.0.0.1 for the daemons they start. */
const WAYS: Record<string, (dir: string, port: number) => string[]> = {
  'npm start': (dir, port) => ['npm', 'start', '--', ...serveFlags(dir, port)],
  'npm run mirnet': (dir, port) => ['npm', 'run', 'mirnet', '--', 'serve', ...serveFlags(dir, port)],
  'npx mirnet serve': (dir, port) => ['npx', 'mirnet', 'serve', ...serveFlags(dir, port)],
  'npx mirnet cluster': (dir, port) => ['npx', 'mirnet', 'cluster', '--nodes', '2', '--base-port', String(port), '--work-dir', dir, '--log-level', 'info']
}

function serveFlags (dir: string, port: number): string[] {
  return ['--state-dir', dir, '--api', `127.0.0.1:${port}`, '--log-level', 'info']
}

/** Whether a new listener can bind `port` on 127.0.0.1. */
async function canListen (port: number): Promise<boolean> {
  const server = createServer()
  return await new Promise(resolve => {
    server.once('error', () => { resolve(false) })
    server.listen(port, '127.0.0.1', () => { server.close(() => { resolve(true) }) })
  })
}

type DaemonReady = Ready & { pid: number }

/** The daemons of a ready line (a daemon's own, or the cluster's) among the other lines npm prints on stdout. */
async function readyDaemons (child: ChildProcess, stderr: () => string, timeoutMs = 60_000): Promise<DaemonReady[]> {
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })
  return await new Promise((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`no ready line within ${timeoutMs} ms; stderr: ${stderr()}`)) }, timeoutMs)
    const onExit = (code: number | null, signal: string | null): void => {
      clearTimeout(timer)
      reject(new Error(`exited (${code ?? signal}) before the daemon was ready; stderr: ${stderr()}`))
    }
    child.once('exit', onExit)
    lines.on('line', line => {
      if (!line.startsWith('{"event":"ready"')) return
      clearTimeout(timer)
      child.off('exit', onExit)
      lines.close()
      child.stdout?.resume()
      const ready = JSON.parse(line) as DaemonReady | { nodes: DaemonReady[] }
      resolve('nodes' in ready ? ready.nodes : [ready])
    })
  })
}

/**
 * How each way is stopped: a signal to the process that was started (what a
 * process manager, a script or `kill %1` does) or to its process group (what
 * Ctrl-C in a terminal does). `npx` runs the daemon under `sh -c`, which waits
 * for it when npm forwards a SIGINT and passes nothing on: a SIGINT to npx's
 * process alone never reaches the daemon, so it is not among the cases.
 */
const CASES: Array<[way: string, signal: NodeJS.Signals, to: 'process' | 'group']> = [
  ['npm start', 'SIGTERM', 'process'],
  ['npm start', 'SIGINT', 'process'],
  ['npm start', 'SIGINT', 'group'],
  ['npm run mirnet', 'SIGTERM', 'process'],
  ['npm run mirnet', 'SIGINT', 'process'],
  ['npm run mirnet', 'SIGINT', 'group'],
  ['npx mirnet serve', 'SIGTERM', 'process'],
  ['npx mirnet serve', 'SIGINT', 'group'],
  ['npx mirnet cluster', 'SIGTERM', 'process'],
  ['npx mirnet cluster', 'SIGINT', 'group']
]

describe('stopping what the README starts stops the daemon', () => {
  let started: ChildProcess | undefined
  let tree: SeenProcess[] = []
  let dir: string | undefined

  afterEach(async () => {
    // whatever the test saw, leave nothing running: only the processes it started, by pid
    if (started !== undefined && started.exitCode === null && started.signalCode === null) started.kill('SIGKILL')
    for (const p of tree) if (isRunning(p)) process.kill(p.pid, 'SIGKILL')
    await eventually('the processes of the test to be gone after SIGKILL', () => tree.every(p => !isRunning(p)))
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
    started = undefined
    tree = []
    dir = undefined
  })

  for (const [way, signal, to] of CASES) {
    it(`${way}: ${signal} to its ${to} ends its daemons and frees their API ports`, async () => {
      dir = await mkdtemp(join(tmpdir(), 'mirnet-stop-'))
      const port = await freePort()
      const [file, ...args] = WAYS[way](dir, port)
      // detached: a process group of its own, as a terminal gives a command it runs
      started = spawn(file, args, { cwd: ROOT, env: userEnv(), stdio: ['ignore', 'pipe', 'pipe'], detached: to === 'group' })
      const child = started
      let stderr = ''
      child.stderr?.on('data', (d: Buffer) => { stderr += d.toString() })
      // once every process holding its stdout and stderr has exited and all they wrote is read
      const closed = new Promise<void>(resolve => { child.once('close', () => { resolve() }) })

      const daemons = await readyDaemons(child, () => stderr)
      expect(daemons[0].api).toBe(`127.0.0.1:${port}`)
      tree = processTree(child.pid as number)
      const ports = daemons.map(d => Number(d.api.split(':')[1]))
      // the daemons that answered are among the processes this command started
      expect(tree.map(p => p.pid)).toEqual(expect.arrayContaining(daemons.map(d => d.pid)))
      for (const p of ports) expect(await canListen(p)).toBe(false)

      process.kill(to === 'group' ? -(child.pid as number) : child.pid as number, signal)
      await eventually(`every process of \`${way}\` to exit after ${signal}`, () => {
        const left = tree.filter(isRunning)
        return left.length === 0 || undefined
      }, 15_000).catch((err: Error) => {
        const left = tree.filter(isRunning).map(p => `${p.pid} ${p.command}`)
        throw new Error(`${err.message}; still running: ${left.join('; ')}`)
      })
      for (const d of daemons) expect(tree.find(p => p.pid === d.pid && isRunning(p))).toBeUndefined()
      await closed
      // each stopped gracefully (the signal reached its handler) rather than being killed
      expect(stderr.split('\n').filter(line => line.includes('"msg":"stopped"'))).toHaveLength(daemons.length)
      // and the next start can have the ports
      for (const p of ports) expect(await canListen(p)).toBe(true)
    })
  }
})
