import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals'
import { DAEMON_HEAP_GROWING_PERCENT, DAEMON_MALLOC_ARENA_MAX, DAEMON_MAX_SEMI_SPACE_MB, daemonExecPlan } from '../src/cli/daemon-heap-defaults.ts'
import { BIN, Scratch, firstLine } from './helpers/processes.ts'
import type { Ready } from './helpers/processes.ts'
import type { ChildProcess } from 'node:child_process'

const HOOK = fileURLToPath(new URL('./helpers/module-log-hook.ts', import.meta.url))
const SEMI = `--max-semi-space-size=${DAEMON_MAX_SEMI_SPACE_MB}`
const GROWING = `--heap-growing-percent=${DAEMON_HEAP_GROWING_PERCENT}`

describe('daemonExecPlan', () => {
  it('adds every default to a plain start', () => {
    expect(daemonExecPlan([], {})).toEqual({ flags: [SEMI, GROWING], env: { MALLOC_ARENA_MAX: DAEMON_MALLOC_ARENA_MAX } })
  })

  it('leaves the young generation to a flag the user gave, on the command line or in NODE_OPTIONS, with - or _', () => {
    expect(daemonExecPlan(['--max-semi-space-size=16'], {})?.flags).toEqual([GROWING])
    expect(daemonExecPlan(['--max_semi_space_size=16'], {})?.flags).toEqual([GROWING])
    expect(daemonExecPlan([], { NODE_OPTIONS: '--experimental-vm-modules --max-semi-space-size=16' })?.flags).toEqual([GROWING])
    expect(daemonExecPlan(['--min-semi-space-size', '4'], {})?.flags).toEqual([GROWING])
  })

  it('leaves heap growth and the malloc arenas to the user when given', () => {
    expect(daemonExecPlan(['--heap-growing-percent=300'], {})?.flags).toEqual([SEMI])
    expect(daemonExecPlan([], { MALLOC_ARENA_MAX: '8' })?.env).toEqual({})
  })

  it('has nothing to do when everything is given', () => {
    expect(daemonExecPlan(['--max-semi-space-size=16', '--heap_growing_percent=300'], { MALLOC_ARENA_MAX: '8' })).toBeUndefined()
  })
})

describe('mirnet serve', () => {
  let scratch: Scratch
  beforeEach(() => { scratch = new Scratch() })
  afterEach(async () => { await scratch.cleanup() })

  /** Start a daemon; resolves once it is ready, with its command line and environment as the kernel sees them. */
  async function serve (env: Record<string, string> = {}): Promise<{ child: ChildProcess, argv: string[], env: string[] }> {
    const dir = await scratch.dir()
    const child = scratch.spawn(['serve', '--node-id', 'a', '--state-dir', dir, '--api', '127.0.0.1:0', '--log-level', 'warn'], env)
    await firstLine<Ready>(child)
    const argv = (await readFile(`/proc/${child.pid}/cmdline`, 'utf8')).split('\0')
    const environ = (await readFile(`/proc/${child.pid}/environ`, 'utf8')).split('\0')
    return { child, argv, env: environ }
  }

  it('runs with the default heap settings, in the process that was started (same pid)', async () => {
    const { argv, env } = await serve()
    expect(argv).toContain(SEMI)
    expect(argv).toContain(GROWING)
    // the flags go to node, before the script
    expect(argv.indexOf(SEMI)).toBeLessThan(argv.findIndex(a => a.endsWith('mirnet.ts')))
    expect(env).toContain(`MALLOC_ARENA_MAX=${DAEMON_MALLOC_ARENA_MAX}`)
  }, 60_000)

  it('keeps what the user set in NODE_OPTIONS and MALLOC_ARENA_MAX', async () => {
    const nodeOptions = `${process.env.NODE_OPTIONS ?? ''} --max-semi-space-size=8`.trim()
    const { argv, env } = await serve({ NODE_OPTIONS: nodeOptions, MALLOC_ARENA_MAX: '4' })
    expect(argv).not.toContain(SEMI)
    expect(argv).toContain(GROWING)
    expect(env).toContain('MALLOC_ARENA_MAX=4')
    expect(env).toContain(`NODE_OPTIONS=${nodeOptions}`)
  }, 60_000)
})

describe('mirnet CLI module loading', () => {
  let scratch: Scratch
  beforeEach(() => { scratch = new Scratch() })
  afterEach(async () => { await scratch.cleanup() })

  /** Run `mirnet ARGS` with the module log hook; resolves with the modules it loaded (paths inside the repository). */
  async function modulesOf (args: string[], untilReady: boolean): Promise<string[]> {
    const log = join(await scratch.dir(), 'modules.txt')
    const child = scratch.spawnCommand(process.execPath, ['--import', HOOK, BIN, ...args], { MIRNET_TEST_MODULE_LOG: log })
    const exited = new Promise<number | null>(resolve => child.once('exit', code => { resolve(code) }))
    if (untilReady) {
      await firstLine<Ready>(child)
      child.kill('SIGTERM')
    }
    expect(await exited).toBe(0)
    const root = new URL('..', import.meta.url).href
    return (await readFile(log, 'utf8')).split('\n').filter(u => u.startsWith(root)).map(u => u.slice(root.length))
  }

  it('serve loads neither the other commands nor the metrics unless --metrics asks', async () => {
    const dir = await scratch.dir()
    const loaded = await modulesOf(['serve', '--node-id', 'a', '--state-dir', dir, '--api', '127.0.0.1:0', '--log-level', 'warn'], true)
    expect(loaded).toContain('src/daemon/daemon.ts')
    for (const absent of ['src/cli/cluster.ts', 'src/cli/k8s.ts', 'src/service/metrics.ts', 'src/client/client.ts']) expect(loaded).not.toContain(absent)
    expect(loaded.filter(u => u.includes('/prom-client/') || u.includes('/kubernetes-models/'))).toEqual([])
  }, 60_000)

  it('keygen does not load the daemon', async () => {
    const loaded = await modulesOf(['keygen', '--out', join(await scratch.dir(), 'k.key')], false)
    expect(loaded).toContain('src/cli/keys.ts')
    expect(loaded).not.toContain('src/daemon/daemon.ts')
    expect(loaded).not.toContain('src/cli/serve.ts')
  }, 60_000)
})
