/**
 * What the container images and the Kubernetes manifests agree on: where the
 * image puts Node and the app, who runs it, and the ports. The Dockerfile
 * repeats these values (it cannot import them); test/image.test.ts checks
 * that it does.
 */

import type { DaemonTransport } from '../daemon/transport-names.ts'

/** The Node binary inside the image (where `node:24-slim` has it too). */
export const IMAGE_NODE_PATH = '/usr/local/bin/node'
/** The app (bin/, src/, gen/ts, package.json, node_modules) inside the image. */
export const IMAGE_APP_DIR = '/app'
/** The command that runs the mirnet CLI inside the image, without a shell or `env`. */
export const IMAGE_MIRNET_COMMAND: readonly string[] = [IMAGE_NODE_PATH, `${IMAGE_APP_DIR}/bin/mirnet.ts`]
/** The image's non-root user and group. */
export const IMAGE_USER = 'mirnet'
export const IMAGE_UID = 10001
export const IMAGE_GID = 10001
/** Where `serve` keeps a key it creates when no --key-file is given; owned by the image's user. */
export const IMAGE_STATE_DIR = '/var/lib/mirnet'

/** libp2p TCP port the image and the manifests use. */
export const P2P_PORT = 4001
/** TLS transport port the manifests use. */
export const TLS_PORT = 4002
/** gRPC transport port the manifests use. */
export const GRPC_PORT = 4003

/**
 * Each transport's port and port name in the manifests: a port per transport,
 * the same whichever others run, so that a member's address stays valid while
 * the cluster adds a transport or drops one (docs/operations.md: changing the
 * transport).
 */
export const TRANSPORT_PORTS: Readonly<Record<DaemonTransport, { port: number, name: string }>> = {
  libp2p: { port: P2P_PORT, name: 'p2p' },
  tls: { port: TLS_PORT, name: 'p2p-tls' },
  grpc: { port: GRPC_PORT, name: 'p2p-grpc' }
}
/** API port (gRPC, Connect, gRPC-Web, grpc.health.v1) the image and the manifests use. */
export const API_PORT = 7070
/** Prometheus metrics port (`--metrics`) the image and the manifests use. */
export const METRICS_PORT = 9464

/** The ports the image exposes: each transport's, the API's and the metrics'. */
export const IMAGE_EXPOSED_PORTS: readonly string[] = [...Object.values(TRANSPORT_PORTS).map(t => t.port), API_PORT, METRICS_PORT].map(port => `${port}/tcp`)
