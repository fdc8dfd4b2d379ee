import { stat } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { parseAllDocuments } from 'yaml'
import { containerEnv, hostPath, materializeVolumes, mirnetArgs } from './helpers/kubelet.ts'
import { NetLab, netnsUnavailableReason } from './helpers/netns.ts'
import { Scratch, firstLine, mirnet, stop } from './helpers/processes.ts'
import type { ChildProcess } from 'node:child_process'
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet'
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap'
import type { IContainer } from 'kubernetes-models/v1/Container'
import type { ISecret } from 'kubernetes-models/v1/Secret'
import type { IService } from 'kubernetes-models/v1/Service'
import type { NetHost } from './helpers/netns.ts'
import type { Ready } from './helpers/processes.ts'
import type { SidecarReport } from './helpers/consensus-sidecar.ts'
import { describeWhereAvailable } from './helpers/requires.ts'

const SIDECAR = fileURLToPath(new URL('./helpers/consensus-sidecar.ts', import.meta.url))

const unavailable = netnsUnavailableReason()
const describeNetns = describeWhereAvailable('k8s-statefulset: StatefulSet play', unavailable)

type Manifest = IStatefulSet | IService | ISecret | IConfigMap

/** Wait for a child's exit; resolves with its code and what it printed. */
async function completion (child: ChildProcess): Promise<{ code: number | null, stdout: string, stderr: string }> {
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString() })
  const code = await new Promise<number | null>(resolve => child.once('exit', resolve))
  return { code, stdout, stderr }
}

/** The value following `flag` in a container's args. */
function arg (container: IContainer, flag: string): string {
  const args = container.args ?? []
  const i = args.indexOf(flag)
  if (i < 0) throw new Error(`container ${container.name} has no ${flag}`)
  return args[i + 1]
}

interface Pod {
  name: string
  host: NetHost
  volumes: Map<string, string>
  daemon?: ChildProcess
  ready?: Ready
}

describeNetns('a StatefulSet from `mirnet k8s`, played without a cluster', () => {
  const replicas = 3
  const namespace = 'play'
  const scratch = new Scratch()
  let lab: NetLab
  let objects: Manifest[]
  let sts: IStatefulSet
  let pods: Pod[]

  const container = (name: string, init = false): IContainer => {
    const spec = sts.spec?.template.spec
    const found = (init ? spec?.initContainers : spec?.containers)?.find(c => c.name === name)
    if (found === undefined) throw new Error(`the StatefulSet has no ${init ? 'init ' : ''}container ${name}`)
    return found
  }
  const dnsName = (pod: string): string => `${pod}.${sts.spec?.serviceName}.${namespace}.svc.cluster.local`

  beforeAll(async () => {
    const res = await mirnet(['k8s', '--replicas', String(replicas), '--namespace', namespace])
    expect(res).toMatchObject({ code: 0, stderr: '' })
    objects = parseAllDocuments(res.stdout).map(d => d.toJSON() as Manifest)
    sts = objects.find((o): o is IStatefulSet => o.kind === 'StatefulSet') as IStatefulSet

    lab = await NetLab.create()
    pods = []
    for (let i = 0; i < replicas; i++) {
      const name = `${sts.metadata?.name}-${i}`
      const host = await lab.addHost()
      const volumes = await materializeVolumes(sts.spec?.template.spec ?? { containers: [] }, objects.filter((o): o is ISecret | IConfigMap => o.kind === 'Secret' || o.kind === 'ConfigMap'), await scratch.dir())
      pods.push({ name, host, volumes })
    }
    // the headless Service's DNS records: each pod's stable name to its address
    const names = Object.fromEntries(pods.map(p => [dnsName(p.name), p.host.ip]))
    for (const pod of pods) await lab.setHosts(pod.host, names)
  }, 120_000)

  afterAll(async () => {
    await scratch.cleanup()
    await lab?.destroy()
  }, 60_000)

  it('runs each pod\'s init container: its own key, copied to a 0600 file', async () => {
    const init = container('install-key', true)
    await Promise.all(pods.map(async pod => {
      const env = containerEnv(init, { name: pod.name, namespace, ip: pod.host.ip })
      const args = mirnetArgs(init, env, pod.volumes)
      const done = await completion(scratch.spawn(args, env, lab.exec(pod.host)))
      expect(done).toMatchObject({ code: 0 })
      const keyFile = hostPath(init, pod.volumes, args[args.indexOf('--to') + 1])
      expect((await stat(keyFile)).mode & 0o777).toBe(0o600)
    }))
  }, 120_000)

  it('starts each pod\'s daemon with the manifest\'s env and args, as the pod\'s node id with its key', async () => {
    const main = container('mirnet')
    const keysSecret = objects.find((o): o is ISecret => o.kind === 'Secret' && o.metadata?.name?.endsWith('-keys') === true)
    await Promise.all(pods.map(async pod => {
      const env = containerEnv(main, { name: pod.name, namespace, ip: pod.host.ip })
      pod.daemon = scratch.spawn(mirnetArgs(main, env, pod.volumes), env, lab.exec(pod.host))
      pod.ready = await firstLine<Ready>(pod.daemon, 90_000)
    }))
    const membership = objects.find((o): o is IConfigMap => o.kind === 'ConfigMap')?.data?.['membership.json'] as string
    const { nodes } = JSON.parse(membership) as { nodes: Array<{ id: string, address: string }> }
    for (const pod of pods) {
      expect(pod.ready?.nodeId).toBe(pod.name)
      expect(Object.keys(keysSecret?.data ?? {})).toContain(`${pod.name}.key`)
      expect(nodes.find(n => n.id === pod.name)?.address).toBe(`/dns4/${dnsName(pod.name)}/tcp/${main.ports?.find(p => p.name === 'p2p')?.containerPort}/p2p/${pod.ready?.peerId}`)
    }
  }, 120_000)

  it('connects every member through the pods\' DNS names; each consensus sidecar, with the token, exchanges messages with all others over loopback', async () => {
    const main = container('mirnet')
    const api = main.ports?.find(p => p.name === 'api')?.containerPort
    const probeServices = [main.livenessProbe?.grpc?.service ?? '', main.readinessProbe?.grpc?.service ?? '']
    const members = pods.map(p => p.name)
    const reports = await Promise.all(pods.map(async pod => {
      const child = scratch.spawnCommand(lab.exec(pod.host)[0], [
        ...lab.exec(pod.host).slice(1), process.execPath, SIDECAR,
        // the sidecar mounts the token Secret as the daemon does
        '--api', `127.0.0.1:${api}`, '--token-file', hostPath(main, pod.volumes, arg(main, '--api-token-file')),
        '--self', pod.name, '--members', members.join(','),
        // kubelet probes the pod IP
        '--probe', `${pod.host.ip}:${main.livenessProbe?.grpc?.port}`, '--probe-services', probeServices.join(','),
        '--metrics', `${pod.host.ip}:${sts.spec?.template.metadata?.annotations?.['prometheus.io/port']}`,
        '--timeout-ms', '90000'
      ])
      const done = await completion(child)
      expect(done).toMatchObject({ code: 0 })
      return { pod, report: JSON.parse(done.stdout) as SidecarReport }
    }))
    for (const { pod, report } of reports) {
      expect(report.health).toEqual(Object.fromEntries(probeServices.map(s => [s, 'SERVING'])))
      expect(report.withoutToken).toBe('Unauthenticated')
      expect(report.scrapedConnectedMembers).toBe(replicas)
      expect(report.connected).toBe(replicas)
      const others = members.filter(m => m !== pod.name)
      expect(report.received.sort((a, b) => a.from.localeCompare(b.from))).toEqual(others.map(o => ({ from: o, text: `${o}->${pod.name}` })))
    }
  }, 180_000)

  it('stops every daemon with exit code 0 on SIGTERM, as kubelet stops a pod', async () => {
    const codes = await Promise.all(pods.map(async pod => await stop(pod.daemon as ChildProcess)))
    expect(codes).toEqual(pods.map(() => 0))
  }, 60_000)
})
