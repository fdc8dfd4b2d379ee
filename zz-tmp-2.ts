import { createMirnetClient } from './src/client/client.ts'
const client = createMirnetClient(process.argv[2])
await client.send({ messages: [{ destinations: ['a'], payload: new Uint8Array([65]) }] })
for await (const batch of client.receive({})) { console.log(batch.messages.length); break }
console.log('after loop')
