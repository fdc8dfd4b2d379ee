import { Code, ConnectError, createConnectRouter } from '@connectrpc/connect'
import { universalRequestFromNodeRequest, universalResponseToNodeResponse } from '@connectrpc/connect-node'
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2'
import type { ConnectRouterOptions, ContextValues, ConnectRouter } from '@connectrpc/connect'
import type { Logger } from '../core/logger.ts'

export interface ConnectListenerOptions extends ConnectRouterOptions {
  routes: (router: ConnectRouter) => void
  contextValues?: (req: Http2ServerRequest) => ContextValues
  logger: Logger
}

/**
 * The ApiServer's request listener for every call that connect serves: what
 * `connectNodeAdapter` does, except for a call whose response could not be
 * written. connect-node prints those with `console.error`, and it prints one
 * whenever a client goes away while its stream's next message is being
 * written (`write ECANCELED`, a reset stream): routine for a `Receive`
 * stream, and none of the daemon's business to shout about. Here a response
 * lost to a client that is gone is logged at debug, any other failure at
 * warn, both through the daemon's logger.
 */
export function connectListener (options: ConnectListenerOptions): (req: Http2ServerRequest, res: Http2ServerResponse) => void {
  const router = createConnectRouter(options)
  options.routes(router)
  const handlers = new Map(router.handlers.map(h => [h.requestPath, h]))
  const log = options.logger
  return (req, res) => {
    const handler = handlers.get(req.url.split('?', 1)[0])
    if (handler === undefined) {
      res.writeHead(404)
      res.end()
      return
    }
    const uReq = universalRequestFromNodeRequest(req, res, undefined, options.contextValues?.(req))
    handler(uReq)
      .then(async uRes => { await universalResponseToNodeResponse(uRes, res) })
      .catch((reason: unknown) => {
        const err = ConnectError.from(reason)
        if (err.code === Code.Aborted) return
        const rpc = `${handler.service.typeName}/${handler.method.name}`
        if (clientIsGone(res)) log.debug({ rpc, err: err.rawMessage }, 'client went away before its response was written')
        else log.warn({ rpc, code: Code[err.code], err: err.rawMessage }, 'writing a response failed')
      })
  }
}

/** The call's stream was reset or closed under the response: the client cancelled, its deadline passed or its connection broke. */
function clientIsGone (res: Http2ServerResponse): boolean {
  const stream = res.stream
  return stream.destroyed || stream.closed || stream.rstCode !== undefined
}
