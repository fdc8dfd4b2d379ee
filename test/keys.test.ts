import { mkdtemp, rm, stat, chmod } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals'
import { generateKey, installKeyFile, peerIdOf, readKeyFile, writeKeyFile } from '../src/transports/libp2p/keys.ts'

describe('key files', () => {
  let dir: string
  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'mirnet-keys-')) })
  afterEach(async () => { await rm(dir, { recursive: true, force: true }) })

  it('writes a key readable by the owner only and reads back the same peer id', async () => {
    const key = await generateKey()
    const path = join(dir, 'node.key')
    await writeKeyFile(path, key)
    expect((await stat(path)).mode & 0o777).toBe(0o600)
    expect(peerIdOf(await readKeyFile(path))).toBe(peerIdOf(key))
    expect(peerIdOf(key)).toMatch(/^12D3KooW/)
  })

  it('refuses to overwrite a key file', async () => {
    const path = join(dir, 'node.key')
    await writeKeyFile(path, await generateKey())
    await expect(writeKeyFile(path, await generateKey())).rejects.toMatchObject({ name: 'KeyFileError' })
  })

  it('refuses a key file others can read unless told otherwise', async () => {
    const path = join(dir, 'node.key')
    await writeKeyFile(path, await generateKey())
    await chmod(path, 0o644)
    await expect(readKeyFile(path)).rejects.toMatchObject({ name: 'KeyFileError', message: expect.stringContaining('644') })
    await expect(readKeyFile(path, { allowInsecurePermissions: true })).resolves.toBeDefined()
  })

  it('says what is wrong with a file that is not a key', async () => {
    const { writeFile } = await import('node:fs/promises')
    const path = join(dir, 'garbage.key')
    await writeFile(path, 'not a key', { mode: 0o600 })
    await expect(readKeyFile(path)).rejects.toMatchObject({ name: 'KeyFileError', message: expect.stringContaining('not a libp2p private key') })
  })

  describe('installKeyFile (the Kubernetes init step)', () => {
    it('copies a group-readable key to a 0600 file, replacing one already there', async () => {
      const key = await generateKey()
      const from = join(dir, 'secret.key')
      const to = join(dir, 'node.key')
      await writeKeyFile(from, key)
      await chmod(from, 0o440)
      await writeKeyFile(to, await generateKey())
      await chmod(to, 0o644)
      expect(peerIdOf(await installKeyFile(from, to))).toBe(peerIdOf(key))
      expect((await stat(to)).mode & 0o777).toBe(0o600)
      expect(peerIdOf(await readKeyFile(to))).toBe(peerIdOf(key))
      const { readdir } = await import('node:fs/promises')
      expect((await readdir(dir)).sort()).toEqual(['node.key', 'secret.key'])
    })

    it('refuses a source that is not a key and leaves the destination alone', async () => {
      const { writeFile } = await import('node:fs/promises')
      const from = join(dir, 'garbage.key')
      await writeFile(from, 'not a key', { mode: 0o440 })
      await expect(installKeyFile(from, join(dir, 'node.key'))).rejects.toMatchObject({ name: 'KeyFileError' })
      await expect(stat(join(dir, 'node.key'))).rejects.toMatchObject({ code: 'ENOENT' })
    })
  })
})
