import { parser } from '@prometheus-io/lezer-promql'
import type { SyntaxNode } from '@lezer/common'
import type { Scrape } from './prometheus.ts'

/** One label matcher of a selector: `label op "value"`. */
export interface Matcher {
  label: string
  op: '=' | '!=' | '=~' | '!~'
  value: string
}

/** A vector selector: the metric it names and its matchers (`__name__` taken out). */
export interface Selector {
  metric: string
  matchers: Matcher[]
}

export interface ParsedQuery {
  selectors: Selector[]
  /** Labels of `by (…)`, `without (…)`, `on (…)`, `ignoring (…)`, `group_left (…)`. */
  groupingLabels: string[]
  /** Syntax errors, and selectors that name no metric. */
  errors: string[]
}

/**
 * Grafana's variables replaced by values PromQL accepts: the interval
 * variables by a duration, any other `$name`, `${name}` or `${name:format}`
 * by a word (they stand in label values, in strings).
 */
export function substituteGrafanaVariables (expr: string): string {
  return expr
    .replace(/\$(?:__rate_interval|__interval|__range)\b|\$\{(?:__rate_interval|__interval|__range)\}/g, '5m')
    .replace(/\$\{\w+(?::\w+)?\}|\$\w+/g, 'grafana_variable')
}

const OPS: Record<string, Matcher['op']> = { EqlSingle: '=', Neq: '!=', EqlRegex: '=~', NeqRegex: '!~' }

function text (expr: string, node: SyntaxNode): string {
  return expr.slice(node.from, node.to)
}

/** A PromQL string literal's value ("…", '…' or `…`). */
function stringValue (literal: string): string {
  const body = literal.slice(1, -1)
  return literal.startsWith('`') ? body : body.replace(/\\(.)/g, '$1')
}

function matcherOf (expr: string, node: SyntaxNode): Matcher | undefined {
  const name = node.getChild('LabelName') ?? node.getChild('QuotedLabelName')
  const op = node.getChild('MatchOp')?.firstChild
  const value = node.getChild('StringLiteral')
  if (name === null || op === null || op === undefined || value === null) return undefined
  const label = name.name === 'QuotedLabelName' ? stringValue(text(expr, name)) : text(expr, name)
  return { label, op: OPS[op.name], value: stringValue(text(expr, value)) }
}

/** Parse a PromQL expression (Grafana variables substituted) with Prometheus' own grammar. */
export function parsePromQL (query: string): ParsedQuery {
  const expr = substituteGrafanaVariables(query)
  const out: ParsedQuery = { selectors: [], groupingLabels: [], errors: [] }
  parser.parse(expr).iterate({
    enter: ref => {
      if (ref.type.isError) {
        out.errors.push(`syntax error at ${ref.from}: …${expr.slice(Math.max(0, ref.from - 20), ref.from)}⚠${expr.slice(ref.from, ref.from + 20)}…`)
        return
      }
      if (ref.name === 'GroupingLabels') {
        for (const label of ref.node.getChildren('LabelName')) out.groupingLabels.push(text(expr, label))
        return
      }
      if (ref.name !== 'VectorSelector') return
      const node = ref.node
      const matchers: Matcher[] = []
      for (const list of node.getChildren('LabelMatchers')) {
        for (const child of [...list.getChildren('UnquotedLabelMatcher'), ...list.getChildren('QuotedLabelMatcher')]) {
          const m = matcherOf(expr, child)
          if (m !== undefined) matchers.push(m)
        }
      }
      const identifier = node.getChild('Identifier')
      const byName = matchers.find(m => m.label === '__name__' && m.op === '=')
      const metric = identifier !== null ? text(expr, identifier) : byName?.value
      if (metric === undefined) {
        out.errors.push(`selector ${text(expr, node)} names no metric`)
        return
      }
      out.selectors.push({ metric, matchers: matchers.filter(m => m.label !== '__name__') })
    }
  })
  return out
}

/** `label_values(<selector>, label)` of a Grafana query variable: the selector and the label. */
export function parseLabelValuesQuery (query: string): { selector: string, label: string } | undefined {
  const m = /^label_values\((.+),\s*([a-zA-Z_]\w*)\s*\)$/s.exec(query.trim())
  return m === null ? undefined : { selector: m[1], label: m[2] }
}

/** Labels every series has once Prometheus scraped it. */
export const TARGET_LABELS = ['instance', 'job']

/**
 * What is wrong with `query` against the series of `scrape`: syntax errors,
 * metrics the scrape does not have, matchers on labels those metrics lack or
 * with `=` values none of their series carries, grouping labels none of the
 * selected metrics has. Empty when the query is right.
 */
export function queryProblems (query: string, scrape: Scrape, extraLabels: string[] = []): string[] {
  const parsed = parsePromQL(query)
  const problems = [...parsed.errors]
  const seen = new Set<string>([...TARGET_LABELS, ...extraLabels])
  for (const { metric, matchers } of parsed.selectors) {
    const series = scrape.series(metric)
    if (series.length === 0) {
      problems.push(`metric ${metric} is not in the daemon's scrape`)
      continue
    }
    const labels = new Set(series.flatMap(s => Object.keys(s.labels)))
    for (const label of labels) seen.add(label)
    for (const m of matchers) {
      if (TARGET_LABELS.includes(m.label)) continue
      if (!labels.has(m.label)) {
        problems.push(`${metric} has no label ${m.label} (its labels: ${[...labels].join(', ') || 'none'})`)
      } else if (m.op === '=' && !m.value.includes('grafana_variable') && !series.some(s => s.labels[m.label] === m.value)) {
        problems.push(`no series of ${metric} has ${m.label}="${m.value}" (values: ${[...new Set(series.map(s => s.labels[m.label]))].join(', ')})`)
      }
    }
  }
  for (const label of parsed.groupingLabels) {
    if (!seen.has(label)) problems.push(`grouping label ${label} is on none of the metrics ${parsed.selectors.map(s => s.metric).join(', ')}`)
  }
  return problems
}
