/**
 * Sizes a lane's byte window to its path, as TCP and QUIC size theirs to
 * bandwidth × delay: `gain × delivery rate × minimum round-trip time`, never
 * below the configured window and never above `maxBytes`.
 *
 * On a LAN the minimum RTT is a fraction of a millisecond, so the configured
 * window (256 KiB) stays the limit, which keeps what sits in buffers ahead of
 * a higher lane small. On a long link the window grows until the delivery
 * rate stops growing: while the window is the limit, rate × min RTT is the
 * window itself and the gain doubles it each sample; once the path is the
 * limit, queues add delay but not rate, and the window settles at
 * `gain × bandwidth × min RTT`.
 *
 * Round-trip samples come from the time a chunk was written to the ack that
 * covers its last byte; the rate from acknowledged bytes over at least one
 * minimum RTT. Both are windowed (the minimum RTT for 10 s, the rate maximum
 * for 2 s), so a path that changes is followed. Pure: the caller passes the
 * time.
 */
export class WindowEstimator {
  readonly baseBytes: number
  readonly maxBytes: number
  readonly gain: number
  windowBytes: number
  #minRttMs = Number.POSITIVE_INFINITY
  #minRttAtMs = 0
  #maxRate = 0
  #maxRateAtMs = 0
  #sampleAtMs = -1
  #sampleBytes = 0

  static readonly MIN_RTT_WINDOW_MS = 10_000
  static readonly RATE_WINDOW_MS = 2_000

  constructor (baseBytes: number, maxBytes: number, gain = 2) {
    this.baseBytes = baseBytes
    this.maxBytes = Math.max(baseBytes, maxBytes)
    this.gain = gain
    this.windowBytes = baseBytes
  }

  /** The lowest round-trip time seen lately (ms), or Infinity before any sample. */
  get minRttMs (): number { return this.#minRttMs }
  /** The highest delivery rate seen lately (bytes per ms). */
  get rateBytesPerMs (): number { return this.#maxRate }

  /** A round trip measured at `nowMs`: a chunk written `rttMs` ago was acknowledged. */
  onRtt (nowMs: number, rttMs: number): void {
    if (rttMs < this.#minRttMs || nowMs - this.#minRttAtMs > WindowEstimator.MIN_RTT_WINDOW_MS) {
      this.#minRttMs = rttMs
      this.#minRttAtMs = nowMs
    }
  }

  /** `ackedBytes` (a running count) were acknowledged by `nowMs`. */
  onAcked (nowMs: number, ackedBytes: number): void {
    if (this.#sampleAtMs < 0) {
      this.#sampleAtMs = nowMs
      this.#sampleBytes = ackedBytes
      return
    }
    const elapsed = nowMs - this.#sampleAtMs
    if (elapsed < Math.max(1, this.#minRttMs)) return
    const rate = (ackedBytes - this.#sampleBytes) / elapsed
    this.#sampleAtMs = nowMs
    this.#sampleBytes = ackedBytes
    if (rate >= this.#maxRate || nowMs - this.#maxRateAtMs > WindowEstimator.RATE_WINDOW_MS) {
      this.#maxRate = rate
      this.#maxRateAtMs = nowMs
    }
    const bdp = this.gain * this.#maxRate * this.#minRttMs
    this.windowBytes = Math.min(this.maxBytes, Math.max(this.baseBytes, Math.ceil(bdp)))
  }

  /** A new stream: acknowledged bytes count from 0 again; what was learnt of the path is kept. */
  restart (): void {
    this.#sampleAtMs = -1
    this.#sampleBytes = 0
  }
}
