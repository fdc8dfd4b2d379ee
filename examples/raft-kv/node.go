package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"math"
	"math/rand"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mirnet/mirnet/examples/raft-kv/transport"
	"go.etcd.io/etcd/raft"
	"go.etcd.io/etcd/raft/raftpb"
)

// nodeConfig is what a raft-kv node is started with.
type nodeConfig struct {
	id      uint64
	cluster []uint64
	tick    time.Duration
	// snapshotEntries: applied entries between snapshots (and log compactions).
	snapshotEntries uint64
	// catchUpEntries: entries kept in the log behind a snapshot for slow followers.
	catchUpEntries uint64
	dataDir        string
	fsync          bool
	verbose        bool
}

// kvNode is one member of the replicated KV store: an etcd raft node, its
// storage, the state machine and a transport.
type kvNode struct {
	cfg       nodeConfig
	node      raft.Node
	storage   *raft.MemoryStorage
	wal       *wal
	kv        *kvStore
	transport transport.Transport

	// owned by the Ready loop
	confState     raftpb.ConfState
	hardState     raftpb.HardState
	snapshotIndex uint64

	snapshotsApplied  atomic.Uint64
	snapshotsMade     atomic.Uint64
	snapshotsSent     atomic.Uint64
	unreachableReport atomic.Uint64
	// forwarded proposals that raft did not take within a tick (no leader)
	proposalsDropped atomic.Uint64
	restarted        bool

	mu      sync.Mutex
	waiters map[uint64]chan struct{}
	nextReq atomic.Uint64

	done chan struct{}
}

func newKVNode(cfg nodeConfig, t transport.Transport) (*kvNode, error) {
	n := &kvNode{cfg: cfg, storage: raft.NewMemoryStorage(), kv: newKVStore(), transport: t, waiters: map[uint64]chan struct{}{}, done: make(chan struct{})}
	// request ids unique across nodes and restarts: a random 32-bit prefix
	n.nextReq.Store(uint64(rand.New(rand.NewSource(time.Now().UnixNano())).Uint32()) << 32)
	var st walState
	if cfg.dataDir != "" {
		w, s, err := openWAL(cfg.dataDir, n.storage, cfg.fsync)
		if err != nil {
			return nil, err
		}
		n.wal, st = w, s
	}
	rc := &raft.Config{
		ID:              cfg.id,
		ElectionTick:    10,
		HeartbeatTick:   1,
		Storage:         n.storage,
		MaxSizePerMsg:   1 << 20,
		MaxInflightMsgs: 256,
		PreVote:         true,
		CheckQuorum:     true,
		Logger:          &quietLogger{DefaultLogger: &raft.DefaultLogger{Logger: log.Default()}, verbose: cfg.verbose},
	}
	if st.found {
		// a restart: state from the WAL; applied entries after the snapshot come again as CommittedEntries
		n.restarted = true
		if !raft.IsEmptySnap(st.snapshot) {
			if err := n.kv.restore(st.snapshot.Data, st.snapshot.Metadata.Index); err != nil {
				return nil, err
			}
			n.confState = st.snapshot.Metadata.ConfState
			n.snapshotIndex = st.snapshot.Metadata.Index
			rc.Applied = st.snapshot.Metadata.Index
		}
		n.hardState = st.hard
		n.node = raft.RestartNode(rc)
	} else {
		peers := make([]raft.Peer, len(cfg.cluster))
		for i, id := range cfg.cluster {
			peers[i] = raft.Peer{ID: id}
		}
		n.node = raft.StartNode(rc, peers)
	}
	return n, nil
}

// quietLogger drops raft's info lines unless verbose.
type quietLogger struct {
	*raft.DefaultLogger
	verbose bool
}

func (l *quietLogger) Info(v ...interface{}) {
	if l.verbose {
		l.DefaultLogger.Info(v...)
	}
}

func (l *quietLogger) Infof(format string, v ...interface{}) {
	if l.verbose {
		l.DefaultLogger.Infof(format, v...)
	}
}

// Process, ReportUnreachable and ReportSnapshot make kvNode a transport.Handler.
//
// A proposal forwarded by a follower (MsgProp) waits at most one tick to be
// stepped, and is dropped (and counted) if raft did not take it by then.
// raft.Node.Step does not take a proposal while the node knows no leader: it
// blocks until one is elected or ctx ends. With the transport's long-lived
// ctx that would stall this lane's receive loop (every MsgApp and MsgAppResp
// behind the proposal) for as long as the node has no leader, and then hand
// the proposal to whichever leader comes next, possibly after a partition
// heals and long after the client that made it was told 503. A leaderless
// follower of raft's own drops a proposal (ErrProposalDropped); so does this.
func (n *kvNode) Process(ctx context.Context, m raftpb.Message) error {
	if m.Type != raftpb.MsgProp {
		return n.node.Step(ctx, m)
	}
	ctx, cancel := context.WithTimeout(ctx, n.cfg.tick)
	defer cancel()
	err := n.node.Step(ctx, m)
	if errors.Is(err, context.DeadlineExceeded) {
		n.proposalsDropped.Add(1)
		return nil
	}
	return err
}

func (n *kvNode) ReportUnreachable(id uint64) {
	n.unreachableReport.Add(1)
	n.node.ReportUnreachable(id)
}

func (n *kvNode) ReportSnapshot(id uint64, status raft.SnapshotStatus) {
	n.node.ReportSnapshot(id, status)
}

// run is the Ready loop: tick; persist (WAL, then MemoryStorage); send; apply
// committed entries; snapshot and compact; Advance.
func (n *kvNode) run(ctx context.Context) {
	defer close(n.done)
	ticker := time.NewTicker(n.cfg.tick)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			n.node.Stop()
			return
		case <-ticker.C:
			n.node.Tick()
		case rd := <-n.node.Ready():
			if err := n.handleReady(rd); err != nil {
				log.Fatalf("raft-kv %d: %v", n.cfg.id, err)
			}
			n.node.Advance()
		}
	}
}

func (n *kvNode) handleReady(rd raft.Ready) error {
	if n.wal != nil {
		if err := n.wal.save(rd.Snapshot, rd.Entries, rd.HardState); err != nil {
			return fmt.Errorf("wal: %w", err)
		}
	}
	if !raft.IsEmptySnap(rd.Snapshot) {
		if err := n.storage.ApplySnapshot(rd.Snapshot); err != nil {
			return fmt.Errorf("apply snapshot %d: %w", rd.Snapshot.Metadata.Index, err)
		}
		if err := n.kv.restore(rd.Snapshot.Data, rd.Snapshot.Metadata.Index); err != nil {
			return fmt.Errorf("restore snapshot %d: %w", rd.Snapshot.Metadata.Index, err)
		}
		n.confState = rd.Snapshot.Metadata.ConfState
		n.snapshotIndex = rd.Snapshot.Metadata.Index
		n.snapshotsApplied.Add(1)
	}
	if err := n.storage.Append(rd.Entries); err != nil {
		return fmt.Errorf("append: %w", err)
	}
	if !raft.IsEmptyHardState(rd.HardState) {
		n.hardState = rd.HardState
		if err := n.storage.SetHardState(rd.HardState); err != nil {
			return err
		}
	}
	for _, m := range rd.Messages {
		if m.Type == raftpb.MsgSnap {
			n.snapshotsSent.Add(1)
		}
	}
	n.transport.Send(rd.Messages)
	if err := n.apply(rd.CommittedEntries); err != nil {
		return err
	}
	return n.maybeSnapshot()
}

func (n *kvNode) apply(entries []raftpb.Entry) error {
	for _, e := range entries {
		if e.Index <= n.kv.appliedIndex() {
			continue
		}
		switch e.Type {
		case raftpb.EntryNormal:
			if len(e.Data) > 0 {
				id, key, value, err := decodePut(e.Data)
				if err != nil {
					return fmt.Errorf("entry %d: %w", e.Index, err)
				}
				n.kv.set(e.Index, key, value)
				n.mu.Lock()
				if w, ok := n.waiters[id]; ok {
					close(w)
					delete(n.waiters, id)
				}
				n.mu.Unlock()
			} else {
				n.kv.advance(e.Index)
			}
		case raftpb.EntryConfChange:
			var cc raftpb.ConfChange
			if err := cc.Unmarshal(e.Data); err != nil {
				return fmt.Errorf("entry %d: %w", e.Index, err)
			}
			n.confState = *n.node.ApplyConfChange(cc)
			n.kv.advance(e.Index)
		default:
			n.kv.advance(e.Index)
		}
	}
	return nil
}

// maybeSnapshot takes a snapshot every snapshotEntries applied entries and
// compacts the log to catchUpEntries behind it.
func (n *kvNode) maybeSnapshot() error {
	applied := n.kv.appliedIndex()
	if applied-n.snapshotIndex < n.cfg.snapshotEntries {
		return nil
	}
	data, err := n.kv.snapshot()
	if err != nil {
		return err
	}
	snap, err := n.storage.CreateSnapshot(applied, &n.confState, data)
	if err != nil {
		return fmt.Errorf("create snapshot %d: %w", applied, err)
	}
	if applied > n.cfg.catchUpEntries {
		if err := n.storage.Compact(applied - n.cfg.catchUpEntries); err != nil && err != raft.ErrCompacted {
			return fmt.Errorf("compact %d: %w", applied-n.cfg.catchUpEntries, err)
		}
	}
	if n.wal != nil {
		last, err := n.storage.LastIndex()
		if err != nil {
			return err
		}
		var after []raftpb.Entry
		if last > applied {
			after, err = n.storage.Entries(applied+1, last+1, math.MaxUint64)
			if err != nil {
				return err
			}
		}
		if err := n.wal.rewrite(snap, n.hardState, after); err != nil {
			return fmt.Errorf("wal rewrite: %w", err)
		}
	}
	n.snapshotIndex = applied
	n.snapshotsMade.Add(1)
	return nil
}

var errNotCommitted = errors.New("not committed in time (no leader, or the proposal was dropped)")

// put proposes key=value and returns once this node has applied it.
func (n *kvNode) put(ctx context.Context, key, value string) error {
	id := n.nextReq.Add(1)
	w := make(chan struct{})
	n.mu.Lock()
	n.waiters[id] = w
	n.mu.Unlock()
	defer func() {
		n.mu.Lock()
		delete(n.waiters, id)
		n.mu.Unlock()
	}()
	if err := n.node.Propose(ctx, encodePut(id, key, value)); err != nil {
		if errors.Is(err, raft.ErrProposalDropped) || errors.Is(err, context.DeadlineExceeded) {
			return errNotCommitted
		}
		return err
	}
	select {
	case <-w:
		return nil
	case <-ctx.Done():
		return errNotCommitted
	}
}

type nodeStatus struct {
	ID               uint64            `json:"id"`
	State            string            `json:"state"`
	Leader           uint64            `json:"leader"`
	Term             uint64            `json:"term"`
	Commit           uint64            `json:"commit"`
	Applied          uint64            `json:"applied"`
	FirstIndex       uint64            `json:"firstIndex"`
	LastIndex        uint64            `json:"lastIndex"`
	Keys             int               `json:"keys"`
	Hash             string            `json:"hash"`
	Restarted        bool              `json:"restarted"`
	SnapshotsApplied uint64            `json:"snapshotsApplied"`
	SnapshotsMade    uint64            `json:"snapshotsMade"`
	SnapshotsSent    uint64            `json:"snapshotsSent"`
	Unreachable      uint64            `json:"reportedUnreachable"`
	ProposalsDropped uint64            `json:"forwardedProposalsDropped"`
	Transport        map[string]uint64 `json:"transport"`
}

func (n *kvNode) status() nodeStatus {
	s := n.node.Status()
	first, _ := n.storage.FirstIndex()
	last, _ := n.storage.LastIndex()
	hash, keys, applied := n.kv.hash()
	return nodeStatus{
		ID: n.cfg.id, State: s.RaftState.String(), Leader: s.Lead, Term: s.Term, Commit: s.Commit,
		Applied: applied, FirstIndex: first, LastIndex: last, Keys: keys, Hash: hash,
		Restarted: n.restarted, SnapshotsApplied: n.snapshotsApplied.Load(), SnapshotsMade: n.snapshotsMade.Load(),
		SnapshotsSent: n.snapshotsSent.Load(), Unreachable: n.unreachableReport.Load(),
		ProposalsDropped: n.proposalsDropped.Load(), Transport: n.transport.Stats(),
	}
}
