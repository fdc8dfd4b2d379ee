import { execFile, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { ChildProcess } from 'node:child_process'

export const BIN = fileURLToPath(new URL('../../bin/mirnet.ts', import.meta.url))
export const BUF = fileURLToPath(new URL('../../node_modules/.bin/buf', import.meta.url))

export interface Ready {
  event: 'ready'
  nodeId: string
  peerId: string
  listen: string[]
  api: string
}

/** Processes and folders a test made, removed whatever happens to the test. */
export class Scratch {
  readonly #children = new Set<ChildProcess>()
  readonly #dirs: string[] = []

  async dir (): Promise<string> {
    const d = await mkdtemp(join(tmpdir(), 'mirnet-test-'))
    this.#dirs.push(d)
    return d
  }

  /** Start `mirnet ARGS`; `prefix` runs it through another command, e.g. `ip netns exec NS`. */
  spawn (args: string[], env: Record<string, string> = {}, prefix: string[] = []): ChildProcess {
    const argv = [...prefix, process.execPath, BIN, ...args]
    return this.spawnCommand(argv[0], argv.slice(1), env)
  }

  /** Start any command (stdout and stderr piped), killed by cleanup() like the others. */
  spawnCommand (file: string, args: string[], env: Record<string, string> = {}): ChildProcess {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } })
    this.#children.add(child)
    child.once('exit', () => this.#children.delete(child))
    return child
  }

  async cleanup (): Promise<void> {
    await Promise.all([...this.#children].map(async child => {
      const exited = new Promise(resolve => child.once('exit', resolve))
      child.kill('SIGKILL')
      await exited
    }))
    await Promise.all(this.#dirs.map(async d => { await rm(d, { recursive: true, force: true }) }))
    this.#dirs.length = 0
  }
}

/** The first stdout line of a child, parsed; rejects with its stderr if it exits first. */
export async function firstLine<T> (child: ChildProcess, timeoutMs = 30_000): Promise<T> {
  let stderr = ''
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString() })
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })
  return await new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`no line within ${timeoutMs} ms; stderr: ${stderr}`)) }, timeoutMs)
    const onExit = (code: number | null): void => {
      clearTimeout(timer)
      reject(new Error(`exited with ${code} before printing a line; stderr: ${stderr}`))
    }
    child.once('exit', onExit)
    lines.once('line', line => {
      clearTimeout(timer)
      child.off('exit', onExit)
      lines.close()
      // closing the reader paused the stream: let later output flow to other listeners
      child.stdout?.resume()
      resolve(JSON.parse(line) as T)
    })
  })
}

/** Signal a child and resolve with its exit code. */
export async function stop (child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode
  const exited = new Promise<number | null>(resolve => child.once('exit', code => { resolve(code) }))
  child.kill(signal)
  return await exited
}

export interface RunResult {
  code: number
  stdout: string
  stderr: string
}

/** Run a command to completion. */
export async function run (file: string, args: string[], options: { env?: Record<string, string>, timeoutMs?: number } = {}): Promise<RunResult> {
  return await new Promise(resolve => {
    execFile(file, args, { env: { ...process.env, ...options.env }, timeout: options.timeoutMs ?? 30_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1
      resolve({ code, stdout, stderr })
    })
  })
}

export async function mirnet (args: string[], env?: Record<string, string>): Promise<RunResult> {
  return await run(process.execPath, [BIN, ...args], { env })
}

/** A TCP port that was free a moment ago. */
export async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise(resolve => server.close(resolve))
  return port
}
