/** Median of numbers (the mean of the middle two for an even count). */
export function median (values: readonly number[]): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/** The p-th percentile (0..100) by nearest rank. */
export function percentile (values: readonly number[] | Float64Array, p: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = Float64Array.from(values).sort()
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[rank]
}

/** Round to `digits` significant decimals for the report. */
export function round (value: number, digits = 3): number {
  if (!Number.isFinite(value)) return value
  const f = 10 ** digits
  return Math.round(value * f) / f
}

/**
 * Run `rounds` rounds of each system, alternating (A B A B …) so that both
 * see the same machine noise; returns each system's per-round values.
 */
export async function alternate<K extends string> (
  rounds: number,
  systems: Record<K, () => Promise<number>>,
  onRound?: (round: number, system: K, value: number) => void
): Promise<Record<K, number[]>> {
  const names = Object.keys(systems) as K[]
  const out = Object.fromEntries(names.map(n => [n, [] as number[]])) as unknown as Record<K, number[]>
  for (let r = 0; r < rounds; r++) {
    for (const name of names) {
      const value = await systems[name]()
      out[name].push(value)
      onRound?.(r, name, value)
    }
  }
  return out
}
