package transport

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/raft"
	"go.etcd.io/etcd/raft/raftpb"
)

// maxFrameBytes bounds one received message (a snapshot included).
const maxFrameBytes = 64 << 20

// Direct is the transport a Go team writes without mirnet: one TCP
// connection to each peer, length-prefixed raftpb.Message frames, a bounded
// queue per peer that drops (and reports unreachable) when full, redial
// after a failure. As with etcd's rafthttp, there are no acknowledgements
// and no resending: raft retransmits what is lost.
type Direct struct {
	self   uint64
	listen string
	peers  map[uint64]string

	h      Handler
	ln     net.Listener
	cancel context.CancelFunc
	wg     sync.WaitGroup
	queues map[uint64]chan raftpb.Message

	mu    sync.Mutex
	conns map[net.Conn]struct{}

	sent, received, dropped, sendErrors atomic.Uint64
}

// NewDirect listens on listen (host:port) and sends to peers (raft id → host:port).
func NewDirect(self uint64, listen string, peers map[uint64]string) *Direct {
	return &Direct{self: self, listen: listen, peers: peers, queues: map[uint64]chan raftpb.Message{}, conns: map[net.Conn]struct{}{}}
}

// Start listens and starts one writer per peer.
func (t *Direct) Start(ctx context.Context, h Handler) error {
	ln, err := net.Listen("tcp", t.listen)
	if err != nil {
		return err
	}
	t.ln = ln
	t.h = h
	ctx, t.cancel = context.WithCancel(ctx)
	for id, addr := range t.peers {
		if id == t.self {
			continue
		}
		q := make(chan raftpb.Message, 4096)
		t.queues[id] = q
		id, addr := id, addr
		t.loop(func() { t.writer(ctx, id, addr, q) })
	}
	t.loop(func() { t.accept(ctx) })
	return nil
}

func (t *Direct) loop(f func()) {
	t.wg.Add(1)
	go func() { defer t.wg.Done(); f() }()
}

// Send queues each message on its peer's queue (never blocks).
func (t *Direct) Send(msgs []raftpb.Message) {
	for _, m := range msgs {
		q, ok := t.queues[m.To]
		if !ok {
			continue
		}
		select {
		case q <- m:
		default:
			t.dropped.Add(1)
			t.h.ReportUnreachable(m.To)
			if m.Type == raftpb.MsgSnap {
				t.h.ReportSnapshot(m.To, raft.SnapshotFailure)
			}
		}
	}
}

func (t *Direct) track(c net.Conn, add bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if add {
		t.conns[c] = struct{}{}
	} else {
		delete(t.conns, c)
	}
}

func (t *Direct) writer(ctx context.Context, id uint64, addr string, q chan raftpb.Message) {
	var conn net.Conn
	var w *bufio.Writer
	var header [4]byte
	for {
		var m raftpb.Message
		select {
		case <-ctx.Done():
			if conn != nil {
				conn.Close()
			}
			return
		case m = <-q:
		}
		if conn == nil {
			c, err := (&net.Dialer{Timeout: time.Second}).DialContext(ctx, "tcp", addr)
			if err != nil {
				t.fail(id, m, fmt.Errorf("dial %s: %w", addr, err))
				select {
				case <-ctx.Done():
				case <-time.After(50 * time.Millisecond):
				}
				continue
			}
			conn, w = c, bufio.NewWriterSize(c, 64<<10)
		}
		payload, err := m.Marshal()
		if err != nil {
			log.Printf("marshal %v: %v", m.Type, err)
			continue
		}
		binary.BigEndian.PutUint32(header[:], uint32(len(payload)))
		_, err = w.Write(header[:])
		if err == nil {
			_, err = w.Write(payload)
		}
		if err == nil && len(q) == 0 {
			err = w.Flush()
		}
		if err != nil {
			conn.Close()
			conn = nil
			t.fail(id, m, err)
			continue
		}
		t.sent.Add(1)
		if m.Type == raftpb.MsgSnap {
			t.h.ReportSnapshot(id, raft.SnapshotFinish)
		}
	}
}

func (t *Direct) fail(id uint64, m raftpb.Message, err error) {
	t.sendErrors.Add(1)
	t.h.ReportUnreachable(id)
	if m.Type == raftpb.MsgSnap {
		t.h.ReportSnapshot(id, raft.SnapshotFailure)
	}
	if t.sendErrors.Load()%100 == 1 {
		log.Printf("direct send to %d: %v", id, err)
	}
}

func (t *Direct) accept(ctx context.Context) {
	go func() { <-ctx.Done(); t.ln.Close() }()
	for {
		c, err := t.ln.Accept()
		if err != nil {
			return
		}
		t.track(c, true)
		t.loop(func() { t.read(ctx, c) })
	}
}

func (t *Direct) read(ctx context.Context, c net.Conn) {
	defer t.track(c, false)
	defer c.Close()
	r := bufio.NewReaderSize(c, 64<<10)
	var header [4]byte
	for {
		if _, err := io.ReadFull(r, header[:]); err != nil {
			return
		}
		n := binary.BigEndian.Uint32(header[:])
		if n > maxFrameBytes {
			log.Printf("direct: frame of %d bytes from %s", n, c.RemoteAddr())
			return
		}
		buf := make([]byte, n)
		if _, err := io.ReadFull(r, buf); err != nil {
			return
		}
		var m raftpb.Message
		if err := m.Unmarshal(buf); err != nil {
			log.Printf("direct: not a raft message from %s: %v", c.RemoteAddr(), err)
			return
		}
		t.received.Add(1)
		if err := t.h.Process(ctx, m); err != nil && ctx.Err() == nil {
			log.Printf("step %v: %v", m.Type, err)
		}
	}
}

// Stats are the transport's counters.
func (t *Direct) Stats() map[string]uint64 {
	return map[string]uint64{"sent": t.sent.Load(), "received": t.received.Load(), "dropped": t.dropped.Load(), "sendErrors": t.sendErrors.Load()}
}

// Close stops listening, closes the connections and waits for the loops.
func (t *Direct) Close() error {
	if t.cancel == nil {
		return nil
	}
	t.cancel()
	t.mu.Lock()
	for c := range t.conns {
		c.Close()
	}
	t.mu.Unlock()
	t.wg.Wait()
	return nil
}
