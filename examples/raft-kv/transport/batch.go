package transport

import (
	"encoding/binary"
	"errors"
	"fmt"

	"go.etcd.io/etcd/raft/raftpb"
)

// maxBatchPayloadBytes bounds one mirnet payload of packed raft messages; a
// single larger message (a big MsgApp, a snapshot) travels alone.
const maxBatchPayloadBytes = 1 << 20

// A mirnet payload of raft-kv is one or more marshalled raftpb.Messages,
// each preceded by its length as a uvarint. Every raft message costs the
// daemons the same CPU whatever its size (bench `raft`, BENCHMARKS.md), and
// raft's leader sends one MsgApp per proposal to each follower: packing the
// messages bound for one member on one lane into one payload is what keeps
// the daemons' work per commit small.

// appendFrame appends one marshalled message, length first, to p.
func appendFrame(p, msg []byte) []byte {
	p = binary.AppendUvarint(p, uint64(len(msg)))
	return append(p, msg...)
}

// frameBytes is what appendFrame adds for a message of n bytes.
func frameBytes(n int) int {
	var tmp [binary.MaxVarintLen64]byte
	return binary.PutUvarint(tmp[:], uint64(n)) + n
}

var errTruncated = errors.New("truncated raft message batch")

// decodeBatch calls f with each raft message of payload p, in order.
func decodeBatch(p []byte, f func(raftpb.Message)) error {
	for len(p) > 0 {
		n, k := binary.Uvarint(p)
		if k <= 0 || uint64(len(p)-k) < n {
			return errTruncated
		}
		var m raftpb.Message
		if err := m.Unmarshal(p[k : k+int(n)]); err != nil {
			return fmt.Errorf("not a raft message: %w", err)
		}
		f(m)
		p = p[k+int(n):]
	}
	return nil
}
