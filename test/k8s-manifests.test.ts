import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { beforeAll, describe, expect, it } from '@jest/globals'
import { privateKeyFromProtobuf } from '@libp2p/crypto/keys'
import { StatefulSet } from 'kubernetes-models/apps/v1'
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1'
import { ConfigMap, Secret, Service } from 'kubernetes-models/v1'
import { parseAllDocuments } from 'yaml'
import { TransportService } from '../gen/ts/mirnet/v1/transport_pb.ts'
import { IMAGE_MIRNET_COMMAND } from '../src/deploy/constants.ts'
import { buildWorkload, validated } from '../src/deploy/k8s-manifests.ts'
import { peerIdOf } from '../src/transports/libp2p/keys.ts'
import { mirnet } from './helpers/processes.ts'
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet'
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget'
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap'
import type { IContainer } from 'kubernetes-models/v1/Container'
import type { ISecret } from 'kubernetes-models/v1/Secret'
import type { IService } from 'kubernetes-models/v1/Service'

type Manifest = IStatefulSet | IService | ISecret | IConfigMap | IPodDisruptionBudget

async function k8s (args: string[]): Promise<Manifest[]> {
  const res = await mirnet(['k8s', ...args])
  expect(res).toMatchObject({ code: 0, stderr: '' })
  return parseAllDocuments(res.stdout).map(doc => {
    expect(doc.errors).toEqual([])
    return doc.toJSON() as Manifest
  })
}

const ofKind = <K extends Manifest['kind']>(objects: Manifest[], kind: K): Array<Extract<Manifest, { kind: K }>> =>
  objects.filter((o): o is Extract<Manifest, { kind: K }> => o.kind === kind)

/** `selector` selects pods labelled `labels`. */
function selects (selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  const entries = Object.entries(selector ?? {})
  return entries.length > 0 && entries.every(([k, v]) => labels?.[k] === v)
}

/** The value following `flag` in a container's args. */
function arg (container: IContainer, flag: string): string | undefined {
  const args = container.args ?? []
  const i = args.indexOf(flag)
  return i < 0 ? undefined : args[i + 1]
}

describe('mirnet k8s', () => {
  describe('for 3 replicas in namespace "consensus"', () => {
    let objects: Manifest[]
    let sts: IStatefulSet
    let services: IService[]
    let mirnetContainer: IContainer
    let installKey: IContainer

    beforeAll(async () => {
      objects = await k8s(['--replicas', '3', '--namespace', 'consensus', '--image', 'registry.example/mirnet:1'])
      sts = ofKind(objects, 'StatefulSet')[0]
      services = ofKind(objects, 'Service')
      mirnetContainer = sts.spec?.template.spec?.containers.find(c => c.name === 'mirnet') as IContainer
      installKey = sts.spec?.template.spec?.initContainers?.find(c => c.name === 'install-key') as IContainer
    })

    it('prints the Secrets, the membership ConfigMap, two Services, the StatefulSet and a PodDisruptionBudget, all in the namespace', () => {
      expect(objects.map(o => o.kind).sort()).toEqual(['ConfigMap', 'PodDisruptionBudget', 'Secret', 'Secret', 'Service', 'Service', 'StatefulSet'])
      for (const o of objects) expect(o.metadata?.namespace).toBe('consensus')
      expect(sts.spec?.replicas).toBe(3)
      for (const c of [mirnetContainer, installKey]) expect(c.image).toBe('registry.example/mirnet:1')
    })

    it('passes the Kubernetes schema (validate() on each object, read back from the YAML)', () => {
      const models = objects.map(o => {
        const { apiVersion: _a, kind: _k, ...data } = o as unknown as Record<string, unknown>
        switch (o.kind) {
          case 'StatefulSet': return new StatefulSet(data as never)
          case 'Service': return new Service(data as never)
          case 'Secret': return new Secret(data as never)
          case 'ConfigMap': return new ConfigMap(data as never)
          case 'PodDisruptionBudget': return new PodDisruptionBudget(data as never)
        }
        throw new Error(`unexpected kind ${(o as Manifest).kind}`)
      })
      expect(() => validated(models)).not.toThrow()
    })

    it('validate() is a real check: a replica count of the wrong type is refused', () => {
      const [, , statefulSet] = buildWorkload({ namespace: 'consensus', replicas: 3, image: 'x' }) as [unknown, unknown, StatefulSet]
      ;(statefulSet.spec as { replicas: unknown }).replicas = '3'
      expect(() => validated([statefulSet])).toThrow(expect.objectContaining({ name: 'ManifestSchemaError' }))
    })

    it('names the headless Service as the StatefulSet\'s serviceName, published before the pods are ready', () => {
      const headless = services.find(s => s.metadata?.name === sts.spec?.serviceName)
      expect(headless?.spec?.clusterIP).toBe('None')
      expect(headless?.spec?.publishNotReadyAddresses).toBe(true)
    })

    it('selects the pods of the template with the StatefulSet, both Services, the PodDisruptionBudget and the anti-affinity', () => {
      const labels = sts.spec?.template.metadata?.labels
      expect(selects(sts.spec?.selector.matchLabels, labels)).toBe(true)
      expect(services).toHaveLength(2)
      for (const s of services) expect(selects(s.spec?.selector, labels)).toBe(true)
      const pdb = ofKind(objects, 'PodDisruptionBudget')[0]
      expect(selects(pdb.spec?.selector?.matchLabels, labels)).toBe(true)
      const term = sts.spec?.template.spec?.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution?.[0]
      expect(selects(term?.podAffinityTerm.labelSelector?.matchLabels, labels)).toBe(true)
    })

    it('agrees on named ports between the container, the Services, the probes and the listen addresses', () => {
      const ports = new Map((mirnetContainer.ports ?? []).map(p => [p.name, p.containerPort]))
      expect([...ports.keys()].sort()).toEqual(['api', 'metrics', 'p2p'])
      for (const s of services) {
        for (const p of s.spec?.ports ?? []) {
          expect(typeof p.targetPort).toBe('string')
          expect(ports.get(p.targetPort as string)).toBe(p.port)
          expect(p.name).toBe(p.targetPort)
        }
      }
      // gRPC probes take a number: it must be the API's
      for (const probe of [mirnetContainer.livenessProbe, mirnetContainer.readinessProbe, mirnetContainer.startupProbe]) {
        expect(probe?.grpc?.port).toBe(ports.get('api'))
      }
      expect(mirnetContainer.readinessProbe?.grpc?.service).toBe(TransportService.typeName)
      expect(arg(mirnetContainer, '--listen')).toBe(`/ip4/0.0.0.0/tcp/${ports.get('p2p')}`)
      // all interfaces: kubelet probes the pod IP, Prometheus scrapes it
      expect(arg(mirnetContainer, '--api')).toBe(`0.0.0.0:${ports.get('api')}`)
      expect(arg(mirnetContainer, '--metrics')).toBe(`0.0.0.0:${ports.get('metrics')}`)
      expect(sts.spec?.template.metadata?.annotations?.['prometheus.io/port']).toBe(String(ports.get('metrics')))
    })

    it('lists exactly the replicas in the membership, each at its stable DNS name with the peer id of its key in the Secret', () => {
      const configMap = ofKind(objects, 'ConfigMap')[0]
      const keysVolume = sts.spec?.template.spec?.volumes?.find(v => v.secret !== undefined && installKey.volumeMounts?.some(m => m.name === v.name))
      const keysSecret = ofKind(objects, 'Secret').find(s => s.metadata?.name === keysVolume?.secret?.secretName)
      expect(Object.keys(keysSecret?.data ?? {}).sort()).toEqual(['mirnet-0.key', 'mirnet-1.key', 'mirnet-2.key'])
      const peerIds = Object.fromEntries(Object.entries(keysSecret?.data ?? {}).map(([file, b64]) =>
        [file.replace(/\.key$/, ''), peerIdOf(privateKeyFromProtobuf(Buffer.from(b64, 'base64')))]))
      expect(new Set(Object.values(peerIds)).size).toBe(3)

      const membershipFile = arg(mirnetContainer, '--membership') as string
      const mount = mirnetContainer.volumeMounts?.find(m => membershipFile.startsWith(m.mountPath + '/'))
      const volume = sts.spec?.template.spec?.volumes?.find(v => v.name === mount?.name)
      expect(volume?.configMap?.name).toBe(configMap.metadata?.name)
      const json = configMap.data?.[membershipFile.slice((mount?.mountPath.length ?? 0) + 1)] as string
      const { nodes } = JSON.parse(json) as { nodes: Array<{ id: string, address: string }> }
      const p2p = mirnetContainer.ports?.find(p => p.name === 'p2p')?.containerPort
      expect(nodes).toEqual([0, 1, 2].map(i => ({
        id: `${sts.metadata?.name}-${i}`,
        address: `/dns4/${sts.metadata?.name}-${i}.${sts.spec?.serviceName}.consensus.svc.cluster.local/tcp/${p2p}/p2p/${peerIds[`${sts.metadata?.name}-${i}`]}`
      })))
    })

    it('makes the node id the pod name, and gives each pod its own key through the init container', () => {
      for (const c of [mirnetContainer, installKey]) {
        expect(c.env?.find(e => e.name === 'MIRNET_NODE_ID')?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.name')
      }
      expect(installKey.command).toEqual([...IMAGE_MIRNET_COMMAND, 'install-key'])
      expect(mirnetContainer.command).toEqual([...IMAGE_MIRNET_COMMAND, 'serve'])
      expect(arg(installKey, '--from')).toMatch(/\/\$\(MIRNET_NODE_ID\)\.key$/)
      expect(arg(installKey, '--to')).toBe(arg(mirnetContainer, '--key-file'))
      // the keys Secret reaches the init container only; the daemon sees its own key, read-only
      const keyFile = arg(mirnetContainer, '--key-file') as string
      const keyMount = mirnetContainer.volumeMounts?.find(m => keyFile.startsWith(m.mountPath + '/'))
      expect(keyMount?.readOnly).toBe(true)
      const keyVolume = sts.spec?.template.spec?.volumes?.find(v => v.name === keyMount?.name)
      expect(keyVolume?.emptyDir?.medium).toBe('Memory')
      const secretVolumes = new Set(sts.spec?.template.spec?.volumes?.filter(v => v.secret !== undefined).map(v => v.name))
      const keysVolume = installKey.volumeMounts?.find(m => secretVolumes.has(m.name))?.name
      expect(mirnetContainer.volumeMounts?.some(m => m.name === keysVolume)).toBe(false)
      expect(mirnetContainer.args).not.toContain('--allow-insecure-key-file')
    })

    it('requires the API token from the token Secret, mounted where --api-token-file reads it', () => {
      const tokenFile = arg(mirnetContainer, '--api-token-file') as string
      const mount = mirnetContainer.volumeMounts?.find(m => tokenFile.startsWith(m.mountPath + '/'))
      const volume = sts.spec?.template.spec?.volumes?.find(v => v.name === mount?.name)
      const secret = ofKind(objects, 'Secret').find(s => s.metadata?.name === volume?.secret?.secretName)
      const token = Buffer.from(secret?.data?.[tokenFile.slice((mount?.mountPath.length ?? 0) + 1)] ?? '', 'base64').toString()
      expect(token).toMatch(/^[\w-]{43}$/)
      expect(mirnetContainer.args).not.toContain('--api-allow-remote')
    })

    it('mounts only volumes that exist, from objects it prints', () => {
      const volumes = new Map((sts.spec?.template.spec?.volumes ?? []).map(v => [v.name, v]))
      const names = new Set(objects.map(o => `${o.kind}/${o.metadata?.name}`))
      for (const c of [mirnetContainer, installKey]) {
        for (const m of c.volumeMounts ?? []) expect(volumes.has(m.name)).toBe(true)
      }
      for (const v of volumes.values()) {
        if (v.secret !== undefined) expect(names.has(`Secret/${v.secret.secretName}`)).toBe(true)
        if (v.configMap !== undefined) expect(names.has(`ConfigMap/${v.configMap.name}`)).toBe(true)
      }
    })

    it('runs as a non-root user on a read-only root filesystem, with limits', () => {
      const pod = sts.spec?.template.spec
      expect(pod?.securityContext?.runAsNonRoot).toBe(true)
      expect(pod?.securityContext?.runAsUser).toBeGreaterThan(0)
      expect(pod?.enableServiceLinks).toBe(false)
      for (const c of [mirnetContainer, installKey]) {
        expect(c.securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } })
        expect(c.resources?.requests).toEqual(expect.objectContaining({ cpu: expect.any(String), memory: expect.any(String) }))
        expect(c.resources?.limits).toEqual(expect.objectContaining({ memory: expect.any(String) }))
      }
    })
  })

  it('makes fresh keys on every run', async () => {
    const keysOf = async (): Promise<Record<string, string> | undefined> =>
      ofKind(await k8s(['--replicas', '2', '--namespace', 'a', '--part', 'identity']), 'Secret').find(s => s.metadata?.name === 'mirnet-keys')?.data
    const [first, second] = [await keysOf(), await keysOf()]
    expect(Object.keys(first ?? {})).toEqual(['mirnet-0.key', 'mirnet-1.key'])
    expect(first?.['mirnet-0.key']).not.toBe(second?.['mirnet-0.key'])
  })

  it('prints the workload without any secret, and the identity without the workload', async () => {
    expect((await k8s(['--replicas', '2', '--namespace', 'a', '--part', 'workload'])).map(o => o.kind).sort())
      .toEqual(['PodDisruptionBudget', 'Service', 'Service', 'StatefulSet'])
    expect((await k8s(['--replicas', '2', '--namespace', 'a', '--part', 'identity'])).map(o => o.kind).sort())
      .toEqual(['ConfigMap', 'Secret', 'Secret'])
  })

  it('deploy/k8s/mirnet.yaml is the current workload for 3 replicas in namespace "mirnet"', async () => {
    const committed = await readFile(fileURLToPath(new URL('../deploy/k8s/mirnet.yaml', import.meta.url)), 'utf8')
    const res = await mirnet(['k8s', '--replicas', '3', '--namespace', 'mirnet', '--part', 'workload'])
    expect(committed).toBe(res.stdout)
  })

  it.each([
    [['--namespace', 'a'], /required option '--replicas <n>' not specified/],
    [['--replicas', '3'], /required option '--namespace <ns>' not specified/],
    [['--replicas', '0', '--namespace', 'a'], /--replicas.*expected a positive integer, got "0"/],
    [['--replicas', 'three', '--namespace', 'a'], /--replicas.*expected a positive integer, got "three"/],
    [['--replicas', '3', '--namespace', 'My_NS'], /--namespace.*namespace "My_NS" is not a DNS-1123 label/],
    [['--replicas', '3', '--namespace', 'a', '--name', 'x'.repeat(53)], /--name.*is not a DNS-1123 label.*at most 52 characters/],
    [['--replicas', '3', '--namespace', 'a', '--part', 'keys'], /--part.*Allowed choices are all, workload, identity/],
    [['--replicas', '3', '--namespace', 'a', '--image', ''], /image "" is not an image reference/]
  ])('refuses %j with a clear error and no output', async (args, message) => {
    const res = await mirnet(['k8s', ...args])
    expect(res.code).toBe(1)
    expect(res.stdout).toBe('')
    expect(res.stderr).toMatch(message)
  })
})
