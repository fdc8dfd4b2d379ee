import { execFile, execFileSync } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { prepareStorage } from '../../deploy/image/build-image.ts'

const exec = promisify(execFile)

/**
 * Why images cannot be built and run here, or undefined when they can:
 * podman, buildah, skopeo and ldd on PATH, and podman working with the
 * storage settings `npm run image` writes.
 */
export async function podmanUnavailableReason (): Promise<string | undefined> {
  for (const tool of ['podman', 'buildah', 'skopeo', 'ldd']) {
    try {
      execFileSync(tool, ['--version'], { stdio: 'ignore' })
    } catch {
      return `\`${tool}\` is not installed (Debian: apt-get install podman buildah skopeo runc)`
    }
  }
  const dir = await mkdtemp(join(tmpdir(), 'mirnet-podman-probe-'))
  try {
    const storage = await prepareStorage(dir)
    await exec('podman', ['info'], { env: { ...process.env, ...storage.env }, timeout: 60_000 })
    return undefined
  } catch (err) {
    return `podman does not work here: ${(err as { stderr?: string }).stderr?.trim() ?? (err as Error).message}`
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
