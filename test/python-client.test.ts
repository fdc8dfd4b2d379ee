/**
 * The Python example client (examples/python/client.py, on the stubs of
 * gen/python) against two real daemons started through the CLI.
 *
 * Needs /usr/bin/python3 with grpcio and protobuf (Debian: python3-grpcio
 * python3-protobuf; .ci/run installs them). Without them every test here
 * fails, saying what is missing and how to install it.
 */
import { afterEach, beforeAll, describe, expect, it } from '@jest/globals'
import { execFile, execFileSync, spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { ChildProcess } from 'node:child_process'
import { makeTestPki } from './helpers/certs.ts'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const PYTHON = '/usr/bin/python3'
const CLIENT = join(ROOT, 'examples', 'python', 'client.py')
const CLI = join(ROOT, 'bin', 'mirnet.ts')

/** Why the Python client cannot be run here, or undefined when it can. */
function pythonUnavailable (): string | undefined {
  try {
    execFileSync(PYTHON, ['-c', 'import grpc, google.protobuf'], { stdio: 'pipe', timeout: 30_000 })
    return undefined
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: Buffer }
    if (e.code === 'ENOENT') return `${PYTHON} not found`
    const last = e.stderr?.toString().trim().split('\n').pop() ?? e.message
    return `${PYTHON} cannot import grpc and google.protobuf (apt-get install python3-grpcio python3-protobuf): ${last}`
  }
}

interface Ready { event: 'ready', nodeId: string, peerId: string, listen: string[], api: string }

interface RunningDaemon {
  child: ChildProcess
  ready: Ready
  stderr: () => string
  exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
}

interface PythonRun { code: number | null, stdout: string, stderr: string }

/** The daemon's environment: this one without jest's NODE_OPTIONS. */
function daemonEnv (): NodeJS.ProcessEnv {
  const env = { ...process.env }
  delete env.NODE_OPTIONS
  for (const k of Object.keys(env)) if (k.startsWith('MIRNET_')) delete env[k]
  return env
}

describe('Python example client', () => {
  beforeAll(() => {
    const reason = pythonUnavailable()
    if (reason !== undefined) throw new Error(`the Python example client cannot be run: ${reason}`)
  })

  const children: Array<{ child: ChildProcess, exited: Promise<unknown> }> = []
  const dirs: string[] = []

  afterEach(async () => {
    // whatever happened in the test: no daemon left running, no temp dir left
    for (const { child } of children) {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
        try { process.kill(child.pid, 'SIGKILL') } catch {}
      }
    }
    await Promise.all(children.map(async c => await c.exited))
    children.length = 0
    await Promise.all(dirs.map(async d => { await rm(d, { recursive: true, force: true }) }))
    dirs.length = 0
  })

  async function tempDir (): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'mirnet-py-'))
    dirs.push(dir)
    return dir
  }

  /** `mirnet serve` with a fresh key, free ports, resolved at its ready line. */
  async function startDaemon (nodeId: string, stateDir: string, extra: string[] = []): Promise<RunningDaemon> {
    const child = spawn(process.execPath, [
      CLI, 'serve',
      '--node-id', nodeId,
      '--state-dir', stateDir,
      '--listen', '/ip4/127.0.0.1/tcp/0',
      '--api', '127.0.0.1:0',
      '--log-level', 'warn',
      ...extra
    ], { cwd: ROOT, env: daemonEnv(), stdio: ['ignore', 'pipe', 'pipe'] })
    let stderr = ''
    child.stderr?.setEncoding('utf8')
    child.stderr?.on('data', (chunk: string) => { stderr += chunk })
    const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>(resolve => {
      child.once('exit', (code, signal) => { resolve({ code, signal }) })
    })
    children.push({ child, exited })
    const lines = createInterface({ input: child.stdout! })
    const ready = await new Promise<Ready>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error(`daemon ${nodeId}: no ready line within 30 s; stderr: ${stderr}`)) }, 30_000)
      lines.once('line', line => {
        clearTimeout(timer)
        try {
          resolve(JSON.parse(line) as Ready)
        } catch {
          reject(new Error(`daemon ${nodeId}: first stdout line is not JSON: ${line}`))
        }
      })
      void exited.then(({ code, signal }) => {
        clearTimeout(timer)
        reject(new Error(`daemon ${nodeId} exited (code ${code}, signal ${signal}) before ready; stderr: ${stderr}`))
      })
    })
    lines.on('line', () => {}) // keep draining stdout
    return { child, ready, stderr: () => stderr, exited }
  }

  /** Runs the example; never rejects: the exit code is part of the result. */
  async function runClient (args: string[]): Promise<PythonRun> {
    return await new Promise(resolve => {
      execFile(PYTHON, [CLIENT, ...args], {
        cwd: ROOT,
        // no bytecode written next to the stubs in the work tree
        env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
        timeout: 45_000,
        killSignal: 'SIGKILL'
      }, (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null
        resolve({ code, stdout, stderr })
      })
    })
  }

  const show = (r: PythonRun): string => `exit ${r.code}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`

  it('connects two daemons, sends from a to b and receives on b', async () => {
    const dir = await tempDir()
    const a = await startDaemon('a', join(dir, 'a'))
    const b = await startDaemon('b', join(dir, 'b'))
    expect(a.ready).toMatchObject({ event: 'ready', nodeId: 'a' })
    expect(b.ready).toMatchObject({ event: 'ready', nodeId: 'b' })
    expect(a.ready.listen[0]).toMatch(/\/p2p\//)

    const membership = join(dir, 'membership.json')
    await writeFile(membership, JSON.stringify({
      nodes: [
        { id: 'a', address: a.ready.listen[0] },
        { id: 'b', address: b.ready.listen[0] }
      ]
    }))

    // b takes the membership
    const connectB = await runClient(['--api', b.ready.api, '--membership', membership])
    expect({ code: connectB.code, out: show(connectB) }).toMatchObject({ code: 0 })
    expect(connectB.stderr).toContain(`info: node b, peer ${b.ready.peerId}`)
    expect(connectB.stderr).toContain('connect: 2 member(s); added [\'a\']')

    // a takes it, waits for both connections and sends to b
    const send = await runClient([
      '--api', a.ready.api, '--membership', membership, '--await-connected', '2',
      '--send', 'hello from a', '--send', 'and again', '--to', 'b', '--timeout', '20'
    ])
    expect({ code: send.code, out: show(send) }).toMatchObject({ code: 0 })
    expect(send.stderr).toContain('await: 2 member(s) connected')
    expect(send.stderr).toContain('send: queued 2 ')
    expect(send.stdout).toBe('')

    // b receives both, in order
    const recv = await runClient(['--api', b.ready.api, '--receive', '2', '--timeout', '20'])
    expect({ code: recv.code, out: show(recv) }).toMatchObject({ code: 0 })
    expect(recv.stdout).toBe('a: hello from a\na: and again\n')
    expect(recv.stderr).toMatch(/status: node b, 2 connected, .*received 2, delivered 2/)
    expect(recv.stderr).toMatch(/status: {3}a OPEN .*received=2/)

    // nothing more: Receive times out with exit code 3
    const none = await runClient(['--api', b.ready.api, '--receive', '1', '--timeout', '1', '--quiet'])
    expect({ code: none.code, out: show(none) }).toMatchObject({ code: 3 })
    expect(none.stdout).toBe('')

    // three more, pulled: no more than the two wanted are taken, the third stays for the next client
    const more = await runClient(['--api', a.ready.api, '--send', 'p1', '--send', 'p2', '--send', 'p3', '--to', 'b', '--quiet'])
    expect({ code: more.code, out: show(more) }).toMatchObject({ code: 0 })
    const pulled = await runClient(['--api', b.ready.api, '--receive', '2', '--pull', '--timeout', '20'])
    expect({ code: pulled.code, out: show(pulled) }).toMatchObject({ code: 0 })
    expect(pulled.stdout).toBe('a: p1\na: p2\n')
    expect(pulled.stderr).toContain('pull: 2 message(s)')
    const last = await runClient(['--api', b.ready.api, '--receive', '2', '--pull', '--timeout', '1', '--quiet'])
    expect({ code: last.code, out: show(last) }).toMatchObject({ code: 3 })
    expect(last.stdout).toBe('a: p3\n')

    // an unknown destination: the RPC error is reported, exit code 1
    const unknown = await runClient(['--api', a.ready.api, '--send', 'x', '--to', 'zz', '--quiet'])
    expect({ code: unknown.code, out: show(unknown) }).toMatchObject({ code: 1 })
    expect(unknown.stderr).toContain('error: Send failed: NOT_FOUND')

    // SIGTERM stops both cleanly
    a.child.kill('SIGTERM')
    b.child.kill('SIGTERM')
    const [ea, eb] = await Promise.all([a.exited, b.exited])
    expect({ ...ea, stderr: a.stderr() }).toMatchObject({ code: 0, signal: null })
    expect({ ...eb, stderr: b.stderr() }).toMatchObject({ code: 0, signal: null })
  }, 120_000)

  it('calls a daemon that wants a token and client certificates, with --token-file and --tls-*', async () => {
    const dir = await tempDir()
    const pki = await makeTestPki()
    const file = async (name: string, content: string): Promise<string> => {
      await writeFile(join(dir, name), content, { mode: 0o600 })
      return join(dir, name)
    }
    const files = {
      token: await file('api.token', 'py-token-1\n'),
      ca: await file('ca.pem', pki.ca.cert),
      serverCert: await file('server.pem', pki.server.cert),
      serverKey: await file('server.key', pki.server.key),
      clientCert: await file('client.pem', pki.client.cert),
      clientKey: await file('client.key', pki.client.key)
    }
    const a = await startDaemon('a', join(dir, 'a'), [
      '--api-token-file', files.token,
      '--api-tls-cert', files.serverCert, '--api-tls-key', files.serverKey, '--api-tls-client-ca', files.ca
    ])
    const tls = ['--tls-ca', files.ca, '--tls-cert', files.clientCert, '--tls-key', files.clientKey]

    const ok = await runClient(['--api', a.ready.api, ...tls, '--token-file', files.token, '--send', 'hi', '--to', 'a', '--receive', '1'])
    expect({ code: ok.code, out: show(ok) }).toMatchObject({ code: 0 })
    expect(ok.stdout).toBe('a: hi\n')

    const noToken = await runClient(['--api', a.ready.api, ...tls, '--quiet'])
    expect({ code: noToken.code, out: show(noToken) }).toMatchObject({ code: 1 })
    expect(noToken.stderr).toContain('error: GetInfo failed: UNAUTHENTICATED')

    a.child.kill('SIGTERM')
    expect((await a.exited).code).toBe(0)
  }, 120_000)
})
