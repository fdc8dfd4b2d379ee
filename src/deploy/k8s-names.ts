/**
 * Names, paths and checks of the Kubernetes deployment that need no
 * Kubernetes models (the CLI checks its arguments with them before loading
 * kubernetes-models).
 */

/** An argument the manifests cannot be built from. */
export class ManifestInputError extends Error {
  override name = 'ManifestInputError'
}

/** Mount paths and file names inside the pod. */
export const K8S_PATHS = {
  /** The keys Secret, mounted into the init container only. */
  keysDir: '/etc/mirnet/keys',
  /** The memory-backed emptyDir that holds this pod's own key. */
  keyDir: '/run/mirnet/key',
  keyFile: '/run/mirnet/key/node.key',
  membershipDir: '/etc/mirnet/membership',
  membershipFile: '/etc/mirnet/membership/membership.json',
  apiTokenDir: '/etc/mirnet/api-token',
  apiTokenFile: '/etc/mirnet/api-token/token'
} as const

/** The names of the objects of one deployment. */
export interface K8sNames {
  statefulSet: string
  /** The headless Service: the pods' stable DNS names are POD.HEADLESS.NAMESPACE.svc.cluster.local. */
  headlessService: string
  apiService: string
  podDisruptionBudget: string
  keysSecret: string
  apiTokenSecret: string
  membershipConfigMap: string
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/

/** Throws ManifestInputError unless `value` is a DNS-1123 label (lowercase letters, digits, '-'; at most `max` characters). */
export function checkDnsLabel (what: string, value: string, max = 63): string {
  if (value.length > max || !DNS1123_LABEL.test(value)) {
    throw new ManifestInputError(`${what} "${value}" is not a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit, at most ${max} characters`)
  }
  return value
}

export function k8sNames (name = 'mirnet'): K8sNames {
  return {
    statefulSet: name,
    headlessService: name,
    apiService: `${name}-api`,
    podDisruptionBudget: name,
    keysSecret: `${name}-keys`,
    apiTokenSecret: `${name}-api-token`,
    membershipConfigMap: `${name}-membership`
  }
}

/** The Secret key of replica i's libp2p key. */
export function keyFileName (podName: string): string {
  return `${podName}.key`
}
