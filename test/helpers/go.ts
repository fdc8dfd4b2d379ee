import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

/**
 * Go builds for the tests, offline: GOPATH mode over Debian's Go packages
 * (/usr/share/gocode; there is no module proxy here). The repository's Go
 * code is linked into a throwaway GOPATH under its import paths; the build
 * cache lives in node_modules/.cache/mirnet-go, so the second build in a run
 * takes seconds, not the 20-40 s of a cold gRPC build. Builds take turns
 * (flock on a file beside the cache): two test files building at once on a
 * cold cache would each compile gRPC.
 */

const run = promisify(execFile)
export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
/** Import path of the repository's root in GOPATH mode. */
export const REPO_IMPORT = 'github.com/mirnet/mirnet'
export const GO_CACHE = join(REPO, 'node_modules/.cache/mirnet-go')
/** Held (flock) by the build in progress. */
const GO_BUILD_LOCK = `${GO_CACHE}.lock`

/** Whether the Go toolchain is installed (CI installs it; see .ci/run). */
export function goInstalled (): boolean {
  return existsSync('/usr/bin/go')
}

/** Extra GOPATH entries (e.g. an unpacked golang-etcd-server-dev: <dir>/usr/share/gocode). */
export interface GoBuildOptions {
  /** Import path of the main package, under REPO_IMPORT (e.g. `github.com/mirnet/mirnet/test/go/client-check`). */
  main: string
  /** Where to write the binary. */
  out: string
  extraGopath?: string[]
}

/** Build a main package of this repository; rejects with go's output on failure. */
export async function goBuild (options: GoBuildOptions): Promise<void> {
  const gopath = await mkdtemp(join(tmpdir(), 'mirnet-gopath-'))
  try {
    const link = join(gopath, 'src', REPO_IMPORT)
    await mkdir(dirname(link), { recursive: true })
    await symlink(REPO, link)
    await mkdir(GO_CACHE, { recursive: true })
    const env = {
      ...process.env,
      GO111MODULE: 'off',
      GOPATH: [gopath, '/usr/share/gocode', ...(options.extraGopath ?? [])].join(':'),
      GOCACHE: GO_CACHE,
      CGO_ENABLED: '0'
    }
    await run('flock', [GO_BUILD_LOCK, 'go', 'build', '-o', options.out, options.main], { env, cwd: REPO, maxBuffer: 16 * 1024 * 1024 }).catch((err: { stderr?: string, message: string }) => {
      throw new Error(`go build ${options.main} failed:\n${err.stderr ?? err.message}`)
    })
  } finally {
    await rm(gopath, { recursive: true, force: true })
  }
}
