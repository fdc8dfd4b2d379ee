import { execFile, execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { mkdir, rm, writeFile } from 'node:fs/promises'

/**
 * Network namespaces for multi-host tests: each host is a namespace with one
 * veth (`eth0`, 10.X.Y.N/24) whose other end sits on a bridge inside a
 * separate "switch" namespace, so the host's own network is never touched.
 * Faults are applied from the switch (cut/heal a host's port) or inside a
 * host (nft rules). Everything is removed by `destroy()`, and by an exit hook
 * if the process ends first.
 */

/** Why namespaces cannot be used here, or undefined when they can. */
export function netnsUnavailableReason (): string | undefined {
  if (process.getuid?.() !== 0) return 'network namespaces need root'
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' })
  } catch {
    return 'the `ip` command (iproute2) is not installed'
  }
  const probe = `mnprobe${randomBytes(3).toString('hex')}`
  try {
    execFileSync('ip', ['netns', 'add', probe], { stdio: 'pipe' })
    execFileSync('ip', ['netns', 'del', probe], { stdio: 'pipe' })
  } catch (err) {
    return `\`ip netns add\` failed: ${(err as Error).message}`
  }
  return undefined
}

/** Why nft rules cannot be used here, or undefined when they can. */
export function nftUnavailableReason (): string | undefined {
  try {
    execFileSync('nft', ['--version'], { stdio: 'ignore' })
    return undefined
  } catch {
    return 'the `nft` command (nftables) is not installed'
  }
}

async function sh (file: string, args: string[]): Promise<string> {
  return await new Promise((resolve, reject) => {
    execFile(file, args, { timeout: 30_000 }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`${file} ${args.join(' ')}: ${stderr.trim() || err.message}`))
      else resolve(stdout)
    })
  })
}

export interface NetHost {
  /** The namespace's name, for `ip netns exec NAME …`. */
  readonly ns: string
  /** Its address on the lab network. */
  readonly ip: string
  /** The switch-side interface (cut/heal acts on it). */
  readonly port: string
}

const labs = new Set<NetLab>()
let exitHookInstalled = false

function installExitHook (): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.once('exit', () => {
    for (const lab of labs) lab.destroySync()
  })
}

export class NetLab {
  readonly id: string
  readonly subnet: string
  readonly switchNs: string
  readonly hosts: NetHost[] = []
  #destroyed = false

  private constructor (id: string, subnet: string) {
    this.id = id
    this.subnet = subnet
    this.switchNs = `mn${id}sw`
  }

  /** A switch namespace with a bridge; add hosts with `addHost()`. */
  static async create (): Promise<NetLab> {
    const id = randomBytes(3).toString('hex')
    const r = randomBytes(2)
    const lab = new NetLab(id, `10.${100 + (r[0] % 100)}.${r[1]}`)
    labs.add(lab)
    installExitHook()
    await addNamespace(lab.switchNs)
    await sh('ip', ['-n', lab.switchNs, 'link', 'add', 'br0', 'type', 'bridge'])
    await sh('ip', ['-n', lab.switchNs, 'link', 'set', 'br0', 'up'])
    return lab
  }

  /** A new host namespace plugged into the switch. */
  async addHost (): Promise<NetHost> {
    const n = this.hosts.length + 1
    if (n > 250) throw new Error('a lab holds at most 250 hosts')
    const ns = `mn${this.id}h${n}`
    const port = `p${n}`
    const ip = `${this.subnet}.${n}`
    await addNamespace(ns)
    await sh('ip', ['-n', this.switchNs, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns])
    await sh('ip', ['-n', this.switchNs, 'link', 'set', port, 'master', 'br0', 'up'])
    await sh('ip', ['-n', ns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0'])
    await sh('ip', ['-n', ns, 'link', 'set', 'eth0', 'up'])
    await sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up'])
    const host = { ns, ip, port }
    this.hosts.push(host)
    return host
  }

  /** Unplug a host: its packets no longer reach the switch, and nothing tells either end. */
  async cut (host: NetHost): Promise<void> {
    await sh('ip', ['-n', this.switchNs, 'link', 'set', host.port, 'down'])
  }

  async heal (host: NetHost): Promise<void> {
    await sh('ip', ['-n', this.switchNs, 'link', 'set', host.port, 'up'])
  }

  /** Load an nft ruleset (text for `nft -f -`) inside a host's namespace. */
  async nft (host: NetHost, ruleset: string): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const child = execFile('ip', ['netns', 'exec', host.ns, 'nft', '-f', '-'], { timeout: 30_000 }, (err, _out, stderr) => {
        if (err !== null) reject(new Error(`nft in ${host.ns}: ${stderr.trim() || err.message}`))
        else resolve()
      })
      child.stdin?.end(ruleset)
    })
  }

  /** Remove every nft table inside a host's namespace. */
  async nftFlush (host: NetHost): Promise<void> {
    await sh('ip', ['netns', 'exec', host.ns, 'nft', 'flush', 'ruleset'])
  }

  /**
   * Names that programs run through `exec(host)` resolve to addresses, as
   * /etc/hosts does: `ip netns exec` mounts /etc/netns/NS/hosts over
   * /etc/hosts. Removed by `destroy()`.
   */
  async setHosts (host: NetHost, names: Record<string, string>): Promise<void> {
    const dir = `/etc/netns/${host.ns}`
    await mkdir(dir, { recursive: true })
    const lines = ['127.0.0.1 localhost', '::1 localhost', ...Object.entries(names).map(([name, ip]) => `${ip} ${name}`)]
    await writeFile(`${dir}/hosts`, lines.join('\n') + '\n')
  }

  /** The command prefix that runs a program inside a host: `[...lab.exec(h), 'node', …]`. */
  exec (host: NetHost): string[] {
    return ['ip', 'netns', 'exec', host.ns]
  }

  /** Delete the namespaces (their veths go with them). Idempotent. */
  async destroy (): Promise<void> {
    if (this.#destroyed) return
    this.#destroyed = true
    labs.delete(this)
    for (const h of this.hosts) {
      await deleteNamespace(h.ns)
      await rm(`/etc/netns/${h.ns}`, { recursive: true, force: true })
    }
    await deleteNamespace(this.switchNs)
  }

  /** For the exit hook, where nothing asynchronous runs. */
  destroySync (): void {
    if (this.#destroyed) return
    this.#destroyed = true
    for (const ns of [...this.hosts.map(h => h.ns), this.switchNs]) {
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' })
      } catch {
        // already gone
      }
      unnote(ns)
      rmSync(`/etc/netns/${ns}`, { recursive: true, force: true })
    }
  }
}

/**
 * Where the test run's leak guard (test/setup/leak-guard.ts) looks for
 * namespaces that were created and never deleted: one empty file per
 * namespace alive.
 */
function note (ns: string): void {
  const dir = process.env.MIRNET_TEST_NETNS_DIR
  if (dir !== undefined) writeFileSync(join(dir, ns), '')
}

function unnote (ns: string): void {
  const dir = process.env.MIRNET_TEST_NETNS_DIR
  if (dir !== undefined) rmSync(join(dir, ns), { force: true })
}

async function addNamespace (ns: string): Promise<void> {
  note(ns)
  await sh('ip', ['netns', 'add', ns])
}

async function deleteNamespace (ns: string): Promise<void> {
  try {
    await sh('ip', ['netns', 'del', ns])
    unnote(ns)
  } catch (err) {
    process.stderr.write(`netns cleanup: ${(err as Error).message}\n`)
  }
}
