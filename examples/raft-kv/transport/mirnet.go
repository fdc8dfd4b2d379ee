package transport

import (
	"context"
	"log"
	"sync"
	"sync/atomic"
	"time"

	mirnetv1 "github.com/mirnet/mirnet/gen/go/mirnet/v1"
	"go.etcd.io/etcd/raft"
	"go.etcd.io/etcd/raft/raftpb"
	"google.golang.org/grpc"
)

// Mirnet sends raft messages through the node's mirnet daemon: one
// SendStream for appends and heartbeats, a unary Send per snapshot (its
// answer says whether the daemon queued it, which is what ReportSnapshot
// reports), one Receive stream per lane, and a GetStatus poll that reports
// every member whose connection is not open as unreachable.
type Mirnet struct {
	api         string
	self        uint64
	statusEvery time.Duration

	conn   *grpc.ClientConn
	client mirnetv1.TransportServiceClient
	h      Handler
	cancel context.CancelFunc
	wg     sync.WaitGroup

	out   chan outBatch
	snaps chan raftpb.Message

	sent, received, dropped, sendErrors, unreachable atomic.Uint64
}

type outBatch struct {
	req   *mirnetv1.SendStreamRequest
	dests []uint64
}

// NewMirnet is a transport over the daemon whose API listens on api (host:port).
func NewMirnet(api string, self uint64, statusEvery time.Duration) *Mirnet {
	return &Mirnet{api: api, self: self, statusEvery: statusEvery, out: make(chan outBatch, 4096), snaps: make(chan raftpb.Message, 16)}
}

// Start dials the daemon (waiting for it up to 30 s) and starts the loops.
func (t *Mirnet) Start(ctx context.Context, h Handler) error {
	dialCtx, cancelDial := context.WithTimeout(ctx, 30*time.Second)
	defer cancelDial()
	conn, err := grpc.DialContext(dialCtx, t.api, grpc.WithInsecure(), grpc.WithBlock())
	if err != nil {
		return err
	}
	t.conn = conn
	t.client = mirnetv1.NewTransportServiceClient(conn)
	t.h = h
	ctx, t.cancel = context.WithCancel(ctx)
	for _, lane := range []string{LaneControl, LaneConsensus, LaneBulk} {
		lane := lane
		t.loop(func() { t.receive(ctx, lane) })
	}
	t.loop(func() { t.sendLoop(ctx) })
	t.loop(func() { t.snapLoop(ctx) })
	t.loop(func() { t.statusLoop(ctx) })
	return nil
}

func (t *Mirnet) loop(f func()) {
	t.wg.Add(1)
	go func() { defer t.wg.Done(); f() }()
}

// Send groups the messages into one request (never blocks).
func (t *Mirnet) Send(msgs []raftpb.Message) {
	req := &mirnetv1.SendStreamRequest{Messages: make([]*mirnetv1.OutboundMessage, 0, len(msgs))}
	dests := make([]uint64, 0, len(msgs))
	for _, m := range msgs {
		if m.Type == raftpb.MsgSnap {
			select {
			case t.snaps <- m:
			default:
				t.dropped.Add(1)
				t.h.ReportSnapshot(m.To, raft.SnapshotFailure)
			}
			continue
		}
		payload, err := m.Marshal()
		if err != nil {
			log.Printf("marshal %v: %v", m.Type, err)
			continue
		}
		req.Messages = append(req.Messages, &mirnetv1.OutboundMessage{Destinations: []string{NodeName(m.To)}, Payload: payload, Lane: Lane(m.Type)})
		dests = append(dests, m.To)
	}
	if len(req.Messages) == 0 {
		return
	}
	select {
	case t.out <- outBatch{req, dests}:
	default:
		t.dropped.Add(uint64(len(dests)))
		t.reportAll(dests)
	}
}

func (t *Mirnet) reportAll(dests []uint64) {
	for _, d := range dests {
		t.unreachable.Add(1)
		t.h.ReportUnreachable(d)
	}
}

// sendLoop writes batches to a SendStream, opening a new one after an error.
func (t *Mirnet) sendLoop(ctx context.Context) {
	var stream mirnetv1.TransportService_SendStreamClient
	for {
		var b outBatch
		select {
		case <-ctx.Done():
			if stream != nil {
				_, _ = stream.CloseAndRecv()
			}
			return
		case b = <-t.out:
		}
		if stream == nil {
			s, err := t.client.SendStream(ctx)
			if err != nil {
				t.failed(ctx, b, err)
				continue
			}
			stream = s
		}
		if err := stream.Send(b.req); err != nil {
			// the daemon ended the stream: its status says why
			_, err = stream.CloseAndRecv()
			stream = nil
			t.failed(ctx, b, err)
			continue
		}
		t.sent.Add(uint64(len(b.dests)))
	}
}

func (t *Mirnet) failed(ctx context.Context, b outBatch, err error) {
	if ctx.Err() != nil {
		return
	}
	t.sendErrors.Add(1)
	log.Printf("mirnet send: %v", err)
	t.reportAll(b.dests)
	time.Sleep(10 * time.Millisecond) // do not spin on a daemon that is gone
}

// snapLoop sends each snapshot with a unary Send and reports the outcome.
func (t *Mirnet) snapLoop(ctx context.Context) {
	for {
		var m raftpb.Message
		select {
		case <-ctx.Done():
			return
		case m = <-t.snaps:
		}
		payload, err := m.Marshal()
		if err == nil {
			callCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
			_, err = t.client.Send(callCtx, &mirnetv1.SendRequest{Messages: []*mirnetv1.OutboundMessage{{Destinations: []string{NodeName(m.To)}, Payload: payload, Lane: LaneBulk}}})
			cancel()
		}
		if err != nil {
			t.sendErrors.Add(1)
			log.Printf("mirnet snapshot to %d: %v", m.To, err)
			t.h.ReportUnreachable(m.To)
			t.h.ReportSnapshot(m.To, raft.SnapshotFailure)
			continue
		}
		// queued: the daemon delivers it exactly once while both daemons live
		t.sent.Add(1)
		t.h.ReportSnapshot(m.To, raft.SnapshotFinish)
	}
}

func (t *Mirnet) receive(ctx context.Context, lane string) {
	for ctx.Err() == nil {
		stream, err := t.client.Receive(ctx, &mirnetv1.ReceiveRequest{Lanes: []string{lane}, MaxBatchMessages: 1024})
		for err == nil {
			var res *mirnetv1.ReceiveResponse
			res, err = stream.Recv()
			if err != nil {
				break
			}
			for _, in := range res.Messages {
				var m raftpb.Message
				if uerr := m.Unmarshal(in.Payload); uerr != nil {
					log.Printf("from %s on %s: not a raft message: %v", in.From, lane, uerr)
					continue
				}
				t.received.Add(1)
				if perr := t.h.Process(ctx, m); perr != nil && ctx.Err() == nil {
					log.Printf("step %v from %s: %v", m.Type, in.From, perr)
				}
			}
		}
		if ctx.Err() == nil {
			log.Printf("mirnet receive %s: %v", lane, err)
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// statusLoop reports members whose connection is not open as unreachable.
func (t *Mirnet) statusLoop(ctx context.Context) {
	ticker := time.NewTicker(t.statusEvery)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		callCtx, cancel := context.WithTimeout(ctx, t.statusEvery*5)
		status, err := t.client.GetStatus(callCtx, &mirnetv1.GetStatusRequest{})
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				log.Printf("mirnet status: %v", err)
			}
			continue
		}
		for _, p := range status.Peers {
			if p.State == mirnetv1.ConnectionState_CONNECTION_STATE_OPEN || p.State == mirnetv1.ConnectionState_CONNECTION_STATE_LOCAL {
				continue
			}
			id, err := RaftID(p.NodeId)
			if err != nil || id == t.self {
				continue
			}
			t.unreachable.Add(1)
			t.h.ReportUnreachable(id)
		}
	}
}

// Stats are the transport's counters.
func (t *Mirnet) Stats() map[string]uint64 {
	return map[string]uint64{"sent": t.sent.Load(), "received": t.received.Load(), "dropped": t.dropped.Load(), "sendErrors": t.sendErrors.Load(), "reportedUnreachable": t.unreachable.Load()}
}

// Close stops the loops and the connection.
func (t *Mirnet) Close() error {
	if t.cancel == nil {
		return nil
	}
	t.cancel()
	t.wg.Wait()
	return t.conn.Close()
}
