import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from '@jest/globals'
import { BUF, run } from './helpers/processes.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

async function files (dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue
    const path = join(entry.parentPath, entry.name)
    out.set(relative(dir, path), await readFile(path, 'utf8'))
  }
  return out
}

describe('gen/ts', () => {
  it('is what buf generates from proto/ now (run `npm run generate` after changing a .proto)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mirnet-gen-'))
    try {
      const res = await run(BUF, ['generate', '--output', dir], { timeoutMs: 60_000 })
      expect(res.stderr).toBe('')
      const fresh = await files(join(dir, 'gen/ts'))
      const committed = await files(join(ROOT, 'gen/ts'))
      expect([...committed.keys()].sort()).toEqual([...fresh.keys()].sort())
      for (const [path, content] of fresh) expect(committed.get(path)).toBe(content)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
