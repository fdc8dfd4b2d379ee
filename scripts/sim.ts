/**
 * `npm run sim -- --seeds N [--seed S] [--nodes K] [--virtual-seconds T]`:
 * the deterministic simulation of the core (src/sim). Runs seeds 1..N (or
 * the one seed S, printing the digest of its event trace), with a progress
 * line and a summary; on a violation prints the seed, the invariant and
 * the last events, and exits with 1.
 */
import { parseArgs } from 'node:util'
import { SimUsageError } from '../src/sim/errors.ts'
import type { SimResult } from '../src/sim/simulation.ts'

const HELP = `npm run sim -- [options]

Runs the core (NetworkModule nodes on a simulated network) on virtual time:
seeded workload on every lane, seeded faults (cuts, partitions one-way and
both ways, stalled readers, slow links, crashes and restarts, membership
removals, additions and address changes, non-members connecting, slow
consumers), every invariant checked as messages arrive and at the end.
One seed is one run: the same seed replays the same events in the same order.

Options:
  --seeds N             run seeds 1..N (default 20)
  --seed S              run only seed S and print "trace digest: <hex>"
  --nodes K             nodes at the start, 3-7 (default: drawn from the seed)
  --virtual-seconds T   virtual seconds of workload and faults per seed, before
                        the heal (default 60)
  --help                this text

Exit code: 0 when every seed held every invariant, 1 on a violation (the
seed, the invariant and the last events are printed), 2 on bad arguments.`

function positiveInt (name: string, text: string | undefined, min: number, max: number): number | undefined {
  if (text === undefined) return undefined
  if (!/^\d+$/.test(text)) throw new SimUsageError(`--${name} must be a whole number, got "${text}"`)
  const n = Number(text)
  if (n < min || n > max) throw new SimUsageError(`--${name} must be between ${min} and ${max}, got ${n}`)
  return n
}

function parse (argv: string[]): { seeds: number[], nodes?: number, virtualSeconds?: number, replay: boolean } | 'help' {
  let values
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        seeds: { type: 'string' },
        seed: { type: 'string' },
        nodes: { type: 'string' },
        'virtual-seconds': { type: 'string' },
        help: { type: 'boolean' }
      },
      strict: true,
      allowPositionals: false
    }))
  } catch (err) {
    throw new SimUsageError((err as Error).message)
  }
  if (values.help === true) return 'help'
  if (values.seed !== undefined && values.seeds !== undefined) throw new SimUsageError('give --seeds N or --seed S, not both')
  const seed = positiveInt('seed', values.seed, 0, 2 ** 32 - 1)
  const count = positiveInt('seeds', values.seeds, 1, 1_000_000) ?? 20
  return {
    seeds: seed !== undefined ? [seed] : Array.from({ length: count }, (_, i) => i + 1),
    nodes: positiveInt('nodes', values.nodes, 3, 7),
    virtualSeconds: positiveInt('virtual-seconds', values['virtual-seconds'], 1, 86_400),
    replay: seed !== undefined
  }
}

function report (r: SimResult, options: { nodes?: number, virtualSeconds?: number }): void {
  const v = r.violation
  if (v === undefined) return
  process.stdout.write(`\nVIOLATION in seed ${r.seed}: ${v.invariant}\n  ${v.message}\nlast events (virtual ms, kind, detail):\n`)
  for (const line of v.tail) process.stdout.write(`  ${line}\n`)
  const extra = `${options.nodes !== undefined ? ` --nodes ${options.nodes}` : ''}${options.virtualSeconds !== undefined ? ` --virtual-seconds ${options.virtualSeconds}` : ''}`
  process.stdout.write(`replay: npm run sim -- --seed ${r.seed}${extra}\n`)
}

async function main (): Promise<number> {
  let args
  try {
    const parsed = parse(process.argv.slice(2))
    if (parsed === 'help') {
      process.stdout.write(HELP + '\n')
      return 0
    }
    args = parsed
  } catch (err) {
    if (err instanceof SimUsageError) {
      process.stderr.write(`npm run sim: ${err.message}\n(see npm run sim -- --help)\n`)
      return 2
    }
    throw err
  }
  // the simulation (the whole core) loads only once the arguments are good: --help and a usage error answer at once
  const { FAULT_KINDS } = await import('../src/sim/faults.ts')
  const { runSimulation } = await import('../src/sim/simulation.ts')
  const started = performance.now()
  const faults = new Map<string, number>()
  let virtualMs = 0
  let checked = 0
  let sent = 0
  let lanesExact = 0
  let failed: SimResult | undefined
  const tty = process.stdout.isTTY
  for (let i = 0; i < args.seeds.length; i++) {
    const seed = args.seeds[i]
    const r = await runSimulation({ seed, nodes: args.nodes, virtualSeconds: args.virtualSeconds })
    virtualMs += r.virtualMs
    checked += r.messagesChecked
    sent += r.messagesSent
    lanesExact += r.lanesCheckedForLoss
    for (const [k, n] of r.faults) faults.set(k, (faults.get(k) ?? 0) + n)
    const wallS = (performance.now() - started) / 1000
    const line = `seed ${seed} (${i + 1}/${args.seeds.length}): ${r.nodes} nodes, ${(r.virtualMs / 1000).toFixed(0)} virtual s, ${[...r.faults.values()].reduce((a, b) => a + b, 0)} faults, ${r.messagesChecked} messages checked; total ${(virtualMs / 1000).toFixed(0)} virtual s in ${wallS.toFixed(1)} s`
    process.stdout.write(tty ? `\r\x1b[K${line}` : `${line}\n`)
    if (args.replay) process.stdout.write(`${tty ? '\n' : ''}trace digest: ${r.digest}\n`)
    if (r.violation !== undefined) {
      failed = r
      break
    }
  }
  if (tty) process.stdout.write('\n')
  const wallS = (performance.now() - started) / 1000
  const seedsRun = failed === undefined ? args.seeds.length : args.seeds.indexOf(failed.seed) + 1
  process.stdout.write([
    `seeds run: ${seedsRun}${failed === undefined ? ', every invariant held' : `, seed ${failed.seed} failed`}`,
    `virtual time simulated: ${(virtualMs / 1000).toFixed(0)} s in ${wallS.toFixed(1)} s wall (${(virtualMs / 1000 / wallS).toFixed(1)} virtual s per wall s)`,
    `faults injected: ${FAULT_KINDS.map(k => `${k} ${faults.get(k) ?? 0}`).join(', ')}`,
    `messages: ${sent} sent, ${checked} checked on arrival; ${lanesExact} (sender life, receiver life, lane) checked for loss message by message at the end`
  ].join('\n') + '\n')
  if (failed !== undefined) {
    report(failed, args)
    return 1
  }
  return 0
}

process.exitCode = await main()
