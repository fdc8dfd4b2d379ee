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
// reports), one Receive stream per lane, and a WatchPeers stream: a member
// whose connection is not open is reported unreachable when the daemon says
// so, and again every statusEvery while it lasts. The messages
// bound for one member on one lane, of one Ready or of several that queued
// up while the previous request was being written, travel packed in one
// mirnet payload (batch.go).
type Mirnet struct {
	api         string
	self        uint64
	statusEvery time.Duration

	conn   *grpc.ClientConn
	client mirnetv1.TransportServiceClient
	h      Handler
	cancel context.CancelFunc
	wg     sync.WaitGroup

	out   chan []outMsg
	snaps chan raftpb.Message

	sent, received, dropped, sendErrors, unreachable atomic.Uint64
	// payloads and SendStream requests written, payloads received
	sentPayloads, sendRequests, receivedPayloads atomic.Uint64
}

// outMsg is a marshalled raft message waiting for the send loop.
type outMsg struct {
	to   uint64
	lane string
	data []byte
}

// maxReadiesPerRequest bounds how many queued Readys one SendStream request packs.
const maxReadiesPerRequest = 256

// NewMirnet is a transport over the daemon whose API listens on api (host:port).
func NewMirnet(api string, self uint64, statusEvery time.Duration) *Mirnet {
	return &Mirnet{api: api, self: self, statusEvery: statusEvery, out: make(chan []outMsg, 4096), snaps: make(chan raftpb.Message, 16)}
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
	t.loop(func() { t.peerLoop(ctx) })
	return nil
}

func (t *Mirnet) loop(f func()) {
	t.wg.Add(1)
	go func() { defer t.wg.Done(); f() }()
}

// Send marshals the messages and queues them for the send loop (never blocks).
func (t *Mirnet) Send(msgs []raftpb.Message) {
	batch := make([]outMsg, 0, len(msgs))
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
		data, err := m.Marshal()
		if err != nil {
			log.Printf("marshal %v: %v", m.Type, err)
			continue
		}
		batch = append(batch, outMsg{to: m.To, lane: Lane(m.Type), data: data})
	}
	if len(batch) == 0 {
		return
	}
	select {
	case t.out <- batch:
	default:
		t.dropped.Add(uint64(len(batch)))
		t.reportAll(batch)
	}
}

// reportAll reports each destination of batch unreachable, once.
func (t *Mirnet) reportAll(batch []outMsg) {
	var reported []uint64
next:
	for _, m := range batch {
		for _, id := range reported {
			if id == m.to {
				continue next
			}
		}
		reported = append(reported, m.to)
		t.unreachable.Add(1)
		t.h.ReportUnreachable(m.to)
	}
}

// sendLoop writes what Send queued to a SendStream, opening a new one after
// an error. Each request takes every Ready queued by then (up to
// maxReadiesPerRequest) and packs it per member and lane.
func (t *Mirnet) sendLoop(ctx context.Context) {
	var stream mirnetv1.TransportService_SendStreamClient
	var pending []outMsg
	for {
		select {
		case <-ctx.Done():
			if stream != nil {
				_, _ = stream.CloseAndRecv()
			}
			return
		case b := <-t.out:
			pending = append(pending[:0], b...)
		}
	drain:
		for i := 1; i < maxReadiesPerRequest; i++ {
			select {
			case b := <-t.out:
				pending = append(pending, b...)
			default:
				break drain
			}
		}
		req := pack(pending)
		if stream == nil {
			s, err := t.client.SendStream(ctx)
			if err != nil {
				t.failed(ctx, pending, err)
				continue
			}
			stream = s
		}
		if err := stream.Send(req); err != nil {
			// the daemon ended the stream: its status says why
			_, err = stream.CloseAndRecv()
			stream = nil
			t.failed(ctx, pending, err)
			continue
		}
		t.sent.Add(uint64(len(pending)))
		t.sentPayloads.Add(uint64(len(req.Messages)))
		t.sendRequests.Add(1)
	}
}

// pack groups messages by member and lane, in order, into payloads of at
// most maxBatchPayloadBytes (one larger message goes alone).
func pack(msgs []outMsg) *mirnetv1.SendStreamRequest {
	type key struct {
		to   uint64
		lane string
	}
	req := &mirnetv1.SendStreamRequest{}
	open := map[key]*mirnetv1.OutboundMessage{}
	for _, m := range msgs {
		k := key{m.to, m.lane}
		o := open[k]
		if o == nil || len(o.Payload)+frameBytes(len(m.data)) > maxBatchPayloadBytes {
			o = &mirnetv1.OutboundMessage{Destinations: []string{NodeName(m.to)}, Lane: m.lane, Payload: make([]byte, 0, frameBytes(len(m.data)))}
			open[k] = o
			req.Messages = append(req.Messages, o)
		}
		o.Payload = appendFrame(o.Payload, m.data)
	}
	return req
}

func (t *Mirnet) failed(ctx context.Context, batch []outMsg, err error) {
	if ctx.Err() != nil {
		return
	}
	t.sendErrors.Add(1)
	log.Printf("mirnet send: %v", err)
	t.reportAll(batch)
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
		data, err := m.Marshal()
		if err == nil {
			payload := appendFrame(make([]byte, 0, frameBytes(len(data))), data)
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
				t.receivedPayloads.Add(1)
				from := in.From
				derr := decodeBatch(in.Payload, func(m raftpb.Message) {
					t.received.Add(1)
					if perr := t.h.Process(ctx, m); perr != nil && ctx.Err() == nil {
						log.Printf("step %v from %s: %v", m.Type, from, perr)
					}
				})
				if derr != nil {
					log.Printf("from %s on %s: %v", from, lane, derr)
				}
			}
		}
		if ctx.Err() == nil {
			log.Printf("mirnet receive %s: %v", lane, err)
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// peerLoop follows the daemon's WatchPeers stream: a member whose
// connection is not open is reported unreachable at once, and again every
// statusEvery until it is open again (raft then keeps probing it gently).
func (t *Mirnet) peerLoop(ctx context.Context) {
	events := make(chan *mirnetv1.WatchPeersResponse, 64)
	go func() {
		defer close(events)
		for ctx.Err() == nil {
			stream, err := t.client.WatchPeers(ctx, &mirnetv1.WatchPeersRequest{})
			for err == nil {
				var e *mirnetv1.WatchPeersResponse
				if e, err = stream.Recv(); err == nil {
					select {
					case events <- e:
					case <-ctx.Done():
						return
					}
				}
			}
			if ctx.Err() != nil {
				return
			}
			log.Printf("mirnet WatchPeers: %v (watching again)", err)
			time.Sleep(100 * time.Millisecond)
		}
	}()
	ticker := time.NewTicker(t.statusEvery)
	defer ticker.Stop()
	down := map[uint64]bool{}
	report := func(id uint64) {
		t.unreachable.Add(1)
		t.h.ReportUnreachable(id)
	}
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-events:
			if !ok {
				return
			}
			id, err := RaftID(e.NodeId)
			if err != nil || id == t.self {
				continue
			}
			if e.State == mirnetv1.ConnectionState_CONNECTION_STATE_OPEN {
				delete(down, id)
			} else if !down[id] {
				down[id] = true
				report(id)
			}
		case <-ticker.C:
			for id := range down {
				report(id)
			}
		}
	}
}

// Stats are the transport's counters.
func (t *Mirnet) Stats() map[string]uint64 {
	return map[string]uint64{"sent": t.sent.Load(), "received": t.received.Load(), "dropped": t.dropped.Load(), "sendErrors": t.sendErrors.Load(), "reportedUnreachable": t.unreachable.Load(),
		"sentPayloads": t.sentPayloads.Load(), "sendRequests": t.sendRequests.Load(), "receivedPayloads": t.receivedPayloads.Load()}
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
