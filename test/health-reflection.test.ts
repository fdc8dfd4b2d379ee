import { execFile } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:http2'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import type { Http2Server, Http2Session } from 'node:http2'
import type { AddressInfo } from 'node:net'
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals'
import { create, createFileRegistry, fromBinary, toBinary } from '@bufbuild/protobuf'
import type { DescService, MessageInitShape } from '@bufbuild/protobuf'
import {
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  FileDescriptorProtoSchema,
  file_google_protobuf_descriptor,
  file_google_protobuf_timestamp
} from '@bufbuild/protobuf/wkt'
import { Code, ConnectError, createClient } from '@connectrpc/connect'
import type { Client, ConnectRouter } from '@connectrpc/connect'
import { connectNodeAdapter, createGrpcTransport, Http2SessionManager } from '@connectrpc/connect-node'
import { Health } from '../gen/ts/grpc/health/v1/health_pb.ts'
import type { HealthCheckResponse } from '../gen/ts/grpc/health/v1/health_pb.ts'
import { ServerReflection, ServerReflectionRequestSchema, ServerReflectionResponseSchema } from '../gen/ts/grpc/reflection/v1/reflection_pb.ts'
import type { ServerReflectionRequest, ServerReflectionResponse } from '../gen/ts/grpc/reflection/v1/reflection_pb.ts'
import {
  ServerReflection as ServerReflectionV1alpha,
  ServerReflectionRequestSchema as ServerReflectionRequestV1alphaSchema,
  ServerReflectionResponseSchema as ServerReflectionResponseV1alphaSchema
} from '../gen/ts/grpc/reflection/v1alpha/reflection_pb.ts'
import type { ServerReflectionRequest as ServerReflectionRequestV1alpha } from '../gen/ts/grpc/reflection/v1alpha/reflection_pb.ts'
import { TransportService } from '../gen/ts/mirnet/v1/transport_pb.ts'
import { HealthService, ServingStatus } from '../src/service/health.ts'
import { registerReflection } from '../src/service/reflection.ts'
import { eventually } from './helpers/wait.ts'

const BUF = fileURLToPath(new URL('../node_modules/.bin/buf', import.meta.url))
const run = promisify(execFile)

/**
 * A service in a file that imports two well-known files and declares an
 * extension, to exercise transitive dependencies and extension look-ups,
 * which mirnet's own contract does not have.
 */
function clockService (): DescService {
  const proto = create(FileDescriptorProtoSchema, {
    name: 'clock/v1/clock.proto',
    package: 'clock.v1',
    syntax: 'proto3',
    dependency: ['google/protobuf/timestamp.proto', 'google/protobuf/descriptor.proto'],
    messageType: [{
      name: 'TickRequest',
      field: [{
        name: 'at',
        number: 1,
        label: FieldDescriptorProto_Label.OPTIONAL,
        type: FieldDescriptorProto_Type.MESSAGE,
        typeName: '.google.protobuf.Timestamp',
        jsonName: 'at'
      }],
      enumType: [{ name: 'Unit', value: [{ name: 'UNIT_UNSPECIFIED', number: 0 }, { name: 'UNIT_SECOND', number: 1 }] }]
    }],
    extension: [{
      name: 'idempotent_tick',
      number: 50_001,
      label: FieldDescriptorProto_Label.OPTIONAL,
      type: FieldDescriptorProto_Type.BOOL,
      extendee: '.google.protobuf.MethodOptions',
      jsonName: 'idempotentTick'
    }],
    service: [{ name: 'ClockService', method: [{ name: 'Tick', inputType: '.clock.v1.TickRequest', outputType: '.clock.v1.TickRequest' }] }]
  })
  const wellKnown = [file_google_protobuf_timestamp, file_google_protobuf_descriptor]
  const registry = createFileRegistry(proto, name => wellKnown.find(f => f.proto.name === name))
  const service = registry.getService('clock.v1.ClockService')
  if (service === undefined) throw new Error('clock.v1.ClockService did not build')
  return service
}

interface Fixture {
  readonly health: HealthService
  readonly port: number
  readonly baseUrl: string
  readonly sessionManager: Http2SessionManager
  close: () => Promise<void>
}

/** An h2c connect-node server on 127.0.0.1:0 serving health and reflection, and a client session to it. */
async function start (described: DescService[]): Promise<Fixture> {
  const health = new HealthService()
  const routes = (router: ConnectRouter): void => {
    health.register(router)
    registerReflection(router, described)
  }
  const server: Http2Server = createServer(connectNodeAdapter({ routes }))
  const sessions = new Set<Http2Session>()
  server.on('session', session => {
    sessions.add(session)
    session.once('close', () => sessions.delete(session))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  const baseUrl = `http://127.0.0.1:${port}`
  const sessionManager = new Http2SessionManager(baseUrl)
  return {
    health,
    port,
    baseUrl,
    sessionManager,
    close: async () => {
      sessionManager.abort()
      const closed = once(server, 'close')
      server.close()
      for (const session of sessions) session.destroy()
      await closed
    }
  }
}

function grpcTransport (fixture: Fixture): ReturnType<typeof createGrpcTransport> {
  return createGrpcTransport({ baseUrl: fixture.baseUrl, sessionManager: fixture.sessionManager })
}

/** An async iterable the test feeds one item at a time: the request side of a bidi stream. */
function pushable<T> (): { push: (item: T) => void, end: () => void, iterable: AsyncIterable<T> } {
  const queue: T[] = []
  let ended = false
  let wake: (() => void) | undefined
  return {
    push: item => { queue.push(item); wake?.() },
    end: () => { ended = true; wake?.() },
    iterable: (async function * () {
      for (;;) {
        const item = queue.shift()
        if (item !== undefined) {
          yield item
          continue
        }
        if (ended) return
        await new Promise<void>(resolve => { wake = resolve })
        wake = undefined
      }
    })()
  }
}

type RequestInit = MessageInitShape<typeof ServerReflectionRequestSchema>
type Version = 'v1' | 'v1alpha'

/**
 * One ServerReflectionInfo stream, asked one request at a time: each `ask`
 * waits for its answer before the next request is sent, as buf curl and
 * grpcurl do. v1alpha answers are re-read as v1 (same wire format) for
 * assertions.
 */
interface ReflectionStream {
  ask: (request: RequestInit) => Promise<ServerReflectionResponse>
  /** Half-close the request side and expect the server to end with OK. */
  close: () => Promise<void>
}

function openReflection (fixture: Fixture, version: Version): ReflectionStream {
  const transport = grpcTransport(fixture)
  if (version === 'v1') {
    const requests = pushable<ServerReflectionRequest>()
    const responses = createClient(ServerReflection, transport).serverReflectionInfo(requests.iterable)[Symbol.asyncIterator]()
    return streamOf(responses, request => { requests.push(create(ServerReflectionRequestSchema, request)) }, requests.end, r => r)
  }
  const requests = pushable<ServerReflectionRequestV1alpha>()
  const responses = createClient(ServerReflectionV1alpha, transport).serverReflectionInfo(requests.iterable)[Symbol.asyncIterator]()
  return streamOf(
    responses,
    request => {
      const v1 = toBinary(ServerReflectionRequestSchema, create(ServerReflectionRequestSchema, request))
      requests.push(fromBinary(ServerReflectionRequestV1alphaSchema, v1))
    },
    requests.end,
    r => fromBinary(ServerReflectionResponseSchema, toBinary(ServerReflectionResponseV1alphaSchema, r))
  )
}

function streamOf<R> (
  responses: AsyncIterator<R>,
  send: (request: RequestInit) => void,
  end: () => void,
  asV1: (response: R) => ServerReflectionResponse
): ReflectionStream {
  return {
    ask: async request => {
      send(request)
      const next = await responses.next()
      if (next.done === true) throw new Error('the reflection stream ended before answering')
      return asV1(next.value)
    },
    close: async () => {
      end()
      const next = await responses.next()
      expect(next.done).toBe(true)
    }
  }
}

function filesOf (response: ServerReflectionResponse): string[] {
  if (response.messageResponse.case !== 'fileDescriptorResponse') {
    throw new Error(`expected files, got ${response.messageResponse.case ?? 'nothing'}`)
  }
  return response.messageResponse.value.fileDescriptorProto.map(bytes => fromBinary(FileDescriptorProtoSchema, bytes).name)
}

async function bufCurl (...args: string[]): Promise<string> {
  const { stdout } = await run(BUF, ['curl', '--protocol', 'grpc', '--http2-prior-knowledge', ...args], { timeout: 30_000 })
  return stdout
}

describe('HealthService and server reflection', () => {
  let fixture: Fixture

  beforeEach(async () => {
    fixture = await start([TransportService, clockService()])
  })

  afterEach(async () => {
    await fixture.close()
  })

  describe('Health, called by a connect-es gRPC client', () => {
    let health: Client<typeof Health>

    beforeEach(() => {
      health = createClient(Health, grpcTransport(fixture))
    })

    it('reports the whole server SERVING from the start, and a service once it is set', async () => {
      expect((await health.check({ service: '' })).status).toBe(ServingStatus.SERVING)
      fixture.health.setStatus(TransportService.typeName, ServingStatus.NOT_SERVING)
      expect((await health.check({ service: TransportService.typeName })).status).toBe(ServingStatus.NOT_SERVING)
    })

    it('fails Check of an unknown service with NotFound naming it', async () => {
      const err = await health.check({ service: 'no.such.Service' }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(ConnectError)
      expect((err as ConnectError).code).toBe(Code.NotFound)
      expect((err as ConnectError).rawMessage).toContain('"no.such.Service"')
    })

    it('lists every known service with its status', async () => {
      fixture.health.setStatus(TransportService.typeName, ServingStatus.SERVING)
      const { statuses } = await health.list({})
      expect(Object.fromEntries(Object.entries(statuses).map(([k, v]) => [k, v.status]))).toEqual({
        '': ServingStatus.SERVING,
        [TransportService.typeName]: ServingStatus.SERVING
      })
    })

    it('streams the current status on Watch, then each change', async () => {
      const watch = health.watch({ service: '' })[Symbol.asyncIterator]()
      expect((await watch.next()).value?.status).toBe(ServingStatus.SERVING)
      fixture.health.setStatus('', ServingStatus.NOT_SERVING)
      expect((await watch.next()).value?.status).toBe(ServingStatus.NOT_SERVING)
      fixture.health.setStatus('', ServingStatus.NOT_SERVING) // no change: nothing sent
      fixture.health.setStatus('', ServingStatus.SERVING)
      expect((await watch.next()).value?.status).toBe(ServingStatus.SERVING)
      fixture.health.shutdown()
      expect((await watch.next()).value?.status).toBe(ServingStatus.NOT_SERVING)
      expect((await watch.next()).done).toBe(true)
    })

    it('watches an unknown service as SERVICE_UNKNOWN until its status is set', async () => {
      const watch = health.watch({ service: 'later.v1.LaterService' })[Symbol.asyncIterator]()
      expect((await watch.next()).value?.status).toBe(ServingStatus.SERVICE_UNKNOWN)
      fixture.health.setStatus('later.v1.LaterService', ServingStatus.SERVING)
      expect((await watch.next()).value?.status).toBe(ServingStatus.SERVING)
      fixture.health.shutdown()
      const rest: HealthCheckResponse[] = []
      for await (const response of { [Symbol.asyncIterator]: () => watch }) rest.push(response)
      expect(rest.map(r => r.status)).toEqual([ServingStatus.NOT_SERVING])
    })

    it('ends every Watch with OK at shutdown and ignores later status changes', async () => {
      let ready!: () => void
      const allStarted = new Promise<void>(resolve => { ready = resolve })
      let started = 0
      const watches = [health.watch({ service: '' }), health.watch({ service: 'unknown.Service' })]
      const received = watches.map(async watch => {
        const statuses: number[] = []
        for await (const response of watch) {
          statuses.push(response.status)
          if (statuses.length === 1 && ++started === watches.length) ready()
        }
        return statuses
      })
      await allStarted
      expect(fixture.health.watchCount).toBe(2)
      fixture.health.shutdown()
      fixture.health.setStatus('', ServingStatus.SERVING)
      expect(await Promise.all(received)).toEqual([
        [ServingStatus.SERVING, ServingStatus.NOT_SERVING],
        [ServingStatus.SERVICE_UNKNOWN]
      ])
      expect(fixture.health.watchCount).toBe(0)
      expect((await health.check({ service: '' })).status).toBe(ServingStatus.NOT_SERVING)
    })

    it('lets go of a Watch whose client cancels it', async () => {
      const cancel = new AbortController()
      const watch = health.watch({ service: '' }, { signal: cancel.signal })[Symbol.asyncIterator]()
      expect((await watch.next()).value?.status).toBe(ServingStatus.SERVING)
      expect(fixture.health.watchCount).toBe(1)
      cancel.abort()
      await expect(watch.next()).rejects.toMatchObject({ code: Code.Canceled })
      await eventually('the server to end the cancelled Watch', () => fixture.health.watchCount === 0)
    })
  })

  describe.each<Version>(['v1', 'v1alpha'])('reflection %s, called by a connect-es gRPC client', version => {
    let stream: ReflectionStream

    beforeEach(() => {
      stream = openReflection(fixture, version)
    })

    it('lists the described services, Health and both reflection services', async () => {
      const response = await stream.ask({ messageRequest: { case: 'listServices', value: '' } })
      expect(response.messageResponse.case).toBe('listServicesResponse')
      const names = response.messageResponse.case === 'listServicesResponse' ? response.messageResponse.value.service.map(s => s.name) : []
      expect(names).toEqual([
        'clock.v1.ClockService',
        'grpc.health.v1.Health',
        'grpc.reflection.v1.ServerReflection',
        'grpc.reflection.v1alpha.ServerReflection',
        'mirnet.v1.TransportService'
      ])
      await stream.close()
    })

    it('answers file_containing_symbol with the file declaring the service', async () => {
      const response = await stream.ask({ host: 'h', messageRequest: { case: 'fileContainingSymbol', value: 'mirnet.v1.TransportService' } })
      expect(response.validHost).toBe('h')
      expect(response.originalRequest?.messageRequest).toEqual({ case: 'fileContainingSymbol', value: 'mirnet.v1.TransportService' })
      if (response.messageResponse.case !== 'fileDescriptorResponse') throw new Error(`got ${response.messageResponse.case}`)
      const [file, ...rest] = response.messageResponse.value.fileDescriptorProto.map(b => fromBinary(FileDescriptorProtoSchema, b))
      expect(rest).toEqual([])
      expect(file.name).toBe('mirnet/v1/transport.proto')
      expect(file.package).toBe('mirnet.v1')
      const service = file.service.find(s => s.name === 'TransportService')
      expect(service?.method.map(m => m.name)).toEqual(TransportService.methods.map(m => m.name))
      await stream.close()
    })

    it('answers an unknown symbol with NOT_FOUND naming it, and keeps the stream open', async () => {
      const missing = await stream.ask({ messageRequest: { case: 'fileContainingSymbol', value: 'mirnet.v1.NoSuchThing' } })
      expect(missing.messageResponse.case).toBe('errorResponse')
      if (missing.messageResponse.case !== 'errorResponse') return
      expect(missing.messageResponse.value.errorCode).toBe(5)
      expect(missing.messageResponse.value.errorMessage).toContain('"mirnet.v1.NoSuchThing"')
      const next = await stream.ask({ messageRequest: { case: 'fileByFilename', value: 'grpc/health/v1/health.proto' } })
      expect(filesOf(next)).toEqual(['grpc/health/v1/health.proto'])
      await stream.close()
    })
  })

  describe('reflection of nested symbols, imports and extensions', () => {
    let stream: ReflectionStream

    beforeEach(() => {
      stream = openReflection(fixture, 'v1')
    })

    afterEach(async () => {
      await stream.close()
    })

    const clockFiles = ['clock/v1/clock.proto', 'google/protobuf/timestamp.proto', 'google/protobuf/descriptor.proto']

    it.each([
      'clock.v1.ClockService',
      'clock.v1.ClockService.Tick',
      'clock.v1.TickRequest',
      'clock.v1.TickRequest.at',
      'clock.v1.TickRequest.Unit',
      'clock.v1.TickRequest.UNIT_SECOND',
      'clock.v1.idempotent_tick'
    ])('answers %s with its file, then its transitive imports', async symbol => {
      expect(filesOf(await stream.ask({ messageRequest: { case: 'fileContainingSymbol', value: symbol } }))).toEqual(clockFiles)
    })

    it('finds symbols of imported files, map entries included', async () => {
      const timestamp = await stream.ask({ messageRequest: { case: 'fileContainingSymbol', value: 'google.protobuf.Timestamp' } })
      expect(filesOf(timestamp)).toEqual(['google/protobuf/timestamp.proto'])
      const entry = await stream.ask({ messageRequest: { case: 'fileContainingSymbol', value: 'grpc.health.v1.HealthListResponse.StatusesEntry' } })
      expect(filesOf(entry)).toEqual(['grpc/health/v1/health.proto'])
    })

    it('answers file_by_filename, and NOT_FOUND for a file it does not describe', async () => {
      expect(filesOf(await stream.ask({ messageRequest: { case: 'fileByFilename', value: 'clock/v1/clock.proto' } }))).toEqual(clockFiles)
      const missing = await stream.ask({ messageRequest: { case: 'fileByFilename', value: 'nope.proto' } })
      expect(missing.messageResponse).toMatchObject({ case: 'errorResponse', value: { errorCode: 5 } })
    })

    it('answers file_containing_extension and all_extension_numbers_of_type', async () => {
      const containingType = 'google.protobuf.MethodOptions'
      const found = await stream.ask({ messageRequest: { case: 'fileContainingExtension', value: { containingType, extensionNumber: 50_001 } } })
      expect(filesOf(found)).toEqual(clockFiles)
      const missing = await stream.ask({ messageRequest: { case: 'fileContainingExtension', value: { containingType, extensionNumber: 50_002 } } })
      expect(missing.messageResponse).toMatchObject({ case: 'errorResponse', value: { errorCode: 5 } })
      const numbers = await stream.ask({ messageRequest: { case: 'allExtensionNumbersOfType', value: containingType } })
      expect(numbers.messageResponse).toMatchObject({
        case: 'allExtensionNumbersResponse',
        value: { baseTypeName: containingType, extensionNumber: [50_001] }
      })
      const none = await stream.ask({ messageRequest: { case: 'allExtensionNumbersOfType', value: 'clock.v1.TickRequest' } })
      expect(none.messageResponse).toMatchObject({ case: 'allExtensionNumbersResponse', value: { extensionNumber: [] } })
      const unknown = await stream.ask({ messageRequest: { case: 'allExtensionNumbersOfType', value: 'clock.v1.Nope' } })
      expect(unknown.messageResponse).toMatchObject({ case: 'errorResponse', value: { errorCode: 5 } })
    })

    it('answers a request that asks nothing with INVALID_ARGUMENT', async () => {
      const response = await stream.ask({})
      expect(response.messageResponse).toMatchObject({ case: 'errorResponse', value: { errorCode: 3 } })
    })
  })

  describe('buf curl, over gRPC with server reflection', () => {
    it.each(['grpc-v1', 'grpc-v1alpha'])('calls Health/Check with the schema from %s reflection', async protocol => {
      const out = await bufCurl('--reflect-protocol', protocol, '--data', '{"service":""}', `${fixture.baseUrl}/grpc.health.v1.Health/Check`)
      expect(JSON.parse(out)).toEqual({ status: 'SERVING' })
    })

    it('lists the services, and the methods of TransportService', async () => {
      const services = (await bufCurl('--list-services', fixture.baseUrl)).trim().split('\n')
      expect(services).toContain('mirnet.v1.TransportService')
      expect(services).toContain('grpc.health.v1.Health')
      const methods = (await bufCurl('--list-methods', `${fixture.baseUrl}`)).trim().split('\n')
      expect(methods).toContain('mirnet.v1.TransportService/SendStream')
      expect(methods).toContain('grpc.health.v1.Health/Watch')
    })
  })
})
