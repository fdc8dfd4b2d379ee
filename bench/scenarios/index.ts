import type { Scenario } from '../lib/types.ts'

/** Every scenario, in report order. Each file exports one `scenario`. */
export const SCENARIOS: Scenario[] = []
