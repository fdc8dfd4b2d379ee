import { createMirnetClient } from './src/client/client.ts'
const client = createMirnetClient(process.argv[2])
try { await client.awaitConnections({ minConnected: 2 }, { timeoutMs: 500 }) } catch (e) { console.log('timeout') }
