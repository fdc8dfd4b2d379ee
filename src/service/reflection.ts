import { create, fromBinary, toBinary } from '@bufbuild/protobuf'
import type { DescFile, DescService, MessageInitShape } from '@bufbuild/protobuf'
import { FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt'
import type { DescriptorProto, EnumDescriptorProto, FieldDescriptorProto } from '@bufbuild/protobuf/wkt'
import { Code } from '@connectrpc/connect'
import type { ConnectRouter } from '@connectrpc/connect'
import {
  ServerReflection,
  ServerReflectionRequestSchema,
  ServerReflectionResponseSchema
} from '../../gen/ts/grpc/reflection/v1/reflection_pb.ts'
import type { ServerReflectionRequest, ServerReflectionResponse } from '../../gen/ts/grpc/reflection/v1/reflection_pb.ts'
import {
  ServerReflection as ServerReflectionV1alpha,
  ServerReflectionRequestSchema as ServerReflectionRequestV1alphaSchema,
  ServerReflectionResponseSchema as ServerReflectionResponseV1alphaSchema
} from '../../gen/ts/grpc/reflection/v1alpha/reflection_pb.ts'
import type {
  ServerReflectionRequest as ServerReflectionRequestV1alpha,
  ServerReflectionResponse as ServerReflectionResponseV1alpha
} from '../../gen/ts/grpc/reflection/v1alpha/reflection_pb.ts'

/**
 * Serve gRPC server reflection, `grpc.reflection.v1.ServerReflection` and the
 * older `grpc.reflection.v1alpha.ServerReflection` that some clients still
 * ask for, on `router`. It works from descriptors alone, so `services` need
 * not be implemented on this router.
 *
 * The server describes `services` plus every service registered on `router`
 * (read when a request arrives, so `grpc.health.v1.Health` and the reflection
 * services themselves are listed whether registered before or after this
 * call), and every file these are declared in, with their transitive imports.
 *
 * Each request gets one response on the same stream; a request that cannot
 * be answered (an unknown file, symbol or extension) gets an ErrorResponse
 * with NOT_FOUND naming what was asked, and the stream stays open.
 *
 * @example
 * ```ts
 * connectNodeAdapter({ routes: router => {
 *   health.register(router)
 *   registerReflection(router, [TransportService])
 * } })
 * ```
 */
export function registerReflection (router: ConnectRouter, services: DescService[]): void {
  const reflection = new Reflection(router, services)
  router.service(ServerReflection, {
    async * serverReflectionInfo (requests) {
      for await (const request of requests) yield reflection.answer(request)
    }
  })
  router.service(ServerReflectionV1alpha, {
    // v1alpha is v1 under another package name, wire for wire: re-decode
    // rather than keep a second copy of the logic.
    async * serverReflectionInfo (requests) {
      for await (const request of requests) yield reflection.answerV1alpha(request)
    }
  })
}

/** gRPC status codes an ErrorResponse carries (`Code` has the gRPC numbers). */
const errorCodes = { notFound: Code.NotFound, invalidArgument: Code.InvalidArgument } as const

/** The answer to one request, as an init shape that `create` completes. */
type MessageResponse = MessageInitShape<typeof ServerReflectionResponseSchema>['messageResponse']

/** Answers reflection requests from an index of the described files, rebuilt when the router gains services. */
class Reflection {
  readonly #router: ConnectRouter
  readonly #services: DescService[]
  #index: SchemaIndex | undefined
  #indexedHandlers = -1

  constructor (router: ConnectRouter, services: DescService[]) {
    this.#router = router
    this.#services = [...services]
  }

  answer (request: ServerReflectionRequest): ServerReflectionResponse {
    return create(ServerReflectionResponseSchema, {
      validHost: request.host,
      originalRequest: request,
      messageResponse: this.#respond(request.messageRequest)
    })
  }

  answerV1alpha (request: ServerReflectionRequestV1alpha): ServerReflectionResponseV1alpha {
    const v1 = fromBinary(ServerReflectionRequestSchema, toBinary(ServerReflectionRequestV1alphaSchema, request))
    return fromBinary(ServerReflectionResponseV1alphaSchema, toBinary(ServerReflectionResponseSchema, this.answer(v1)))
  }

  #respond (request: ServerReflectionRequest['messageRequest']): MessageResponse {
    const index = this.#currentIndex()
    switch (request.case) {
      case 'listServices':
        return {
          case: 'listServicesResponse',
          value: { service: index.serviceNames.map(name => ({ name })) }
        }
      case 'fileByFilename': {
        const file = index.files.get(request.value)
        return file === undefined
          ? notFound(`file "${request.value}" is not known to this server`)
          : index.fileResponse(file)
      }
      case 'fileContainingSymbol': {
        const file = index.symbols.get(request.value)
        return file === undefined
          ? notFound(`symbol "${request.value}" is not defined in any file this server describes`)
          : index.fileResponse(file)
      }
      case 'fileContainingExtension': {
        const { containingType, extensionNumber } = request.value
        const file = index.extensions.get(containingType)?.get(extensionNumber)
        return file === undefined
          ? notFound(`no extension of "${containingType}" with field number ${extensionNumber} is known to this server`)
          : index.fileResponse(file)
      }
      case 'allExtensionNumbersOfType': {
        if (!index.messageTypes.has(request.value)) {
          return notFound(`message type "${request.value}" is not defined in any file this server describes`)
        }
        const numbers = index.extensions.get(request.value)?.keys() ?? []
        return {
          case: 'allExtensionNumbersResponse',
          value: { baseTypeName: request.value, extensionNumber: [...numbers] }
        }
      }
      case undefined:
        return errorResponse(errorCodes.invalidArgument, 'the request sets none of the message_request fields')
    }
  }

  /** The index of every described service's files, rebuilt if services were registered since. */
  #currentIndex (): SchemaIndex {
    const handlers = this.#router.handlers
    if (this.#index === undefined || this.#indexedHandlers !== handlers.length) {
      const services = new Map<string, DescService>()
      for (const service of this.#services) services.set(service.typeName, service)
      for (const handler of handlers) services.set(handler.service.typeName, handler.service)
      this.#index = new SchemaIndex([...services.values()])
      this.#indexedHandlers = handlers.length
    }
    return this.#index
  }
}

function notFound (message: string): MessageResponse {
  return errorResponse(errorCodes.notFound, message)
}

function errorResponse (errorCode: number, errorMessage: string): MessageResponse {
  return { case: 'errorResponse', value: { errorCode, errorMessage } }
}

/**
 * Every name a reflection client may ask about, from the FileDescriptorProtos
 * of a set of services' files and their transitive imports. Names follow
 * protobuf scoping: fields, oneofs and nested types under their message,
 * methods under their service, enum values beside their enum.
 */
class SchemaIndex {
  /** Full service names, sorted. */
  readonly serviceNames: string[]
  /** Files by name, e.g. "mirnet/v1/transport.proto". */
  readonly files = new Map<string, DescFile>()
  /** The file declaring each fully-qualified symbol. */
  readonly symbols = new Map<string, DescFile>()
  /** Full names of all message types. */
  readonly messageTypes = new Set<string>()
  /** Extended message type → extension field number → declaring file. */
  readonly extensions = new Map<string, Map<number, DescFile>>()
  readonly #serialized = new Map<DescFile, Uint8Array>()

  constructor (services: DescService[]) {
    this.serviceNames = services.map(s => s.typeName).sort()
    for (const service of services) this.#addFile(service.file)
  }

  /** The file first, then its transitive imports, each serialized once per index. */
  fileResponse (file: DescFile): MessageResponse {
    const files = [file]
    const seen = new Set(files)
    for (let i = 0; i < files.length; i++) {
      for (const dependency of files[i].dependencies) {
        if (seen.has(dependency)) continue
        seen.add(dependency)
        files.push(dependency)
      }
    }
    return {
      case: 'fileDescriptorResponse',
      value: { fileDescriptorProto: files.map(f => this.#bytes(f)) }
    }
  }

  #bytes (file: DescFile): Uint8Array {
    let bytes = this.#serialized.get(file)
    if (bytes === undefined) {
      bytes = toBinary(FileDescriptorProtoSchema, file.proto)
      this.#serialized.set(file, bytes)
    }
    return bytes
  }

  #addFile (file: DescFile): void {
    if (this.files.has(file.proto.name)) return
    this.files.set(file.proto.name, file)
    const { proto } = file
    const scope = proto.package
    for (const message of proto.messageType) this.#addMessage(file, scope, message)
    for (const enumType of proto.enumType) this.#addEnum(file, scope, enumType)
    for (const extension of proto.extension) this.#addExtension(file, scope, extension)
    for (const service of proto.service) {
      const serviceName = qualify(scope, service.name)
      this.symbols.set(serviceName, file)
      for (const method of service.method) this.symbols.set(qualify(serviceName, method.name), file)
    }
    for (const dependency of file.dependencies) this.#addFile(dependency)
  }

  #addMessage (file: DescFile, scope: string, message: DescriptorProto): void {
    const name = qualify(scope, message.name)
    this.symbols.set(name, file)
    this.messageTypes.add(name)
    for (const field of message.field) this.symbols.set(qualify(name, field.name), file)
    for (const oneof of message.oneofDecl) this.symbols.set(qualify(name, oneof.name), file)
    for (const nested of message.nestedType) this.#addMessage(file, name, nested)
    for (const enumType of message.enumType) this.#addEnum(file, name, enumType)
    for (const extension of message.extension) this.#addExtension(file, name, extension)
  }

  #addEnum (file: DescFile, scope: string, enumType: EnumDescriptorProto): void {
    this.symbols.set(qualify(scope, enumType.name), file)
    // enum values are siblings of their enum (C++ scoping), as protoc resolves them
    for (const value of enumType.value) this.symbols.set(qualify(scope, value.name), file)
  }

  #addExtension (file: DescFile, scope: string, extension: FieldDescriptorProto): void {
    this.symbols.set(qualify(scope, extension.name), file)
    const extendee = extension.extendee.replace(/^\./, '')
    let numbers = this.extensions.get(extendee)
    if (numbers === undefined) {
      numbers = new Map()
      this.extensions.set(extendee, numbers)
    }
    numbers.set(extension.number, file)
  }
}

function qualify (scope: string, name: string): string {
  return scope === '' ? name : `${scope}.${name}`
}
