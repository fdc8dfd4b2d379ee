import { chmod, chown, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { createClient } from '@connectrpc/connect'
import { createGrpcTransport } from '@connectrpc/connect-node'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { Health, HealthCheckResponse_ServingStatus } from '../gen/ts/grpc/health/v1/health_pb.ts'
import {
  IMAGE_APP_DIR, IMAGE_EXPOSED_PORTS, IMAGE_GID, IMAGE_MIRNET_COMMAND, IMAGE_NODE_PATH, IMAGE_STATE_DIR, IMAGE_UID
} from '../src/deploy/constants.ts'
import { generateKey, peerIdOf, writeKeyFile } from '../src/transports/libp2p/keys.ts'
import { podmanUnavailableReason } from './helpers/podman.ts'
import { Scratch, firstLine, freePort, run } from './helpers/processes.ts'
import type { Ready, RunResult } from './helpers/processes.ts'
import { describeWhereAvailable } from './helpers/requires.ts'

const ROOT = fileURLToPath(new URL('../', import.meta.url))
const NPM_IMAGE = ['npm', 'run', '--silent', 'image', '--']

describe('Dockerfile', () => {
  // it cannot be built here (no base image to pull): it must at least agree with the scratch image
  let lines: string[]
  beforeAll(async () => {
    lines = (await readFile(join(ROOT, 'Dockerfile'), 'utf8')).split('\n').filter(l => !l.startsWith('#'))
  })
  const instruction = (name: string): string[] => lines.filter(l => l.startsWith(`${name} `)).map(l => l.slice(name.length + 1).trim())

  it('runs `mirnet serve` from a Node 24 slim base as the image user, exposing the port of each transport, the API and the metrics', () => {
    expect(instruction('FROM').every(f => f.startsWith('node:24-slim'))).toBe(true)
    expect(instruction('ENTRYPOINT')).toEqual(['["mirnet", "serve"]'])
    expect(instruction('USER')).toEqual([`${IMAGE_UID}:${IMAGE_GID}`])
    expect(instruction('EXPOSE')).toEqual([IMAGE_EXPOSED_PORTS.join(' ')])
    expect(IMAGE_EXPOSED_PORTS).toEqual(['4001/tcp', '4002/tcp', '4003/tcp', '7070/tcp', '9464/tcp'])
    expect(instruction('WORKDIR')).toContain(IMAGE_APP_DIR)
    expect(lines.join('\n')).toContain(`MIRNET_STATE_DIR=${IMAGE_STATE_DIR}`)
  })
})

const unavailable = await podmanUnavailableReason()
// CI installs podman and sets MIRNET_REQUIRE_PODMAN=1: there a missing podman fails the suite
if (unavailable !== undefined && process.env.MIRNET_REQUIRE_PODMAN === '1') throw new Error(`MIRNET_REQUIRE_PODMAN=1 but ${unavailable}`)
const describePodman = describeWhereAvailable('image: container image tests', unavailable)

describePodman('npm run image', () => {
  const scratch = new Scratch()
  const tag = `localhost/mirnet-test-${randomBytes(4).toString('hex')}:1`
  let env: Record<string, string>
  let built: RunResult
  let buildSeconds: number

  const podman = async (args: string[], timeoutMs = 120_000): Promise<RunResult> => await run('podman', args, { env, timeoutMs })

  beforeAll(async () => {
    const storage = await scratch.dir()
    env = { CONTAINERS_STORAGE_CONF: join(storage, 'storage.conf'), CONTAINERS_CONF: join(storage, 'containers.conf') }
    const started = Date.now()
    built = await run(NPM_IMAGE[0], [...NPM_IMAGE.slice(1), '--tag', tag, '--storage', storage], { timeoutMs: 600_000 })
    buildSeconds = (Date.now() - started) / 1000
    process.stdout.write(`image: npm run image took ${buildSeconds.toFixed(1)} s: ${built.stdout.split('\n').find(l => l.startsWith('built')) ?? built.stderr}\n`)
  }, 660_000)

  afterAll(async () => {
    // containers first (a stopped one holds its copy of the image), then the image, then the storage
    const { stdout } = await podman(['ps', '--all', '--quiet'])
    for (const id of stdout.split('\n').filter(Boolean)) await podman(['rm', '--force', '--time', '0', id])
    await podman(['rmi', '--force', tag])
    await scratch.cleanup()
  }, 120_000)

  it('builds FROM scratch with buildah: one layer, the assembled root filesystem', async () => {
    expect(built).toMatchObject({ code: 0 })
    const images = await podman(['images', '--format', '{{.Repository}}:{{.Tag}}'])
    expect(images.stdout.trim().split('\n')).toEqual([tag])
    const inspected = await run('skopeo', ['inspect', `containers-storage:${tag}`], { env })
    expect((JSON.parse(inspected.stdout) as { Layers: string[] }).Layers).toHaveLength(1)
  })

  it('declares a non-root user, the mirnet serve entrypoint and the ports of the transports, the API and the metrics', async () => {
    const inspected = await run('skopeo', ['inspect', '--config', `containers-storage:${tag}`], { env })
    expect(inspected.code).toBe(0)
    const { config } = JSON.parse(inspected.stdout) as { config: { User: string, Entrypoint: string[], ExposedPorts: Record<string, unknown> } }
    const [user, group] = config.User.split(':')
    expect(user).not.toBe('0')
    expect(user).not.toBe('root')
    expect(Number(user)).toBe(IMAGE_UID)
    expect(Number(group)).toBe(IMAGE_GID)
    expect(config.Entrypoint).toEqual([...IMAGE_MIRNET_COMMAND, 'serve'])
    expect(config.Entrypoint[0]).toBe(IMAGE_NODE_PATH)
    expect(Object.keys(config.ExposedPorts).sort()).toEqual([...IMAGE_EXPOSED_PORTS].sort())
  })

  it('serves health on the host network as the image user, on a read-only root, and exits 0 on SIGTERM', async () => {
    const keys = await scratch.dir()
    const key = await generateKey()
    await writeKeyFile(join(keys, 'node.key'), key)
    // the container's user owns its key, mode 0600: the permission check stays on
    await chown(join(keys, 'node.key'), IMAGE_UID, IMAGE_GID)
    await chown(keys, IMAGE_UID, IMAGE_GID)
    await chmod(keys, 0o700)
    const [p2p, api] = [await freePort(), await freePort()]
    const name = `mirnet-test-${randomBytes(4).toString('hex')}`
    const child = scratch.spawnCommand('podman', [
      'run', '--name', name, '--network=host', '--read-only', '--volume', `${keys}:/keys:ro`,
      tag, '--key-file', '/keys/node.key', '--listen', `/ip4/127.0.0.1/tcp/${p2p}`, '--api', `127.0.0.1:${api}`, '--log-level', 'warn'
    ], env)
    const exited = new Promise<number | null>(resolve => child.once('exit', resolve))
    const ready = await firstLine<Ready>(child, 120_000)
    expect(ready).toMatchObject({ event: 'ready', peerId: peerIdOf(key), api: `127.0.0.1:${api}` })

    const health = createClient(Health, createGrpcTransport({ baseUrl: `http://127.0.0.1:${api}` }))
    expect((await health.check({ service: '' }, { timeoutMs: 10_000 })).status).toBe(HealthCheckResponse_ServingStatus.SERVING)
    expect((await health.check({ service: 'mirnet.v1.TransportService' }, { timeoutMs: 10_000 })).status).toBe(HealthCheckResponse_ServingStatus.SERVING)

    // the daemon's process, seen from the host: not root
    const pid = (await podman(['inspect', '--format', '{{.State.Pid}}', name])).stdout.trim()
    const status = await readFile(`/proc/${pid}/status`, 'utf8')
    expect(status).toMatch(new RegExp(`^Uid:\\s+${IMAGE_UID}\\s+${IMAGE_UID}\\s+${IMAGE_UID}\\s+${IMAGE_UID}$`, 'm'))

    expect((await podman(['kill', '--signal', 'TERM', name])).code).toBe(0)
    expect(await exited).toBe(0)
    expect((await podman(['inspect', '--format', '{{.State.ExitCode}}', name])).stdout.trim()).toBe('0')
  }, 180_000)
})
