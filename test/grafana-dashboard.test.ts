import { readFile } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { createMirnetClient, receiveMessages } from '../src/client/client.ts'
import { startTestDaemon } from './helpers/daemons.ts'
import { scrape } from './helpers/prometheus.ts'
import { parseLabelValuesQuery, parsePromQL, queryProblems } from './helpers/promql.ts'
import { eventually, peer } from './helpers/wait.ts'
import type { Daemon } from '../src/daemon/daemon.ts'
import type { Scrape } from './helpers/prometheus.ts'

const DASHBOARD = new URL('../deploy/grafana/mirnet-dashboard.json', import.meta.url)

interface Target { refId: string, expr?: string, datasource?: { type: string, uid: string } }
interface Panel {
  id: number
  type: string
  title: string
  gridPos: { x: number, y: number, w: number, h: number }
  datasource?: { type: string, uid: string }
  targets?: Target[]
  panels?: Panel[]
}
interface Variable { name: string, type: string, query: string | { query: string }, datasource?: { uid: string } }
interface Dashboard { uid: string, title: string, schemaVersion: number, panels: Panel[], templating: { list: Variable[] } }

/** Every panel, those inside collapsed rows included. */
function allPanels (panels: Panel[]): Panel[] {
  return panels.flatMap(p => [p, ...allPanels(p.panels ?? [])])
}

/** Every PromQL expression of the dashboard, with where it is. */
function expressions (d: Dashboard): Array<{ where: string, expr: string }> {
  return allPanels(d.panels).flatMap(p => (p.targets ?? []).map(t => ({ where: `panel "${p.title}" ${t.refId}`, expr: t.expr ?? '' })))
}

/** The query variables' label_values() queries. */
function variableQueries (d: Dashboard): Array<{ where: string, query: string }> {
  return d.templating.list
    .filter(v => v.type === 'query')
    .map(v => ({ where: `variable $${v.name}`, query: typeof v.query === 'string' ? v.query : v.query.query }))
}

describe('Grafana dashboard (deploy/grafana/mirnet-dashboard.json)', () => {
  let dashboard: Dashboard
  let metrics: Scrape
  const daemons: Daemon[] = []

  // a real daemon's /metrics, with traffic on every lane, a Receive stream and failed calls, so that every family has series
  beforeAll(async () => {
    dashboard = JSON.parse(await readFile(DASHBOARD, 'utf8')) as Dashboard
    const [a, b] = await Promise.all([startTestDaemon('a', {}, { metrics: true }), startTestDaemon('b', {}, { metrics: true })])
    daemons.push(a, b)
    const ca = createMirnetClient(a.info.api)
    const cb = createMirnetClient(b.info.api)
    const nodes = [{ id: 'a', address: a.info.listen[0] }, { id: 'b', address: b.info.listen[0] }]
    await Promise.all([ca.connect({ nodes }), cb.connect({ nodes })])
    await ca.awaitConnections({ minConnected: 2 }, { timeoutMs: 20_000 })
    await ca.send({ messages: ['control', 'consensus', 'bulk'].map(lane => ({ destinations: ['b', 'a'], payload: new Uint8Array(10), lane })) })
    await cb.send({ messages: [{ destinations: ['a'], payload: new Uint8Array(10) }] })
    await eventually('b to acknowledge a\'s 3 messages', () => peer(a.net, 'b')?.acknowledgedMessages === 3, 20_000)
    let received = 0
    for await (const _ of receiveMessages(ca, { timeoutMs: 20_000 })) if (++received === 4) break
    await expect(ca.send({ messages: [{ destinations: ['nobody'], payload: new Uint8Array(1) }] })).rejects.toThrow('nobody')
    await ca.getStatus({})
    metrics = await scrape(a.info.metrics as string)
  })
  afterAll(async () => { await Promise.all(daemons.map(async d => { await d.stop() })) })

  it('is a dashboard Grafana imports: a uid, unique panel ids, panels on the 24-column grid without overlaps, every query on the $datasource variable', () => {
    expect(dashboard.uid).toMatch(/^[\w-]{1,40}$/)
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36)
    const panels = allPanels(dashboard.panels)
    expect(new Set(panels.map(p => p.id)).size).toBe(panels.length)
    for (const p of panels) {
      const { x, y, w, h } = p.gridPos
      expect([p.title, x >= 0 && w >= 1 && x + w <= 24 && y >= 0 && h >= 1]).toEqual([p.title, true])
      for (const q of panels) {
        if (q === p) continue
        const overlap = q.gridPos.x < x + w && x < q.gridPos.x + q.gridPos.w && q.gridPos.y < y + h && y < q.gridPos.y + q.gridPos.h
        expect([p.title, q.title, overlap]).toEqual([p.title, q.title, false])
      }
      if (p.type === 'row') continue
      expect([p.title, p.datasource?.uid]).toEqual([p.title, '${datasource}'])
      expect([p.title, (p.targets ?? []).length > 0]).toEqual([p.title, true])
      for (const t of p.targets ?? []) expect([p.title, t.datasource?.uid]).toEqual([p.title, '${datasource}'])
    }
    const variables = dashboard.templating.list
    expect(variables.find(v => v.name === 'datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' })
    for (const v of variables.filter(v => v.type === 'query')) expect([v.name, v.datasource?.uid]).toEqual([v.name, '${datasource}'])
  })

  it('has only queries that parse as PromQL, each naming a metric', () => {
    const exprs = expressions(dashboard)
    expect(exprs.length).toBeGreaterThan(20)
    for (const { where, expr } of exprs) {
      const parsed = parsePromQL(expr)
      expect([where, parsed.errors]).toEqual([where, []])
      expect([where, parsed.selectors.length > 0]).toEqual([where, true])
    }
  })

  it('names only metrics a running daemon exports, with the labels and label values its series carry', () => {
    for (const { where, expr } of expressions(dashboard)) {
      expect([where, queryProblems(expr, metrics)]).toEqual([where, []])
    }
    for (const { where, query } of variableQueries(dashboard)) {
      const lv = parseLabelValuesQuery(query)
      expect([where, lv !== undefined]).toEqual([where, true])
      expect([where, queryProblems(lv!.selector, metrics)]).toEqual([where, []])
      const metric = parsePromQL(lv!.selector).selectors[0].metric
      const labels = new Set(metrics.series(metric).flatMap(s => Object.keys(s.labels)))
      expect([where, lv!.label === 'instance' || labels.has(lv!.label)]).toEqual([where, true])
    }
  })

  it('shows member states, lane traffic and losses, queues, the inbox, reconnects, tentative peers, the API and the process', () => {
    const used = new Set(expressions(dashboard).flatMap(({ expr }) => parsePromQL(expr).selectors.map(s => s.metric)))
    for (const metric of [
      'mirnet_peer_connection_state', 'mirnet_connected_members', 'mirnet_peer_reconnects_total', 'mirnet_peer_inbound_open',
      'mirnet_lane_sent_messages_total', 'mirnet_lane_acknowledged_messages_total', 'mirnet_lane_received_messages_total', 'mirnet_lane_dropped_messages_total',
      'mirnet_peer_dropped_messages_total', 'mirnet_lane_queued_messages', 'mirnet_lane_unconfirmed_messages',
      'mirnet_inbox_messages', 'mirnet_inbox_lane_messages', 'mirnet_receive_delivered_messages_total', 'mirnet_receive_streams',
      'mirnet_tentative_receivers', 'mirnet_tentative_held_messages', 'mirnet_tentative_dropped_messages_total',
      'mirnet_rpc_duration_seconds_count', 'mirnet_rpc_duration_seconds_bucket', 'process_cpu_seconds_total'
    ]) {
      expect([metric, used.has(metric)]).toEqual([metric, true])
    }
  })

  describe('the query check', () => {
    it.each([
      ['rate(mirnet_peer_sent_messages_totl[5m])', 'metric mirnet_peer_sent_messages_totl is not in the daemon\'s scrape'],
      ['mirnet_peer_connection_state{state="opened"}', 'no series of mirnet_peer_connection_state has state="opened"'],
      ['mirnet_inbox_messages{node_id="a"}', 'mirnet_inbox_messages has no label node_id'],
      ['sum by (lane) (mirnet_peer_queued_messages)', 'grouping label lane is on none of the metrics mirnet_peer_queued_messages'],
      ['sum(rate(mirnet_peer_sent_messages_total[$__rate_interval])', 'syntax error'],
      ['{instance="x"}', 'names no metric']
    ])('finds what is wrong with %s', (expr, problem) => {
      expect(queryProblems(expr, metrics).join('\n')).toContain(problem)
    })

    it('reads Grafana variables and metric names given as __name__', () => {
      expect(queryProblems('sum by (lane) (rate({__name__="mirnet_lane_sent_messages_total", instance=~"$instance", lane=~"${lane:regex}"}[$__rate_interval]))', metrics)).toEqual([])
    })
  })
})
