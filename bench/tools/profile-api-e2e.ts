/**
 * Profile the api-e2e TLS path at 256 B: daemons A and B run under
 * `node --cpu-prof` (profiles written to the folder given as the first
 * argument when they exit; `-`: no profile, for A/B rounds), a sender and a receiver client as in the
 * scenario, one windowed SendStream for the given seconds (second argument,
 * default 10). Prints the delivered rate and each process's CPU µs/msg.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { connectAll } from '../lib/daemons.ts'
import { ProcessGroup } from '../lib/api-workers.ts'
import { cpuSnapshot, cpuUsPerMessage } from '../lib/cpu-time.ts'

const dir = process.argv[2]
if (dir === undefined) throw new Error('usage: profile-api-e2e.ts <profile folder> [seconds]')
const seconds = Number(process.argv[3] ?? 10)

interface Counts { total: number, t: number }

await ProcessGroup.with(async group => {
  const prof = ['--cpu-prof', '--cpu-prof-dir', dir]
  const nodeArgs = (name: string): string[] => dir === '-' ? [] : [...prof, '--cpu-prof-name', `${name}.cpuprofile`]
  const [a, b, sender, receiver] = await Promise.all([
    group.daemon('a', { args: ['--queue-capacity', '4096', '--transport', 'tls'], nodeArgs: nodeArgs('daemon-a') }),
    group.daemon('b', { args: ['--transport', 'tls'], nodeArgs: nodeArgs('daemon-b') }),
    group.worker('sender'),
    group.worker('receiver')
  ])
  await connectAll([a, b])
  receiver.onDelivered = total => { sender.send({ t: 'credit', delivered: total }) }
  await receiver.call('receive', { apis: [b.api], maxBatch: 8192 })
  const pids = { 'client A': sender.child.pid as number, 'daemon A': a.child.pid as number, 'daemon B': b.child.pid as number, 'client B': receiver.child.pid as number }
  await sender.call('send', { api: a.api, destinations: ['b'], payloadBytes: 256, batch: 64, window: 2048 })
  await sleep(1000)
  const [c0, cpu0] = await Promise.all([receiver.call<Counts>('counts'), cpuSnapshot(pids)])
  await sleep(seconds * 1000)
  const [c1, cpu1] = await Promise.all([receiver.call<Counts>('counts'), cpuSnapshot(pids)])
  await sender.call('stopSend')
  const n = c1.total - c0.total
  process.stdout.write(JSON.stringify({ msgsPerSec: Math.round(n / ((c1.t - c0.t) / 1000)), cpuUsPerMsg: cpuUsPerMessage(cpu0, cpu1, n) }) + '\n')
  await sleep(2000)
  await receiver.call('stopReceive')
})
