// Command pingpong measures the round trip of a message from a Go client
// through two mirnet daemons and back: the client of daemon A sends on a
// SendStream, the client of daemon B receives it on Receive and sends it
// straight back, A's client receives it. What the daemon hop costs a Go
// consensus node, without the node's own behaviour.
package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"sort"
	"sync"
	"time"

	mirnetv1 "github.com/mirnet/mirnet/gen/go/mirnet/v1"
	"google.golang.org/grpc"
)

func main() {
	apiA := flag.String("a", "", "API host:port of daemon A (the pinging side)")
	apiB := flag.String("b", "", "API host:port of daemon B (the echoing side)")
	nodeA := flag.String("a-node", "n1", "mirnet node id of A")
	nodeB := flag.String("b-node", "n2", "mirnet node id of B")
	lane := flag.String("lane", "consensus", "lane of the pings and pongs")
	size := flag.Int("bytes", 200, "payload bytes")
	inFlight := flag.Int("in-flight", 1, "pings outstanding at once")
	seconds := flag.Float64("seconds", 3, "how long to ping")
	flag.Parse()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, b := dial(ctx, *apiA), dial(ctx, *apiB)

	// B: echo everything back to A
	go func() {
		out, err := b.SendStream(ctx)
		check(err)
		in, err := b.Receive(ctx, &mirnetv1.ReceiveRequest{Lanes: []string{*lane}, MaxBatchMessages: 1024})
		check(err)
		for {
			res, err := in.Recv()
			if err != nil {
				return
			}
			req := &mirnetv1.SendStreamRequest{}
			for _, m := range res.Messages {
				req.Messages = append(req.Messages, &mirnetv1.OutboundMessage{Destinations: []string{*nodeA}, Payload: m.Payload, Lane: *lane})
			}
			if err := out.Send(req); err != nil {
				return
			}
		}
	}()

	in, err := a.Receive(ctx, &mirnetv1.ReceiveRequest{Lanes: []string{*lane}, MaxBatchMessages: 1024})
	check(err)
	out, err := a.SendStream(ctx)
	check(err)
	if *size < 16 {
		log.Fatal("pingpong: -bytes must be at least 16 (a timestamp and a sequence number)")
	}
	var mu sync.Mutex
	sendOne := func(seq uint64) {
		p := make([]byte, *size)
		binary.BigEndian.PutUint64(p, uint64(time.Now().UnixNano()))
		binary.BigEndian.PutUint64(p[8:], seq)
		mu.Lock()
		defer mu.Unlock()
		check(out.Send(&mirnetv1.SendStreamRequest{Messages: []*mirnetv1.OutboundMessage{{Destinations: []string{*nodeB}, Payload: p, Lane: *lane}}}))
	}
	rx := make(chan []*mirnetv1.InboundMessage, 64)
	go func() {
		for {
			res, err := in.Recv()
			if err != nil {
				close(rx)
				return
			}
			rx <- res.Messages
		}
	}()
	// until B's Receive stream is open, the daemon discards what reaches it: ping until one comes back
	for answered := false; !answered; {
		sendOne(0)
		select {
		case _, ok := <-rx:
			if !ok {
				log.Fatal("pingpong: A's Receive stream ended")
			}
			answered = true
		case <-time.After(20 * time.Millisecond):
		}
	}
	seq := uint64(0)
	// run pings for d with inFlight outstanding; answers to pings of an earlier run are ignored
	run := func(d time.Duration) (rtts []float64, elapsed float64) {
		first := seq + 1
		start := time.Now()
		deadline := start.Add(d)
		outstanding := 0
		for ; outstanding < *inFlight; outstanding++ {
			seq++
			sendOne(seq)
		}
		for outstanding > 0 {
			msgs, ok := <-rx
			if !ok {
				log.Fatal("pingpong: A's Receive stream ended")
			}
			now := time.Now()
			for _, m := range msgs {
				if binary.BigEndian.Uint64(m.Payload[8:]) < first {
					continue
				}
				sent := time.Unix(0, int64(binary.BigEndian.Uint64(m.Payload)))
				rtts = append(rtts, float64(now.Sub(sent).Microseconds())/1000)
				outstanding--
				if now.Before(deadline) {
					seq++
					sendOne(seq)
					outstanding++
				}
			}
		}
		return rtts, time.Since(start).Seconds()
	}
	run(500 * time.Millisecond) // warm up
	rtts, elapsed := run(time.Duration(*seconds * float64(time.Second)))
	sort.Float64s(rtts)
	pct := func(p float64) float64 { return rtts[int(p*float64(len(rtts)-1))] }
	_ = json.NewEncoder(os.Stdout).Encode(map[string]interface{}{"roundTrips": len(rtts), "perSec": float64(len(rtts)) / elapsed, "p50Ms": pct(0.5), "p99Ms": pct(0.99), "inFlight": *inFlight})
}

func dial(ctx context.Context, addr string) mirnetv1.TransportServiceClient {
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := grpc.DialContext(dctx, addr, grpc.WithInsecure(), grpc.WithBlock())
	check(err)
	return mirnetv1.NewTransportServiceClient(conn)
}

func check(err error) {
	if err != nil {
		log.Fatal(fmt.Errorf("pingpong: %w", err))
	}
}
