import { createMirnetClient } from './src/client/client.ts'
const client = createMirnetClient(process.argv[2])
console.log((await client.getInfo({})).nodeId)
