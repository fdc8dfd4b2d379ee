/**
 * The `grpc-message` trailer as the gRPC spec encodes it
 * (PROTOCOL-HTTP2.md, "Status-Message"): UTF-8, with every byte outside
 * printable ASCII (0x20–0x7E) and `%` itself percent-encoded, nothing else.
 * connect-node writes it with `encodeURIComponent`, which also encodes `:`,
 * `,`, `/` and the like; @grpc/grpc-js decodes with `decodeURI`, which leaves
 * those escaped, so its users read "entry 1%3A node id is empty".
 */
export function encodeGrpcMessage (message: string): string {
  const bytes = Buffer.from(message, 'utf8')
  let out = ''
  for (const b of bytes) {
    out += b >= 0x20 && b <= 0x7e && b !== 0x25 ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`
  }
  return out
}

/** Re-encode a `grpc-message` that connect-node wrote with `encodeURIComponent`. */
export function reencodeGrpcMessage (uriEncoded: string): string {
  let raw: string
  try {
    raw = decodeURIComponent(uriEncoded)
  } catch {
    // not what connect-node writes: leave it as it is
    return uriEncoded
  }
  return encodeGrpcMessage(raw)
}
