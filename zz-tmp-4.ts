import { createMirnetClient } from './src/client/client.ts'
const client = createMirnetClient(process.argv[2])
try { await client.send({ messages: [{ destinations: ['zz'], payload: new Uint8Array([65]) }] }) } catch (e) { console.log('err') }
