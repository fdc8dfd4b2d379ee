import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { spawn } from 'node:child_process'
import { NetLab, netnsUnavailableReason } from './helpers/netns.ts'
import type { NetHost } from './helpers/netns.ts'
import { describeWhereAvailable } from './helpers/requires.ts'

const unavailable = netnsUnavailableReason()
const describeNetns = describeWhereAvailable('netns-lab: namespace tests', unavailable)

/** Run a node snippet inside a host; resolves with its stdout. */
async function nodeIn (lab: NetLab, host: NetHost, code: string): Promise<string> {
  const argv = [...lab.exec(host), process.execPath, '-e', code]
  return await new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (d: Buffer) => { out += d.toString() })
    child.stderr.on('data', (d: Buffer) => { err += d.toString() })
    child.once('exit', code => { code === 0 ? resolve(out) : reject(new Error(`exit ${code}: ${err}`)) })
  })
}

const connectOnce = (ip: string): string => `
const s = require('node:net').connect({ host: '${ip}', port: 9000, timeout: 1500 })
s.on('connect', () => { console.log('connected'); s.destroy() })
s.on('timeout', () => { console.log('timeout'); s.destroy() })
s.on('error', e => { console.log(e.code) })`

describeNetns('NetLab', () => {
  let lab: NetLab
  let a: NetHost
  let b: NetHost

  beforeAll(async () => {
    lab = await NetLab.create()
    a = await lab.addHost()
    b = await lab.addHost()
  })
  afterAll(async () => { await lab?.destroy() })

  it('connects hosts through the switch, and a cut port stops traffic until healed', async () => {
    // nobody listens on b:9000: a plugged host answers with a reset, a cut one not at all
    expect((await nodeIn(lab, a, connectOnce(b.ip))).trim()).toBe('ECONNREFUSED')
    await lab.cut(b)
    expect((await nodeIn(lab, a, connectOnce(b.ip))).trim()).toMatch(/^(timeout|EHOSTUNREACH)$/)
    await lab.heal(b)
    expect((await nodeIn(lab, a, connectOnce(b.ip))).trim()).toBe('ECONNREFUSED')
  })
})
