/**
 * The receiving side of a stream's opening (link-protocol.ts): what the
 * sender's hello means for this node's books of that sender, and where each
 * lane starts once the sender's resume frame names it. Pure: the Receiver
 * decodes the frames, writes the answer and runs the acks.
 */
import { MalformedFrameError } from './errors.ts'
import type { Hello } from './link-protocol.ts'
import type { ReceiveCounters } from './peer-stats.ts'

/**
 * A stream's hello: whether this node knows the sender's incarnation (its
 * counts of what it took then hold); a sender new to it starts each lane
 * where the hello says. Throws `MalformedFrameError` for another number of
 * lanes.
 */
export function acceptHello (counters: ReceiveCounters, hello: Hello): boolean {
  const lanes = counters.next.length
  if (hello.retained.length !== lanes) {
    throw new MalformedFrameError(`hello names ${hello.retained.length} lanes; this node has ${lanes} (members must share one lane configuration)`)
  }
  const known = counters.incarnation === hello.incarnation
  if (!known) {
    for (let lane = 0; lane < lanes; lane++) counters.next[lane] = hello.retained[lane]
  }
  counters.incarnation = hello.incarnation
  return known
}

/**
 * The resume frame: each lane starts at `start[lane]`, at least what this
 * node answered it expects (less would resend what it took), more when the
 * sender dropped the messages in between. Messages the sender still held
 * (`hello.retained` on) that had arrived are counted as duplicates, not sent
 * again. Throws `MalformedFrameError`, leaving the books as they were.
 */
export function acceptResume (counters: ReceiveCounters, hello: Hello, known: boolean, start: readonly number[]): void {
  const lanes = counters.next.length
  for (let lane = 0; lane < lanes; lane++) {
    if (start[lane] < counters.next[lane]) {
      throw new MalformedFrameError(`lane ${lane} resumes at ${start[lane]}, below ${counters.next[lane]}: messages this node already took`)
    }
  }
  for (let lane = 0; lane < lanes; lane++) {
    const expected = counters.next[lane]
    if (known && expected > hello.retained[lane]) counters.duplicates[lane] += expected - hello.retained[lane]
    counters.next[lane] = start[lane]
  }
}
