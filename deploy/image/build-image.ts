#!/usr/bin/env node
/**
 * `npm run image`: build the mirnet image FROM scratch with buildah, with no
 * base image to pull. The root filesystem holds only what runs: the Node
 * binary the project installs (its `node` devDependency), the shared
 * libraries `ldd` names for it, the app (bin/, src/, gen/ts, package.json),
 * its production node_modules without TypeScript sources and source maps,
 * and /etc/passwd, /etc/group, /etc/nsswitch.conf for a non-root user.
 *
 * Storage and runtime settings that work without overlay mounts or systemd
 * (vfs, chroot isolation, runc, cgroupfs, file events) are written under
 * --storage; use the same environment (printed at the end) with podman or
 * skopeo to run or push the image.
 *
 *   node deploy/image/build-image.ts [--tag mirnet:0.1.0] [--storage DIR]
 */
import { execFile, spawn } from 'node:child_process'
import { chmod, copyFile, cp, mkdir, mkdtemp, readFile, readdir, realpath, rm, stat, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs, promisify } from 'node:util'
import {
  API_PORT, IMAGE_APP_DIR, IMAGE_EXPOSED_PORTS, IMAGE_GID, IMAGE_MIRNET_COMMAND, IMAGE_NODE_PATH, IMAGE_STATE_DIR, IMAGE_UID, IMAGE_USER, P2P_PORT
} from '../../src/deploy/constants.ts'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const exec = promisify(execFile)

/** The settings this build uses, for podman and skopeo to find the image. */
export interface ImageStorage {
  /** Folder of the container storage and its configuration. */
  dir: string
  /** CONTAINERS_STORAGE_CONF and CONTAINERS_CONF pointing into `dir`. */
  env: Record<string, string>
}

/**
 * Write storage.conf and containers.conf under `dir`: vfs storage (no overlay
 * mounts), runc, cgroupfs, events to a file, and ulimits that fit a shared
 * machine's limits.
 */
export async function prepareStorage (dir: string): Promise<ImageStorage> {
  await mkdir(dir, { recursive: true })
  const storageConf = join(dir, 'storage.conf')
  const containersConf = join(dir, 'containers.conf')
  await writeFile(storageConf, [
    '[storage]',
    'driver = "vfs"',
    `runroot = "${join(dir, 'run')}"`,
    `graphroot = "${join(dir, 'graph')}"`,
    ''
  ].join('\n'))
  await writeFile(containersConf, [
    '[containers]',
    'default_ulimits = ["nofile=16384:16384", "nproc=4096:4096"]',
    '[engine]',
    'runtime = "runc"',
    'cgroup_manager = "cgroupfs"',
    'events_logger = "file"',
    `events_logfile_path = "${join(dir, 'events.log')}"`,
    `tmp_dir = "${join(dir, 'tmp')}"`,
    `volume_path = "${join(dir, 'volumes')}"`,
    ''
  ].join('\n'))
  return { dir, env: { CONTAINERS_STORAGE_CONF: storageConf, CONTAINERS_CONF: containersConf } }
}

/** The real path of the Node binary from the project's `node` devDependency. */
async function projectNode (): Promise<string> {
  const require = createRequire(join(ROOT, 'package.json'))
  const path = await realpath(join(dirname(require.resolve('node/package.json')), 'bin', 'node'))
  const header = (await readFile(path)).subarray(0, 4)
  if (header.toString('latin1') !== '\x7fELF') throw new Error(`${path} is not an ELF binary; reinstall the \`node\` devDependency`)
  const { stdout } = await exec(path, ['--version'])
  if (!stdout.startsWith('v24.')) throw new Error(`${path} is Node ${stdout.trim()}; the image needs Node 24`)
  return path
}

/** The shared libraries (and the loader) a binary needs, as `ldd` lists them. */
async function sharedLibraries (binary: string): Promise<string[]> {
  const { stdout } = await exec('ldd', [binary])
  const paths: string[] = []
  for (const line of stdout.split('\n')) {
    // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x…)" or "/lib64/ld-linux-x86-64.so.2 (0x…)"
    const m = /(?:=>\s*)?(\/\S+)\s+\(0x[0-9a-f]+\)/.exec(line)
    if (m !== null) paths.push(m[1])
    else if (line.includes('not found')) throw new Error(`ldd ${binary}: ${line.trim()}`)
  }
  return paths
}

async function run (command: string, args: string[], options: { cwd?: string, env?: Record<string, string> } = {}): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: { ...process.env, ...options.env }, stdio: ['ignore', 'inherit', 'inherit'] })
    child.once('error', reject)
    child.once('exit', code => {
      if (code === 0) resolve()
      else reject(new Error(`${command} ${args.join(' ')} exited with ${code}`))
    })
  })
}

/** Remove files Node never loads from node_modules: TypeScript sources (not stripped there) and source maps. */
async function pruneNodeModules (dir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue
    if (/\.(?:[mc]?ts|map)$/.test(entry.name)) await rm(join(entry.parentPath, entry.name))
  }
}

/** Lay out the image's root filesystem in `rootfs`. */
async function assembleRootfs (rootfs: string, log: (line: string) => void): Promise<void> {
  const node = await projectNode()
  await mkdir(join(rootfs, dirname(IMAGE_NODE_PATH)), { recursive: true })
  await copyFile(node, join(rootfs, IMAGE_NODE_PATH))
  await chmod(join(rootfs, IMAGE_NODE_PATH), 0o755)
  for (const lib of await sharedLibraries(node)) {
    await mkdir(join(rootfs, dirname(lib)), { recursive: true })
    await copyFile(await realpath(lib), join(rootfs, lib))
  }
  log(`node ${node}`)

  const app = join(rootfs, IMAGE_APP_DIR)
  for (const part of ['bin', 'src', 'gen/ts', 'package.json', 'package-lock.json']) {
    await cp(join(ROOT, part), join(app, part), { recursive: true })
  }
  // `npm ci` refuses this lockfile where the registry lacks other platforms'
  // optional binaries; `npm install` installs the locked versions all the same
  await run('npm', ['install', '--omit=dev', '--no-audit', '--no-fund', '--ignore-scripts', '--no-update-notifier'], { cwd: app })
  await rm(join(app, 'package-lock.json'))
  await pruneNodeModules(join(app, 'node_modules'))

  const etc = join(rootfs, 'etc')
  await mkdir(etc, { recursive: true })
  await writeFile(join(etc, 'passwd'), `root:x:0:0:root:/root:/sbin/nologin\n${IMAGE_USER}:x:${IMAGE_UID}:${IMAGE_GID}:mirnet:${IMAGE_STATE_DIR}:/sbin/nologin\n`)
  await writeFile(join(etc, 'group'), `root:x:0:\n${IMAGE_USER}:x:${IMAGE_GID}:\n`)
  // glibc resolves names through /etc/hosts, then DNS (Kubernetes pod DNS names)
  await writeFile(join(etc, 'nsswitch.conf'), 'passwd: files\ngroup: files\nhosts: files dns\n')
  await mkdir(join(rootfs, 'tmp'), { recursive: true })
  await chmod(join(rootfs, 'tmp'), 0o1777)
}

function containerfile (version: string): string {
  const entrypoint = JSON.stringify([...IMAGE_MIRNET_COMMAND, 'serve'])
  return `FROM scratch
COPY rootfs/ /
COPY --chown=${IMAGE_UID}:${IMAGE_GID} state/ ${IMAGE_STATE_DIR}/
ENV PATH=${dirname(IMAGE_NODE_PATH)} NODE_ENV=production MIRNET_STATE_DIR=${IMAGE_STATE_DIR} MIRNET_LISTEN=/ip4/0.0.0.0/tcp/${P2P_PORT}
WORKDIR ${IMAGE_APP_DIR}
USER ${IMAGE_UID}:${IMAGE_GID}
EXPOSE ${IMAGE_EXPOSED_PORTS.join(' ')}
LABEL org.opencontainers.image.title="mirnet" org.opencontainers.image.version="${version}" org.opencontainers.image.licenses="Apache-2.0"
ENTRYPOINT ${entrypoint}
`
}

export interface BuildImageOptions {
  /**
   * Image name and tag.
   * @default 'mirnet:<package version>'
   */
  tag?: string
  /**
   * Folder of the container storage (kept after the build, for podman).
   * @default '<system temp folder>/mirnet-containers'
   */
  storage?: string
  /** Progress lines. @default to stderr */
  log?: (line: string) => void
}

/** Build the image; resolves with its tag, the storage used and how long it took. */
export async function buildImage (options: BuildImageOptions = {}): Promise<{ tag: string, storage: ImageStorage, seconds: number, bytes: number }> {
  const started = Date.now()
  const log = options.log ?? ((line: string) => { process.stderr.write(`image: ${line}\n`) })
  const { version } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string }
  const tag = options.tag ?? `mirnet:${version}`
  const storage = await prepareStorage(options.storage ?? join(tmpdir(), 'mirnet-containers'))
  const context = await mkdtemp(join(tmpdir(), 'mirnet-image-'))
  try {
    const rootfs = join(context, 'rootfs')
    await assembleRootfs(rootfs, log)
    await mkdir(join(context, 'state'), { mode: 0o700 })
    await writeFile(join(context, 'Containerfile'), containerfile(version))
    const bytes = await treeBytes(rootfs)
    log(`root filesystem ${(bytes / 2 ** 20).toFixed(0)} MiB; building ${tag} with buildah`)
    await run('buildah', ['build', '--isolation', 'chroot', '--layers=false', '--quiet', '-f', join(context, 'Containerfile'), '-t', tag, context], { env: storage.env })
    return { tag, storage, seconds: (Date.now() - started) / 1000, bytes }
  } finally {
    await rm(context, { recursive: true, force: true })
  }
}

async function treeBytes (dir: string): Promise<number> {
  let total = 0
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await stat(join(entry.parentPath, entry.name))).size
  }
  return total
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { tag: { type: 'string' }, storage: { type: 'string' } } })
  const result = await buildImage({ tag: values.tag, storage: values.storage })
  const env = Object.entries(result.storage.env).map(([k, v]) => `${k}=${v}`).join(' ')
  process.stdout.write(`built ${result.tag} (${(result.bytes / 2 ** 20).toFixed(0)} MiB) in ${result.seconds.toFixed(1)} s
run it with the same storage settings:
  ${env} podman run --rm --network=host ${result.tag} --api 127.0.0.1:${API_PORT}
`)
}
