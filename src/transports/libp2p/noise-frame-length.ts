import type { ConnectionEncrypter, SecuredConnection } from '@libp2p/interface'
import type { Uint8ArrayList } from 'uint8arraylist'

/** Largest Noise transport message: its 2-byte length prefix can say no more. */
const NOISE_MAX_FRAME_BYTES = 0xffff

/**
 * Noise's frame length decoder, without the exception. Noise frames its
 * transport messages with a 2-byte big-endian length and splits them with
 * libp2p's `LengthPrefixedDecoder` (@libp2p/utils 7), whose loop asks for the
 * next length after every frame and learns that the prefix is not there yet
 * from a thrown `RangeError`. That is the case after almost every read, since
 * reads usually end on a frame boundary, and each throw builds an error with a
 * stack trace: 7.5% of an idle daemon's CPU samples and 11% of the sending
 * daemon's at 1k msg/s. Missing bytes here say "a frame of the largest size
 * is still to come" instead, which ends the loop in the same place.
 */
export function noiseFrameLength (data: Uint8Array | Uint8ArrayList): number {
  if (data.byteLength < 2) return NOISE_MAX_FRAME_BYTES
  return data instanceof Uint8Array ? (data[0] << 8) | data[1] : data.getUint16(0)
}

/** The decoder that Noise's encrypted stream keeps (not part of libp2p's interface). */
interface FrameDecoderHolder {
  decoder?: { lengthDecoder?: unknown }
}

/** Give a secured connection's frame decoder {@link noiseFrameLength}; true when it had one to replace. */
export function quietFrameDecoder (secured: SecuredConnection<unknown>): boolean {
  const decoder = (secured.connection as unknown as FrameDecoderHolder).decoder
  if (typeof decoder?.lengthDecoder !== 'function') return false
  decoder.lengthDecoder = noiseFrameLength
  return true
}

/**
 * Wrap a Noise connection-encrypter factory so that every connection it
 * secures splits frames with {@link noiseFrameLength}. Should a later Noise
 * keep its decoder elsewhere, connections are left as they are (a test checks
 * that the replacement still happens).
 */
export function withQuietFrameDecoder<C, E> (factory: (components: C) => ConnectionEncrypter<E>): (components: C) => ConnectionEncrypter<E> {
  return components => {
    const encrypter = factory(components)
    const inbound = encrypter.secureInbound.bind(encrypter)
    const outbound = encrypter.secureOutbound.bind(encrypter)
    encrypter.secureInbound = async (connection, options) => {
      const secured = await inbound(connection, options)
      quietFrameDecoder(secured)
      return secured
    }
    encrypter.secureOutbound = async (connection, options) => {
      const secured = await outbound(connection, options)
      quietFrameDecoder(secured)
      return secured
    }
    return encrypter
  }
}
