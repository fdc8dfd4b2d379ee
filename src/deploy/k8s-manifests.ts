import { StatefulSet } from 'kubernetes-models/apps/v1'
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1'
import { ConfigMap, Secret, Service } from 'kubernetes-models/v1'
import { TransportService } from '../../gen/ts/mirnet/v1/transport_pb.ts'
import { keyFileBytes, peerIdOf } from '../transports/libp2p/keys.ts'
import { DAEMON_TRANSPORTS } from '../daemon/transport-names.ts'
import { API_PORT, IMAGE_GID, IMAGE_MIRNET_COMMAND, IMAGE_UID, METRICS_PORT, TRANSPORT_PORTS } from './constants.ts'
import { checkDnsLabel, K8S_PATHS, keyFileName, k8sNames, ManifestInputError } from './k8s-names.ts'
import type { PrivateKey } from '@libp2p/interface'
import type { IContainer } from 'kubernetes-models/v1/Container'
import type { ISecurityContext } from 'kubernetes-models/v1/SecurityContext'
import type { MemberSpec } from '../core/membership.ts'
import type { DaemonTransport } from '../daemon/transport-names.ts'

/** A built object that the Kubernetes API schema rejects (a bug in the builder). */
export class ManifestSchemaError extends Error {
  override name = 'ManifestSchemaError'
}

export interface K8sManifestOptions {
  /** Namespace of every object; a DNS-1123 label. */
  namespace: string
  /** Pods of the StatefulSet, each one member. */
  replicas: number
  /** Container image holding mirnet (the Dockerfile's or `npm run image`'s layout). */
  image: string
  /**
   * Name of the StatefulSet and its Services; pods are NAME-0 … NAME-(N-1).
   * @default 'mirnet'
   */
  name?: string
  /**
   * The transports every pod runs, each on its own port (TRANSPORT_PORTS);
   * the membership lists every pod at its address of the first.
   * @default ['libp2p']
   */
  transports?: readonly DaemonTransport[]
}

/** The secrets of one deployment: a libp2p key per replica, and the API token. */
export interface K8sIdentity {
  keys: PrivateKey[]
  apiToken: string
}

/** A Kubernetes object from kubernetes-models: `validate()` checks it against the API schema. */
export interface K8sObject {
  kind: string
  validate: () => void
  toJSON: () => unknown
}

function resolve (options: K8sManifestOptions): Required<K8sManifestOptions> {
  const name = options.name ?? 'mirnet'
  const transports = options.transports ?? ['libp2p']
  if (transports.length === 0) throw new ManifestInputError('transports must name at least one of libp2p, tls, grpc')
  for (const [i, t] of transports.entries()) {
    if (!DAEMON_TRANSPORTS.includes(t)) throw new ManifestInputError(`transport "${t}" is none of ${DAEMON_TRANSPORTS.join(', ')}`)
    if (transports.indexOf(t) !== i) throw new ManifestInputError(`transport "${t}" is named twice`)
  }
  checkDnsLabel('namespace', options.namespace)
  // the pod name NAME-<ordinal> must stay a label too, and the StatefulSet adds a hash label of the name
  checkDnsLabel('name', name, 52)
  if (!Number.isSafeInteger(options.replicas) || options.replicas < 1) {
    throw new ManifestInputError(`replicas must be a positive integer, got ${options.replicas}`)
  }
  if (options.image.trim() === '' || /\s/.test(options.image)) {
    throw new ManifestInputError(`image "${options.image}" is not an image reference`)
  }
  return { ...options, name, transports }
}

/** Where a pod runs `transport`: all interfaces, the transport's port, in its address form. */
function listenAddress (transport: DaemonTransport): string {
  return `/ip4/0.0.0.0/tcp/${TRANSPORT_PORTS[transport].port}${ADDRESS_SUFFIX[transport]}`
}

/** What follows `/tcp/<port>` in an address of each transport (src/transports/multi/address-form.ts). */
const ADDRESS_SUFFIX: Readonly<Record<DaemonTransport, string>> = { libp2p: '', tls: '/tls', grpc: '/tls/http' }

/** Pod NAME-i's stable DNS name through the headless Service. */
export function podDnsName (options: K8sManifestOptions, ordinal: number): string {
  const { name, namespace } = resolve(options)
  return `${name}-${ordinal}.${k8sNames(name).headlessService}.${namespace}.svc.cluster.local`
}

/**
 * The membership every pod applies at start: node id = pod name, address =
 * its stable DNS name, at the port and in the form of the first transport.
 */
export function k8sMembership (options: K8sManifestOptions, peerIds: string[]): MemberSpec[] {
  const { name, replicas, transports: [first] } = resolve(options)
  if (peerIds.length !== replicas) throw new ManifestInputError(`${replicas} replicas need ${replicas} peer ids, got ${peerIds.length}`)
  return peerIds.map((peerId, i) => ({
    id: `${name}-${i}`,
    address: `/dns4/${podDnsName(options, i)}/tcp/${TRANSPORT_PORTS[first].port}${ADDRESS_SUFFIX[first]}/p2p/${peerId}`
  }))
}

const base64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64')

/**
 * The objects that hold the deployment's secrets and membership: the keys
 * Secret (one key per pod), the API token Secret, and the membership
 * ConfigMap naming each pod's peer id.
 */
export function buildIdentity (options: K8sManifestOptions, identity: K8sIdentity): K8sObject[] {
  const { name, namespace, replicas } = resolve(options)
  const names = k8sNames(name)
  if (identity.keys.length !== replicas) throw new ManifestInputError(`${replicas} replicas need ${replicas} keys, got ${identity.keys.length}`)
  if (identity.apiToken.length < 16) throw new ManifestInputError('the API token must have at least 16 characters')
  const labels = commonLabels(name)
  const keys = new Secret({
    metadata: { name: names.keysSecret, namespace, labels },
    type: 'Opaque',
    data: Object.fromEntries(identity.keys.map((key, i) => [keyFileName(`${name}-${i}`), base64(keyFileBytes(key))]))
  })
  const token = new Secret({
    metadata: { name: names.apiTokenSecret, namespace, labels },
    type: 'Opaque',
    data: { token: base64(new TextEncoder().encode(identity.apiToken)) }
  })
  const membership = new ConfigMap({
    metadata: { name: names.membershipConfigMap, namespace, labels },
    data: { 'membership.json': JSON.stringify({ nodes: k8sMembership(options, identity.keys.map(peerIdOf)) }, null, 2) + '\n' }
  })
  return [keys, token, membership]
}

function commonLabels (name: string): Record<string, string> {
  return { 'app.kubernetes.io/name': 'mirnet', 'app.kubernetes.io/instance': name }
}

/**
 * The objects that do not depend on the keys: the headless Service (stable
 * DNS names, published before the pods are ready so members can dial each
 * other while they start), the API Service, the StatefulSet and its
 * PodDisruptionBudget.
 */
export function buildWorkload (options: K8sManifestOptions): K8sObject[] {
  const { name, namespace, replicas, image, transports } = resolve(options)
  const names = k8sNames(name)
  const transportPorts = transports.map(t => TRANSPORT_PORTS[t])
  const selector = commonLabels(name)
  const labels = { ...selector, 'app.kubernetes.io/component': 'transport' }

  const headless = new Service({
    metadata: { name: names.headlessService, namespace, labels },
    spec: {
      clusterIP: 'None',
      publishNotReadyAddresses: true,
      selector,
      ports: [
        ...transportPorts.map(({ name, port }) => ({ name, port, targetPort: name, protocol: 'TCP' as const })),
        { name: 'api', port: API_PORT, targetPort: 'api', protocol: 'TCP' },
        { name: 'metrics', port: METRICS_PORT, targetPort: 'metrics', protocol: 'TCP' }
      ]
    }
  })

  // For tools (status, health) inside the cluster. A consensus node talks to its
  // own daemon: over loopback as a sidecar, or by the pod's stable DNS name.
  const api = new Service({
    metadata: { name: names.apiService, namespace, labels },
    spec: {
      type: 'ClusterIP',
      selector,
      ports: [{ name: 'api', port: API_PORT, targetPort: 'api', protocol: 'TCP', appProtocol: 'kubernetes.io/h2c' }]
    }
  })

  const containerSecurity: ISecurityContext = {
    runAsNonRoot: true,
    runAsUser: IMAGE_UID,
    runAsGroup: IMAGE_GID,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] }
  }
  const nodeIdEnv = { name: 'MIRNET_NODE_ID', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }

  // Kubernetes makes Secret files root-owned and group-readable (fsGroup), which
  // the key file check refuses. Rather than turning the check off, an init
  // container copies this pod's own key (validating it) into a memory-backed
  // emptyDir as a 0600 file owned by the mirnet user; the daemon reads it there
  // with the check on, and never sees the other pods' keys.
  const installKey: IContainer = {
    name: 'install-key',
    image,
    command: [...IMAGE_MIRNET_COMMAND, 'install-key'],
    args: ['--from', `${K8S_PATHS.keysDir}/${keyFileName('$(MIRNET_NODE_ID)')}`, '--to', K8S_PATHS.keyFile],
    env: [nodeIdEnv],
    securityContext: containerSecurity,
    // loading the CLI takes ~150 MB resident
    resources: { requests: { cpu: '50m', memory: '192Mi' }, limits: { cpu: '1', memory: '256Mi' } },
    volumeMounts: [
      { name: 'keys', mountPath: K8S_PATHS.keysDir, readOnly: true },
      { name: 'key', mountPath: K8S_PATHS.keyDir }
    ]
  }

  const mirnet: IContainer = {
    name: 'mirnet',
    image,
    command: [...IMAGE_MIRNET_COMMAND, 'serve'],
    args: [
      '--key-file', K8S_PATHS.keyFile,
      '--membership', K8S_PATHS.membershipFile,
      '--transport', transports.join(','),
      ...transports.flatMap(t => ['--listen', listenAddress(t)]),
      // all interfaces: kubelet's gRPC probes come to the pod IP (grpc.health.v1
      // answers without the token); every other call needs the token
      '--api', `0.0.0.0:${API_PORT}`,
      '--api-token-file', K8S_PATHS.apiTokenFile,
      // The token is shared on purpose with the pod's consensus container(s),
      // which mount the same Secret and may run as another user: kubelet makes
      // its files readable by the pod's fsGroup, and only the pod's containers
      // are in that group. (The libp2p key is the daemon's alone: it gets the
      // 0600 copy above.)
      '--allow-insecure-api-token-file',
      // counters only, for Prometheus at the pod IP
      '--metrics', `0.0.0.0:${METRICS_PORT}`
    ],
    env: [
      nodeIdEnv,
      { name: 'MIRNET_LOG_LEVEL', value: 'info' }
    ],
    ports: [
      ...transportPorts.map(({ name, port }) => ({ name, containerPort: port, protocol: 'TCP' as const })),
      { name: 'api', containerPort: API_PORT, protocol: 'TCP' },
      { name: 'metrics', containerPort: METRICS_PORT, protocol: 'TCP' }
    ],
    // gRPC probes take a port number, not a name
    startupProbe: { grpc: { port: API_PORT, service: '' }, periodSeconds: 2, failureThreshold: 30 },
    livenessProbe: { grpc: { port: API_PORT, service: '' }, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 },
    readinessProbe: { grpc: { port: API_PORT, service: TransportService.typeName }, periodSeconds: 5, timeoutSeconds: 5, failureThreshold: 2 },
    resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { cpu: '2', memory: '1Gi' } },
    securityContext: containerSecurity,
    volumeMounts: [
      { name: 'key', mountPath: K8S_PATHS.keyDir, readOnly: true },
      { name: 'membership', mountPath: K8S_PATHS.membershipDir, readOnly: true },
      { name: 'api-token', mountPath: K8S_PATHS.apiTokenDir, readOnly: true }
    ]
  }

  const statefulSet = new StatefulSet({
    metadata: { name: names.statefulSet, namespace, labels },
    spec: {
      serviceName: names.headlessService,
      replicas,
      // members do not wait for each other: the daemons reconnect until all are up
      podManagementPolicy: 'Parallel',
      updateStrategy: { type: 'RollingUpdate' },
      selector: { matchLabels: selector },
      template: {
        metadata: {
          labels,
          annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(METRICS_PORT), 'prometheus.io/path': '/metrics' }
        },
        spec: {
          // no MIRNET_*_SERVICE_* variables from the Services: MIRNET_ is the daemon's prefix
          enableServiceLinks: false,
          automountServiceAccountToken: false,
          terminationGracePeriodSeconds: 30,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: IMAGE_UID,
            runAsGroup: IMAGE_GID,
            fsGroup: IMAGE_GID,
            seccompProfile: { type: 'RuntimeDefault' }
          },
          affinity: {
            podAntiAffinity: {
              preferredDuringSchedulingIgnoredDuringExecution: [{
                weight: 100,
                podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: selector } }
              }]
            }
          },
          initContainers: [installKey],
          containers: [mirnet],
          volumes: [
            { name: 'keys', secret: { secretName: names.keysSecret, defaultMode: 0o440 } },
            { name: 'key', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } },
            { name: 'membership', configMap: { name: names.membershipConfigMap } },
            { name: 'api-token', secret: { secretName: names.apiTokenSecret, defaultMode: 0o440 } }
          ]
        }
      }
    }
  })

  // voluntary disruptions (drains, upgrades) take one member at a time
  const pdb = new PodDisruptionBudget({
    metadata: { name: names.podDisruptionBudget, namespace, labels },
    spec: { maxUnavailable: 1, selector: { matchLabels: selector } }
  })

  return [headless, api, statefulSet, pdb]
}

/** Every object of a deployment, validated against the Kubernetes API schema. */
export function buildManifests (options: K8sManifestOptions, identity: K8sIdentity): K8sObject[] {
  return validated([...buildIdentity(options, identity), ...buildWorkload(options)])
}

/** `objects`, after `validate()` passed on each; throws the schema's error naming the object otherwise. */
export function validated (objects: K8sObject[]): K8sObject[] {
  for (const object of objects) {
    try {
      object.validate()
    } catch (err) {
      throw new ManifestSchemaError(`${object.kind} does not match the Kubernetes schema: ${(err as Error).message}`)
    }
  }
  return objects
}
