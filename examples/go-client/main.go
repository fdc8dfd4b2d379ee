// Command go-client joins its daemon to a membership, sends "hello" on the
// control lane to every other member and prints what they sent it:
//
//	go-client -api 127.0.0.1:7070 b=/ip4/10.0.0.8/tcp/9000/p2p/12D3KooW...
//
// Run it against every member's daemon (each with the others' addresses).
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"strings"
	"time"

	"google.golang.org/grpc"

	mirnetv1 "github.com/mirnet/mirnet/gen/go/mirnet/v1"
)

func main() {
	api := flag.String("api", "127.0.0.1:7070", "the daemon's API, HOST:PORT")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// h2c. grpc-go 1.33 (Debian 12) has neither grpc.NewClient nor
	// credentials/insecure: grpc.WithInsecure() is its way.
	conn, err := grpc.DialContext(ctx, *api, grpc.WithInsecure(), grpc.WithBlock())
	if err != nil {
		log.Fatalf("dial %s: %v", *api, err)
	}
	defer conn.Close()
	client := mirnetv1.NewTransportServiceClient(conn)

	info, err := client.GetInfo(ctx, &mirnetv1.GetInfoRequest{})
	if err != nil {
		log.Fatalf("GetInfo: %v", err)
	}
	nodes := []*mirnetv1.Node{{Id: info.NodeId, Address: info.ListenAddresses[0]}}
	var peers []string
	for _, arg := range flag.Args() { // ID=MULTIADDR
		id, address, _ := strings.Cut(arg, "=")
		nodes = append(nodes, &mirnetv1.Node{Id: id, Address: address})
		peers = append(peers, id)
	}
	if _, err := client.Connect(ctx, &mirnetv1.ConnectRequest{Nodes: nodes}); err != nil {
		log.Fatalf("Connect: %v", err) // codes.InvalidArgument for a bad entry
	}
	if _, err := client.AwaitConnections(ctx, &mirnetv1.AwaitConnectionsRequest{MinConnected: int32(len(nodes))}); err != nil {
		log.Fatalf("AwaitConnections: %v", err)
	}

	_, err = client.Send(ctx, &mirnetv1.SendRequest{Messages: []*mirnetv1.OutboundMessage{{
		Destinations: peers,
		Payload:      []byte("hello from " + info.NodeId),
		Lane:         "control", // empty: the default lane (GetInfo.DefaultLane)
	}}})
	if err != nil {
		log.Fatalf("Send: %v", err) // status.Code(err) == codes.NotFound for a non-member
	}

	// Receive the control lane only; cancelling its context (the deferred
	// cancel) ends the stream, so the daemon hands it nothing more.
	rctx, rcancel := context.WithCancel(ctx)
	defer rcancel()
	stream, err := client.Receive(rctx, &mirnetv1.ReceiveRequest{Lanes: []string{"control"}})
	if err != nil {
		log.Fatalf("Receive: %v", err)
	}
	for received := 0; received < len(peers); {
		batch, err := stream.Recv()
		if err != nil {
			log.Fatalf("Receive: %v", err)
		}
		for _, m := range batch.Messages {
			fmt.Printf("%s [%s]: %s\n", m.From, m.Lane, m.Payload)
			received++
		}
	}
}
