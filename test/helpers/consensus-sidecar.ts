/**
 * A stand-in for a consensus node running beside its mirnet daemon in one pod,
 * run as a program (inside the pod's network namespace) by
 * test/k8s-statefulset.test.ts:
 *
 *   node consensus-sidecar.ts --api 127.0.0.1:7070 --token-file /etc/mirnet/api-token/token \
 *     --self mirnet-0 --members mirnet-0,mirnet-1,… \
 *     --probe 10.1.2.3:7070 --probe-services ",mirnet.v1.TransportService" --metrics 10.1.2.3:9464
 *
 * It checks health the way kubelet's gRPC probes do (at the pod IP, no
 * credentials), that the API at the pod IP refuses a call without the token,
 * then with the token waits until every member is connected, sends one
 * message to each other member, receives one from each, scrapes the metrics
 * at the pod IP as Prometheus would, and prints a JSON summary.
 */
import { readFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { Code, ConnectError, createClient } from '@connectrpc/connect'
import { createGrpcTransport } from '@connectrpc/connect-node'
import { Health, HealthCheckResponse_ServingStatus } from '../../gen/ts/grpc/health/v1/health_pb.ts'
import { createMirnetClient, receiveMessages } from '../../src/client/client.ts'

export interface SidecarReport {
  health: Record<string, string>
  /** The code of GetInfo at the pod IP without the token. */
  withoutToken: string
  /** `mirnet_connected_members` scraped at the pod IP, after the exchange. */
  scrapedConnectedMembers: number
  connected: number
  received: Array<{ from: string, text: string }>
}

const { values } = parseArgs({
  options: {
    api: { type: 'string' },
    'token-file': { type: 'string' },
    self: { type: 'string' },
    members: { type: 'string' },
    probe: { type: 'string' },
    metrics: { type: 'string' },
    'probe-services': { type: 'string' },
    'timeout-ms': { type: 'string', default: '60000' }
  }
})
const timeoutMs = Number(values['timeout-ms'])
const self = values.self as string
const members = (values.members as string).split(',')
const others = members.filter(m => m !== self)

const health = createClient(Health, createGrpcTransport({ baseUrl: `http://${values.probe as string}` }))
const statuses: Record<string, string> = {}
for (const service of (values['probe-services'] as string).split(',')) {
  const { status } = await health.check({ service }, { timeoutMs: 10_000 })
  statuses[service] = Object.entries(HealthCheckResponse_ServingStatus).find(([, value]) => value === status)?.[0] ?? String(status)
}

let withoutToken = 'OK'
try {
  await createMirnetClient(values.probe as string).getInfo({}, { timeoutMs: 10_000 })
} catch (err) {
  withoutToken = Code[ConnectError.from(err).code]
}

const token = (await readFile(values['token-file'] as string, 'utf8')).trim()
const client = createMirnetClient(values.api as string, { token })
const { connected } = await client.awaitConnections({ minConnected: members.length }, { timeoutMs })
await client.send({ messages: others.map(to => ({ destinations: [to], payload: new TextEncoder().encode(`${self}->${to}`) })) })
const received: SidecarReport['received'] = []
for await (const m of receiveMessages(client, { timeoutMs })) {
  received.push({ from: m.from, text: new TextDecoder().decode(m.payload) })
  if (received.length === others.length) break
}
const metrics = await (await fetch(`http://${values.metrics as string}/metrics`, { signal: AbortSignal.timeout(10_000) })).text()
const scrapedConnectedMembers = Number(/^mirnet_connected_members (\d+)$/m.exec(metrics)?.[1])
const report: SidecarReport = { health: statuses, withoutToken, scrapedConnectedMembers, connected, received }
process.stdout.write(JSON.stringify(report) + '\n')
// the HTTP/2 sessions would keep the process alive
process.exit(0)
