/**
 * `npm run faults [-- --full] [-- --all-transports] [-- --markdown] [-- JEST ARGS…]`:
 * runs the fault suite (everything under test/faults, or only the files named
 * among the jest arguments) one file after another, short by default and at
 * the counts with --full (every case on libp2p, TLS and gRPC; short,
 * TLS and gRPC run one representative case per file, --all-transports runs
 * them all at the short counts), then prints every figure the
 * scenarios reported as one table (--markdown: a Markdown table, as in
 * RELIABILITY.md). Exits with jest's exit code.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const jestBin = join(root, 'node_modules', 'jest', 'bin', 'jest.js')

const args = process.argv.slice(2)
const full = args.includes('--full')
const markdown = args.includes('--markdown')
const allTransports = args.includes('--all-transports')
const jestArgs = args.filter(a => a !== '--full' && a !== '--markdown' && a !== '--all-transports')
/** Files named (`test/faults/partitions.test.ts`) run alone; otherwise the whole suite. */
const paths = jestArgs.some(a => a.endsWith('.ts') || a.startsWith('test/')) ? [] : ['test/faults']

interface Row {
  scenario: string
  figure: string
  value: string
}

/** `{a: {b: 1}}` as `[['a.b', '1']]`. */
function flatten (value: unknown, prefix: string, out: Array<[string, string]>): void {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix === '' ? k : `${prefix}.${k}`, out)
  } else {
    out.push([prefix, Array.isArray(value) ? value.join(', ') : String(value)])
  }
}

function rowsOf (lines: string[]): Row[] {
  const rows: Row[] = []
  for (const line of lines) {
    if (line.trim() === '') continue
    const { scenario, full: _full, ...figures } = JSON.parse(line) as { scenario: string, full: boolean }
    const pairs: Array<[string, string]> = []
    flatten(figures, '', pairs)
    for (const [figure, value] of pairs) rows.push({ scenario, figure, value })
  }
  return rows
}

function table (rows: Row[]): string {
  if (markdown) {
    return ['| scenario | figure | value |', '|---|---|---|', ...rows.map(r => `| ${r.scenario} | ${r.figure} | ${r.value} |`)].join('\n') + '\n'
  }
  const w1 = Math.max(8, ...rows.map(r => r.scenario.length))
  const w2 = Math.max(6, ...rows.map(r => r.figure.length))
  const line = (a: string, b: string, c: string): string => `${a.padEnd(w1)}  ${b.padEnd(w2)}  ${c}`
  return [line('scenario', 'figure', 'value'), line('-'.repeat(w1), '-'.repeat(w2), '-----'), ...rows.map(r => line(r.scenario, r.figure, r.value))].join('\n') + '\n'
}

async function main (): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'mirnet-faults-'))
  const reportFile = join(dir, 'figures.jsonl')
  try {
    const started = Date.now()
    const code = await new Promise<number>(resolve => {
      const child = spawn(process.execPath, [jestBin, '--runInBand', ...jestArgs, ...paths], {
        cwd: root,
        stdio: 'inherit',
        env: {
          ...process.env,
          NODE_OPTIONS: [process.env.NODE_OPTIONS, '--experimental-vm-modules'].filter(Boolean).join(' '),
          MIRNET_FAULTS_FULL: full ? '1' : '0',
          MIRNET_FAULTS_ALL_TRANSPORTS: allTransports ? '1' : '0',
          MIRNET_FAULTS_REPORT: reportFile
        }
      })
      child.once('exit', (c, signal) => { resolve(c ?? (signal === null ? 1 : 128)) })
    })
    const text = await readFile(reportFile, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return ''
      throw err
    })
    const minutes = ((Date.now() - started) / 60_000).toFixed(1)
    process.stdout.write(`\nFault suite (${full ? 'full' : 'quick'} run, ${minutes} min, jest exit code ${code}):\n\n`)
    process.stdout.write(table(rowsOf(text.split('\n'))))
    return code
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

process.exitCode = await main()
