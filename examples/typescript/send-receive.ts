/**
 * Drive a mirnet daemon from TypeScript: connect a membership, send, receive.
 *
 *   node examples/typescript/send-receive.ts 127.0.0.1:7070 [membership.json]
 *
 * With a membership file (the JSON of ConnectRequest) it applies it first and
 * waits for every member to connect; then it sends "hello from <node>" to every
 * member (itself included) and prints what arrives for 5 seconds.
 */
import { readFile } from 'node:fs/promises'
import { Code, ConnectError } from '@connectrpc/connect'
import { createMirnetClient } from '../../src/client/client.ts'

const [api = '127.0.0.1:7070', membershipFile] = process.argv.slice(2)
const client = createMirnetClient(api)

const info = await client.getInfo({})
console.log(`daemon ${info.nodeId} (${info.peerId})`)

let members = [info.nodeId]
if (membershipFile !== undefined) {
  const request = JSON.parse(await readFile(membershipFile, 'utf8')) as { nodes: Array<{ id: string, address: string }> }
  await client.connect(request)
  members = request.nodes.map(n => n.id)
  const { connected } = await client.awaitConnections({ minConnected: members.length }, { timeoutMs: 10_000 })
  console.log(`${connected} members connected`)
}

const sent = await client.send({
  messages: [{ destinations: members, payload: new TextEncoder().encode(`hello from ${info.nodeId}`) }]
})
console.log(`queued ${sent.queued}, displaced ${sent.droppedOldest} older messages`)

try {
  for await (const batch of client.receive({}, { timeoutMs: 5_000 })) {
    for (const m of batch.messages) console.log(`${m.from}: ${new TextDecoder().decode(m.payload)}`)
  }
} catch (err) {
  if (ConnectError.from(err).code !== Code.DeadlineExceeded) throw err
}
