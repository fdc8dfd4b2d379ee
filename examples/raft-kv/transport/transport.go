// Package transport carries etcd raft messages between raft-kv nodes: over a
// mirnet daemon (Mirnet) or straight between the processes over TCP (Direct).
package transport

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"go.etcd.io/etcd/raft"
	"go.etcd.io/etcd/raft/raftpb"
)

// Handler is the raft node as a transport sees it.
type Handler interface {
	// Process steps a received message into raft. It may block (that is the
	// transport's back pressure).
	Process(ctx context.Context, m raftpb.Message) error
	// ReportUnreachable tells raft that a peer could not be reached.
	ReportUnreachable(id uint64)
	// ReportSnapshot tells raft how sending a snapshot (MsgSnap) ended.
	ReportSnapshot(id uint64, status raft.SnapshotStatus)
}

// Transport sends raft messages to peers and hands received ones to a Handler.
type Transport interface {
	// Start connects and begins delivering received messages to h.
	Start(ctx context.Context, h Handler) error
	// Send queues messages for their destinations. It never blocks: what
	// cannot be queued is dropped and reported to raft as unreachable (raft
	// retransmits).
	Send(msgs []raftpb.Message)
	// Stats are counters for /status.
	Stats() map[string]uint64
	// Close stops the transport's goroutines.
	Close() error
}

// Lanes of the mirnet daemon's default configuration.
const (
	LaneControl   = "control"
	LaneConsensus = "consensus"
	LaneBulk      = "bulk"
)

// Lane is the mirnet lane of a raft message: what keeps the cluster alive
// (heartbeats, votes, leadership transfer) on the strict-priority control
// lane, replication on consensus, snapshots on bulk, so that a large
// snapshot never delays a heartbeat and an election is not lost behind a
// backlog of appends.
func Lane(t raftpb.MessageType) string {
	switch t {
	case raftpb.MsgHeartbeat, raftpb.MsgHeartbeatResp,
		raftpb.MsgVote, raftpb.MsgVoteResp, raftpb.MsgPreVote, raftpb.MsgPreVoteResp,
		raftpb.MsgTimeoutNow:
		return LaneControl
	case raftpb.MsgSnap:
		return LaneBulk
	default:
		// MsgApp, MsgAppResp, forwarded proposals (MsgProp), MsgReadIndex*
		return LaneConsensus
	}
}

// NodeName is the mirnet node id of a raft id: 1 is "n1".
func NodeName(id uint64) string {
	return "n" + strconv.FormatUint(id, 10)
}

// RaftID is the raft id of a mirnet node id ("n1" is 1).
func RaftID(name string) (uint64, error) {
	if !strings.HasPrefix(name, "n") {
		return 0, fmt.Errorf("mirnet node id %q is not n<raft id>", name)
	}
	id, err := strconv.ParseUint(name[1:], 10, 64)
	if err != nil || id == 0 {
		return 0, fmt.Errorf("mirnet node id %q is not n<raft id>", name)
	}
	return id, nil
}
