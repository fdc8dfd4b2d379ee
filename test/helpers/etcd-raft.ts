import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { REPO } from './go.ts'

/**
 * etcd's raft 3.4 for Go builds, from Debian's golang-etcd-server-dev
 * without installing it: installing it removes golang-github-golang-protobuf-1-5-dev
 * (it depends on the old protobuf), which breaks grpc-go. The .deb is
 * downloaded once with `apt-get download` and unpacked with `dpkg -x` under
 * node_modules/.cache/etcd-raft; later calls (and offline runs) use that copy.
 * .ci/run calls this file as a script before `npm test`.
 */

const run = promisify(execFile)
const PACKAGE = 'golang-etcd-server-dev'
export const ETCD_RAFT_CACHE = join(REPO, 'node_modules/.cache/etcd-raft')
/** The GOPATH entry holding go.etcd.io/etcd/raft. */
export const ETCD_RAFT_GOPATH = join(ETCD_RAFT_CACHE, 'usr/share/gocode')
const RAFT_PACKAGE = join(ETCD_RAFT_GOPATH, 'src/go.etcd.io/etcd/raft/raft.go')

/** Why etcd raft cannot be had here, or undefined when it is (or can be) unpacked. */
export function etcdRaftUnavailableReason (): string | undefined {
  if (existsSync(RAFT_PACKAGE)) return undefined
  if (!existsSync('/usr/bin/apt-get') || !existsSync('/usr/bin/dpkg')) return `${PACKAGE} is not unpacked under ${ETCD_RAFT_CACHE} and apt-get/dpkg are missing`
  return undefined
}

/** Download and unpack golang-etcd-server-dev once; resolves with the GOPATH entry. Idempotent. */
export async function etcdRaftGopath (): Promise<string> {
  if (existsSync(RAFT_PACKAGE)) return ETCD_RAFT_GOPATH
  await mkdir(join(REPO, 'node_modules/.cache'), { recursive: true })
  const work = await mkdtemp(join(REPO, 'node_modules/.cache/etcd-raft-'))
  try {
    await run('apt-get', ['download', PACKAGE], { cwd: work }).catch((err: { stderr?: string, message: string }) => {
      throw new Error(`apt-get download ${PACKAGE} failed (run apt-get update first?):\n${err.stderr ?? err.message}`)
    })
    const deb = (await readdir(work)).find(f => f.endsWith('.deb'))
    if (deb === undefined) throw new Error(`apt-get download ${PACKAGE} left no .deb in ${work}`)
    const tree = join(work, 'tree')
    await run('dpkg', ['-x', join(work, deb), tree])
    // one rename: a concurrent or interrupted run never leaves half a tree in place
    await rm(ETCD_RAFT_CACHE, { recursive: true, force: true })
    await rename(tree, ETCD_RAFT_CACHE)
  } finally {
    await rm(work, { recursive: true, force: true })
  }
  if (!existsSync(RAFT_PACKAGE)) throw new Error(`${PACKAGE} unpacked without go.etcd.io/etcd/raft`)
  return ETCD_RAFT_GOPATH
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(`${await etcdRaftGopath()}\n`)
}
