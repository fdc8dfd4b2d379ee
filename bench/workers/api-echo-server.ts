/**
 * The api-unary baseline: a bare @grpc/grpc-js server with one unary method,
 * /bench.Echo/Echo, that decodes a mirnet SendRequest and returns it. Forked
 * by bench/lib/api-workers.ts; reports its port in the ready message and exits
 * when the runner disconnects.
 */
import { fromBinary, toBinary } from '@bufbuild/protobuf'
import { Server, ServerCredentials } from '@grpc/grpc-js'
import { SendRequestSchema } from '../../gen/ts/mirnet/v1/transport_pb.ts'
import type { sendUnaryData, ServerUnaryCall, ServiceDefinition } from '@grpc/grpc-js'
import type { SendRequest } from '../../gen/ts/mirnet/v1/transport_pb.ts'
import type { FromWorker } from '../lib/api-workers.ts'

const definition: ServiceDefinition = {
  echo: {
    path: '/bench.Echo/Echo',
    requestStream: false,
    responseStream: false,
    requestSerialize: (v: SendRequest) => Buffer.from(toBinary(SendRequestSchema, v)),
    requestDeserialize: (b: Buffer) => fromBinary(SendRequestSchema, b),
    responseSerialize: (v: SendRequest) => Buffer.from(toBinary(SendRequestSchema, v)),
    responseDeserialize: (b: Buffer) => fromBinary(SendRequestSchema, b)
  }
}

const server = new Server()
server.addService(definition, {
  echo: (call: ServerUnaryCall<SendRequest, SendRequest>, callback: sendUnaryData<SendRequest>) => { callback(null, call.request) }
})
const port = await new Promise<number>((resolve, reject) => {
  server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => { err === null ? resolve(p) : reject(err) })
})
process.on('disconnect', () => { server.forceShutdown(); process.exit(0) })
process.send?.({ t: 'ready', info: { address: `127.0.0.1:${port}` } } satisfies FromWorker)
