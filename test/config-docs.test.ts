import { existsSync } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from '@jest/globals'
import { TUNABLES } from '../src/cli/options.ts'
import { DaemonMetrics } from '../src/service/metrics.ts'
import type { NetworkStats } from '../src/core/peer-stats.ts'
import { CONFIGURATION_DOC, DEFAULTS_APPLIED_IN_CODE, renderConfigurationDoc } from '../scripts/config-docs.ts'

const REPO = fileURLToPath(new URL('..', import.meta.url))

/** The row of `flag` in the rendered document. */
function rowOf (doc: string, flag: string): string {
  const row = doc.split('\n').find(line => line.startsWith(`| \`${flag}`))
  if (row === undefined) throw new Error(`no row for ${flag}`)
  return row
}

describe('docs/configuration.md', () => {
  it('is what npm run docs:config generates from the CLI\'s options (run it after changing an option)', async () => {
    const committed = await readFile(CONFIGURATION_DOC, 'utf8')
    expect(committed).toEqual(await renderConfigurationDoc())
  })

  it('lists every tunable of serve with its environment variable and its default', async () => {
    const doc = await renderConfigurationDoc()
    for (const t of TUNABLES) {
      const row = rowOf(doc, t.flag)
      expect(row).toContain(`\`${t.env}\``)
      expect(row).toContain(`\`${t.default}\``)
    }
    expect(rowOf(doc, '--queue-max-bytes')).toContain('(32 MiB)')
    expect(rowOf(doc, '--keepalive-timeout-ms')).toContain('(3 s)')
    expect(rowOf(doc, '--lanes')).toContain('`control:strict,consensus:4,bulk:1`')
  })

  it('names the defaults that commands apply in code, and the code still applies them', async () => {
    const doc = await renderConfigurationDoc()
    for (const [key, { value, file }] of Object.entries(DEFAULTS_APPLIED_IN_CODE)) {
      expect(rowOf(doc, key.split(' ')[1])).toContain(`\`${value}\``)
      expect(await readFile(join(REPO, file), 'utf8')).toContain(`'${value}'`)
    }
  })
})

describe('docs/operations.md', () => {
  it('describes every mirnet_* series the daemon exports, and no other', async () => {
    const metrics = new DaemonMetrics({
      stats: (): NetworkStats => { throw new Error('not scraped') },
      service: { deliveredMessages: 0, abandonedMessages: 0, receiveStreams: 0 }
    })
    const exported = metrics.registry.getMetricsAsArray().map(m => m.name).filter(n => n.startsWith('mirnet_')).sort()
    const doc = await readFile(join(REPO, 'docs/operations.md'), 'utf8')
    const table = doc.split('\n').filter(line => line.startsWith('| `mirnet_'))
    const documented = [...new Set(table.flatMap(line => [...line.split('|')[1].matchAll(/`(mirnet_\w+)`/g)].map(m => m[1])))].sort()
    expect(exported.length).toBeGreaterThan(30)
    expect(documented).toEqual(exported)
  })
})

/** GitHub's anchor of a Markdown heading: lower case, punctuation dropped, spaces as hyphens. */
function anchorOf (heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replaceAll(' ', '-')
}

async function anchorsOf (path: string): Promise<Set<string>> {
  const text = await readFile(path, 'utf8')
  const headings = text.replace(/```[\s\S]*?```/g, '').split('\n').filter(line => /^#{1,6} /.test(line))
  return new Set(headings.map(h => anchorOf(h.replace(/^#+ /, ''))))
}

describe('documentation links', () => {
  it('every relative link of README, CHANGELOG, BENCHMARKS, RELIABILITY and docs/ names a file of the repository, and a heading of it', async () => {
    const docs = ['README.md', 'CHANGELOG.md', 'BENCHMARKS.md', 'RELIABILITY.md',
      ...(await readdir(join(REPO, 'docs'))).filter(f => f.endsWith('.md')).map(f => `docs/${f}`)]
    const broken: string[] = []
    let links = 0
    for (const doc of docs) {
      const text = await readFile(join(REPO, doc), 'utf8')
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target)) continue
        links++
        const [file, anchor] = target.split('#')
        const path = file === '' ? join(REPO, doc) : resolve(dirname(join(REPO, doc)), file)
        if (!existsSync(path)) broken.push(`${doc}: ${target}`)
        else if (anchor !== undefined && !(await anchorsOf(path)).has(anchor)) broken.push(`${doc}: ${target} (no such heading)`)
      }
    }
    expect(links).toBeGreaterThan(10)
    expect(broken).toEqual([])
  })
})

describe('README', () => {
  it('gives the install and test commands that .ci/run runs', async () => {
    const readme = await readFile(join(REPO, 'README.md'), 'utf8')
    const ci = await readFile(join(REPO, '.ci/run'), 'utf8')
    for (const command of ['npm ci', 'npm test']) {
      expect(readme).toMatch(new RegExp(`^${command}\\b`, 'm'))
      expect(ci).toMatch(new RegExp(`^(\\S+=\\S+ )*${command}\\b`, 'm'))
    }
  })
})
