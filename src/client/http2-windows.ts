/**
 * HTTP/2 flow-control windows of the TypeScript client: what it lets the
 * daemon send ahead of its reads. The protocol default, 64 KiB for a
 * stream and for a whole connection, lets one 64 KiB message through per
 * round trip across both event loops: a Receive stream of large messages
 * crawls. (The daemon sets its own, for what clients send it:
 * src/service/http2-windows.ts.) A slow consumer that wants fresh messages
 * should Pull rather than rely on a small window.
 */

/** Window of each stream (a Receive response carries up to 4 MiB). */
export const CLIENT_STREAM_WINDOW_BYTES = 2 * 1024 * 1024
/** Window of a whole connection. */
export const CLIENT_SESSION_WINDOW_BYTES = 16 * 1024 * 1024
