import { chmod, mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { IMAGE_MIRNET_COMMAND } from '../../src/deploy/constants.ts'
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap'
import type { IContainer } from 'kubernetes-models/v1/Container'
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec'
import type { ISecret } from 'kubernetes-models/v1/Secret'

/**
 * What kubelet does to a pod spec before a container runs, for playing a
 * StatefulSet's pods as local processes: environment variables (values and
 * the downward API), `$(VAR)` in command and args, and Secret, ConfigMap and
 * emptyDir volumes written to folders, with container paths rewritten to them.
 * Anything it does not know how to play is refused rather than skipped.
 */

/** The pod as kubelet knows it. */
export interface PodIdentity {
  name: string
  namespace: string
  ip: string
}

/**
 * kubelet's `$(VAR)` expansion: a defined variable is replaced, an undefined
 * one is left as written, `$$` is a literal `$`.
 */
export function expandVars (text: string, env: Record<string, string>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (match, name: string | undefined) => {
    if (name === undefined) return '$'
    return env[name] ?? match
  })
}

/** A container's environment: plain values and downward-API fields, in order (later ones may use earlier ones). */
export function containerEnv (container: IContainer, pod: PodIdentity): Record<string, string> {
  const env: Record<string, string> = {}
  for (const e of container.env ?? []) {
    if (e.value !== undefined) {
      env[e.name] = expandVars(e.value, env)
      continue
    }
    const field = e.valueFrom?.fieldRef?.fieldPath
    if (field === 'metadata.name') env[e.name] = pod.name
    else if (field === 'metadata.namespace') env[e.name] = pod.namespace
    else if (field === 'status.podIP') env[e.name] = pod.ip
    else throw new Error(`env ${e.name}: ${JSON.stringify(e.valueFrom)} is not played`)
  }
  if ((container.envFrom ?? []).length > 0) throw new Error(`container ${container.name}: envFrom is not played`)
  return env
}

/** The folder of each volume of a pod, filled as kubelet fills it. */
export async function materializeVolumes (spec: IPodSpec, objects: Array<ISecret | IConfigMap>, root: string): Promise<Map<string, string>> {
  const dirs = new Map<string, string>()
  for (const volume of spec.volumes ?? []) {
    const dir = join(root, 'volumes', volume.name)
    await mkdir(dir, { recursive: true })
    dirs.set(volume.name, dir)
    if (volume.emptyDir !== undefined) {
      await chmod(dir, 0o777)
    } else if (volume.secret !== undefined) {
      const secret = objects.find((o): o is ISecret => o.kind === 'Secret' && o.metadata?.name === volume.secret?.secretName)
      if (secret === undefined) throw new Error(`volume ${volume.name}: no Secret ${volume.secret.secretName}`)
      if (volume.secret.items !== undefined) throw new Error(`volume ${volume.name}: items are not played`)
      for (const [file, b64] of Object.entries(secret.data ?? {})) {
        await writeFile(join(dir, file), Buffer.from(b64, 'base64'), { mode: volume.secret.defaultMode ?? 0o644 })
        await chmod(join(dir, file), volume.secret.defaultMode ?? 0o644)
      }
    } else if (volume.configMap !== undefined) {
      const configMap = objects.find((o): o is IConfigMap => o.kind === 'ConfigMap' && o.metadata?.name === volume.configMap?.name)
      if (configMap === undefined) throw new Error(`volume ${volume.name}: no ConfigMap ${volume.configMap.name}`)
      if (volume.configMap.items !== undefined) throw new Error(`volume ${volume.name}: items are not played`)
      for (const [file, text] of Object.entries(configMap.data ?? {})) {
        await writeFile(join(dir, file), text, { mode: volume.configMap.defaultMode ?? 0o644 })
      }
    } else {
      throw new Error(`volume ${volume.name}: only emptyDir, secret and configMap are played`)
    }
  }
  return dirs
}

/** `path` inside the container, as a path to the volume folder it is mounted from (unchanged if no mount covers it). */
export function hostPath (container: IContainer, volumes: Map<string, string>, path: string): string {
  const mounts = [...(container.volumeMounts ?? [])].sort((a, b) => b.mountPath.length - a.mountPath.length)
  for (const mount of mounts) {
    if (path !== mount.mountPath && !path.startsWith(mount.mountPath + '/')) continue
    const dir = volumes.get(mount.name)
    if (dir === undefined) throw new Error(`container ${container.name}: mount ${mount.name} has no volume`)
    return dir + path.slice(mount.mountPath.length)
  }
  return path
}

/**
 * The `mirnet` arguments of a container whose command is the image's mirnet
 * command: the rest of the command, then the args, `$(VAR)`s expanded and
 * mounted paths rewritten to the volume folders.
 */
export function mirnetArgs (container: IContainer, env: Record<string, string>, volumes: Map<string, string>): string[] {
  const command = container.command ?? []
  if (IMAGE_MIRNET_COMMAND.some((part, i) => command[i] !== part)) {
    throw new Error(`container ${container.name}: command ${JSON.stringify(command)} does not start with the image's mirnet command`)
  }
  return [...command.slice(IMAGE_MIRNET_COMMAND.length), ...(container.args ?? [])]
    .map(a => hostPath(container, volumes, expandVars(a, env)))
}
