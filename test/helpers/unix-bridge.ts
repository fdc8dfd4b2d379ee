/**
 * `node unix-bridge.ts SOCKET HOST:PORT`: forwards each connection on the
 * Unix socket SOCKET to HOST:PORT. Started inside a network namespace
 * (`ip netns exec NS node unix-bridge.ts …`), it lets a test in the host's
 * namespace reach a daemon API that listens on the namespace's own loopback:
 * a Unix socket is a file, and files are not confined to a namespace.
 * Prints `{"event":"ready"}` once listening.
 */
import { connect, createServer } from 'node:net'

const [socketPath, target] = process.argv.slice(2)
const m = /^(.+):(\d+)$/.exec(target ?? '')
if (socketPath === undefined || m === null) {
  process.stderr.write('usage: unix-bridge.ts SOCKET HOST:PORT\n')
  process.exit(2)
}
const [, host, port] = m

const server = createServer(local => {
  const remote = connect({ host, port: Number(port), noDelay: true })
  local.pipe(remote).pipe(local)
  const close = (err?: Error): void => {
    if (err !== undefined) process.stderr.write(`unix-bridge: ${err.message}\n`)
    local.destroy()
    remote.destroy()
  }
  local.once('error', close)
  remote.once('error', close)
  local.once('close', () => { close() })
  remote.once('close', () => { close() })
})
server.listen(socketPath, () => { process.stdout.write('{"event":"ready"}\n') })
