/**
 * HTTP/2 flow-control windows of the API server: what it lets a client send
 * ahead of its reads (the TypeScript client sets its own,
 * src/client/http2-windows.ts). The protocol default, 64 KiB for a stream and for a
 * whole connection, lets one 64 KiB message through per round trip across
 * both event loops: a SendStream or Receive stream of large messages crawls.
 */

/** Window of each stream (a SendStream request may carry a 16 MiB message). */
export const API_STREAM_WINDOW_BYTES = 2 * 1024 * 1024
/** Window of a whole connection. */
export const API_SESSION_WINDOW_BYTES = 16 * 1024 * 1024
