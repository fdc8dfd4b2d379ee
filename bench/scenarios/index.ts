import { readdir } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import type { Scenario, ScenarioName } from '../lib/types.ts'

const ORDER: ScenarioName[] = ['link', 'api-e2e', 'api-unary', 'latency', 'hol', 'wan', 'fan-out', 'dead-peer-memory', 'reconnect', 'scale', 'raft']

/**
 * Every scenario, in report order: each `<name>.ts` beside this file exports
 * one `scenario`.
 */
async function load (): Promise<Scenario[]> {
  const dir = fileURLToPath(new URL('.', import.meta.url))
  const files = (await readdir(dir)).filter(f => f.endsWith('.ts') && f !== 'index.ts')
  const loaded: Scenario[] = []
  for (const file of files) {
    const mod = await import(new URL(file, import.meta.url).href) as { scenario?: Scenario }
    if (mod.scenario === undefined) throw new Error(`bench/scenarios/${file} exports no scenario`)
    loaded.push(mod.scenario)
  }
  return loaded.sort((a, b) => ORDER.indexOf(a.name) - ORDER.indexOf(b.name))
}

export const SCENARIOS: Scenario[] = await load()
