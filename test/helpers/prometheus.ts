/** One sample line of the text exposition format. */
export interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\S+)?$/
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(?:,|$)/y

function unescape (value: string): string {
  return value.replace(/\\(.)/g, (_, c: string) => c === 'n' ? '\n' : c)
}

function parseLabels (text: string): Record<string, string> {
  const labels: Record<string, string> = {}
  LABEL.lastIndex = 0
  while (LABEL.lastIndex < text.length) {
    const m = LABEL.exec(text)
    if (m === null) throw new Error(`bad labels: {${text}}`)
    if (m[1] in labels) throw new Error(`label ${m[1]} repeated in {${text}}`)
    labels[m[1]] = unescape(m[2])
  }
  return labels
}

function sameLabels (a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a)
  return ka.length === Object.keys(b).length && ka.every(k => a[k] === b[k])
}

/**
 * One scrape, parsed strictly (Prometheus text format 0.0.4): every sample
 * must belong to a family declared by `# TYPE`, with no repeated series.
 */
export class Scrape {
  readonly types = new Map<string, string>()
  readonly samples: Sample[] = []

  constructor (text: string) {
    const seen = new Set<string>()
    for (const line of text.split('\n')) {
      if (line === '' || line.startsWith('# HELP ')) continue
      if (line.startsWith('# TYPE ')) {
        const [name, type] = line.slice(7).split(' ')
        if (this.types.has(name)) throw new Error(`family ${name} declared twice`)
        this.types.set(name, type)
        continue
      }
      if (line.startsWith('#')) continue
      const m = SAMPLE.exec(line)
      if (m === null) throw new Error(`bad sample line: ${line}`)
      const sample = { name: m[1], labels: parseLabels(m[2] ?? ''), value: Number(m[3]) }
      if (Number.isNaN(sample.value) && m[3].toLowerCase() !== 'nan') throw new Error(`bad value in: ${line}`)
      const family = this.#family(sample.name)
      if (family === undefined) throw new Error(`sample ${sample.name} has no # TYPE`)
      const key = `${sample.name}${JSON.stringify(Object.entries(sample.labels).sort())}`
      if (seen.has(key)) throw new Error(`series repeated: ${line}`)
      seen.add(key)
      this.samples.push(sample)
    }
  }

  #family (name: string): string | undefined {
    if (this.types.has(name)) return name
    for (const suffix of ['_bucket', '_sum', '_count']) {
      if (name.endsWith(suffix)) {
        const base = name.slice(0, -suffix.length)
        if (this.types.get(base) === 'histogram' || this.types.get(base) === 'summary') return base
      }
    }
    return undefined
  }

  /** `# TYPE` of a family. */
  type (name: string): string | undefined {
    return this.types.get(name)
  }

  /** The samples named `name` whose labels include `labels`. */
  series (name: string, labels: Record<string, string> = {}): Sample[] {
    return this.samples.filter(s => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
  }

  /** The value of the one sample of `name` with exactly these labels; throws if there is none. */
  value (name: string, labels: Record<string, string> = {}): number {
    const match = this.samples.find(s => s.name === name && sameLabels(s.labels, labels))
    if (match === undefined) throw new Error(`no series ${name}${JSON.stringify(labels)} in the scrape`)
    return match.value
  }

  /** A histogram's count for these labels, 0 when it has no such series yet. */
  count (name: string, labels: Record<string, string>): number {
    return this.samples.find(s => s.name === `${name}_count` && sameLabels(s.labels, labels))?.value ?? 0
  }

  /** A histogram's sum for these labels. */
  sum (name: string, labels: Record<string, string>): number {
    return this.value(`${name}_sum`, labels)
  }

  /** A histogram's cumulative bucket count at upper bound `le`. */
  bucket (name: string, labels: Record<string, string>, le: string): number {
    return this.value(`${name}_bucket`, { ...labels, le })
  }
}

/** GET http://ADDRESS/metrics, checking status and content type. */
export async function scrape (address: string): Promise<Scrape> {
  const res = await fetch(`http://${address}/metrics`)
  if (res.status !== 200) throw new Error(`GET /metrics answered ${res.status}`)
  const type = res.headers.get('content-type') ?? ''
  if (!type.startsWith('text/plain; version=0.0.4')) throw new Error(`GET /metrics answered content type ${type}`)
  return new Scrape(await res.text())
}
