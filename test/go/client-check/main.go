// Command client-check calls every RPC of mirnet.v1.TransportService through
// the committed Go stubs (gen/go) and grpc-go, against real daemons, and
// checks the answers and the error codes. test/go-client.test.ts starts the
// daemons and runs it:
//
//	client-check -a HOST:PORT -b HOST:PORT -secure HOST:PORT -ca FILE -cert FILE -key FILE -token FILE
//
// a and b: two daemons with the default lanes, h2c, no token, not yet
// connected; secure: a third one that wants the bearer token in -token, over
// TLS with a server certificate signed by the CA in -ca and a client
// certificate signed by the same CA (-cert, -key).
//
// It prints "ok <check>" or "ok <check> -- <details>" per check passed and
// stops at the first failure with "FAIL <check>: <what was wrong>" on stderr
// and exit status 1 (2 for bad usage).
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io/ioutil"
	"os"
	"sort"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	mirnetv1 "github.com/mirnet/mirnet/gen/go/mirnet/v1"
)

// callTimeout is the deadline of every call but the ones that test deadlines.
const callTimeout = 20 * time.Second

// check is the check running now, named in a failure.
var check string

func begin(name string) { check = name }

func pass(format string, args ...interface{}) {
	line := "ok " + check
	if format != "" {
		line += " -- " + fmt.Sprintf(format, args...)
	}
	fmt.Println(line)
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "FAIL %s: %s\n", check, fmt.Sprintf(format, args...))
	os.Exit(1)
}

func must(err error, what string) {
	if err != nil {
		fail("%s: %v", what, err)
	}
}

// wantCode fails unless err is a status with the given code.
func wantCode(err error, want codes.Code, what string) string {
	if err == nil {
		fail("%s succeeded, want %s", what, want)
	}
	if got := status.Code(err); got != want {
		fail("%s: got %s (%v), want %s", what, got, err, want)
	}
	return status.Convert(err).Message()
}

func ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), callTimeout)
}

// bearerToken sends `authorization: Bearer <token>` with every call.
type bearerToken string

func (t bearerToken) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(t)}, nil
}

// RequireTransportSecurity: the token only ever goes over TLS.
func (bearerToken) RequireTransportSecurity() bool { return true }

// dial connects and waits for the connection (grpc-go 1.33: no
// grpc.NewClient, no credentials/insecure).
func dial(addr string, opts ...grpc.DialOption) *grpc.ClientConn {
	c, cancel := ctx()
	defer cancel()
	conn, err := grpc.DialContext(c, addr, append([]grpc.DialOption{grpc.WithBlock()}, opts...)...)
	must(err, "dial "+addr)
	return conn
}

func main() {
	addrA := flag.String("a", "", "API of daemon a (h2c)")
	addrB := flag.String("b", "", "API of daemon b (h2c)")
	addrSecure := flag.String("secure", "", "API of the daemon with a token and TLS")
	caFile := flag.String("ca", "", "CA of the secure daemon's certificate and of the client certificate (PEM)")
	certFile := flag.String("cert", "", "client certificate (PEM)")
	keyFile := flag.String("key", "", "client certificate's key (PEM)")
	tokenFile := flag.String("token", "", "file holding the secure daemon's token")
	flag.Parse()
	if *addrA == "" || *addrB == "" || *addrSecure == "" || *caFile == "" || *certFile == "" || *keyFile == "" || *tokenFile == "" {
		fmt.Fprintln(os.Stderr, "usage: client-check -a HOST:PORT -b HOST:PORT -secure HOST:PORT -ca FILE -cert FILE -key FILE -token FILE")
		os.Exit(2)
	}

	connA := dial(*addrA, grpc.WithInsecure())
	defer connA.Close()
	connB := dial(*addrB, grpc.WithInsecure())
	defer connB.Close()
	a := mirnetv1.NewTransportServiceClient(connA)
	b := mirnetv1.NewTransportServiceClient(connB)

	infoA := checkGetInfo(a, "a")
	infoB := checkGetInfo(b, "b")
	checkConnect(a, b, infoA, infoB)
	checkAwaitConnections(a)
	checkSend(a)
	checkSendStream(a)
	checkReceive(b)
	checkGetStatus(a, b)
	checkPull(a, b)
	checkWatchPeers(a)
	checkHealth(connA)
	checkSecure(*addrSecure, *caFile, *certFile, *keyFile, *tokenFile)
}

func checkGetInfo(client mirnetv1.TransportServiceClient, id string) *mirnetv1.GetInfoResponse {
	begin("GetInfo " + id)
	c, cancel := ctx()
	defer cancel()
	info, err := client.GetInfo(c, &mirnetv1.GetInfoRequest{})
	must(err, "GetInfo")
	if info.NodeId != id {
		fail("node_id %q, want %q", info.NodeId, id)
	}
	if len(info.ListenAddresses) == 0 || !strings.HasSuffix(info.ListenAddresses[0], "/p2p/"+info.PeerId) {
		fail("listen_addresses %q do not end in /p2p/%s", info.ListenAddresses, info.PeerId)
	}
	if info.MaxPayloadBytes == 0 {
		fail("max_payload_bytes is 0")
	}
	var lanes []string
	for _, l := range info.Lanes {
		lanes = append(lanes, l.Name)
	}
	if strings.Join(lanes, ",") != "control,consensus,bulk" || !info.Lanes[0].Strict || info.Lanes[1].Weight == 0 {
		fail("lanes %v, want the default lanes control (strict), consensus, bulk", info.Lanes)
	}
	if info.DefaultLane != "consensus" {
		fail("default_lane %q, want consensus", info.DefaultLane)
	}
	pass("peer %s, lanes %v, default lane %s", info.PeerId, lanes, info.DefaultLane)
	return info
}

func checkConnect(a, b mirnetv1.TransportServiceClient, infoA, infoB *mirnetv1.GetInfoResponse) {
	membership := &mirnetv1.ConnectRequest{Nodes: []*mirnetv1.Node{
		{Id: "a", Address: infoA.ListenAddresses[0]},
		{Id: "b", Address: infoB.ListenAddresses[0]},
	}}
	c, cancel := ctx()
	defer cancel()

	begin("Connect a")
	res, err := a.Connect(c, membership)
	must(err, "Connect")
	if strings.Join(res.Added, ",") != "b" || len(res.Removed)+len(res.Changed) != 0 {
		fail("added %v removed %v changed %v, want added [b]", res.Added, res.Removed, res.Changed)
	}
	pass("added %v", res.Added)

	begin("Connect b")
	res, err = b.Connect(c, membership)
	must(err, "Connect")
	if strings.Join(res.Added, ",") != "a" {
		fail("added %v, want [a]", res.Added)
	}
	pass("added %v", res.Added)

	begin("Connect again changes nothing")
	res, err = a.Connect(c, membership)
	must(err, "Connect")
	if len(res.Added)+len(res.Removed)+len(res.Changed) != 0 {
		fail("added %v removed %v changed %v, want nothing", res.Added, res.Removed, res.Changed)
	}
	pass("")

	begin("Connect with a bad address: INVALID_ARGUMENT")
	bad := &mirnetv1.ConnectRequest{Nodes: append(membership.Nodes, &mirnetv1.Node{Id: "x", Address: "not-a-multiaddr"})}
	_, err = a.Connect(c, bad)
	msg := wantCode(err, codes.InvalidArgument, "Connect")
	if !strings.Contains(msg, "not-a-multiaddr") {
		fail("message %q does not name the address", msg)
	}
	pass("%s", msg)
}

func checkAwaitConnections(a mirnetv1.TransportServiceClient) {
	begin("AwaitConnections 2")
	c, cancel := ctx()
	defer cancel()
	res, err := a.AwaitConnections(c, &mirnetv1.AwaitConnectionsRequest{MinConnected: 2})
	must(err, "AwaitConnections")
	if res.Connected < 2 {
		fail("connected %d, want at least 2", res.Connected)
	}
	pass("connected %d", res.Connected)

	begin("AwaitConnections 0: INVALID_ARGUMENT")
	_, err = a.AwaitConnections(c, &mirnetv1.AwaitConnectionsRequest{MinConnected: 0})
	pass("%s", wantCode(err, codes.InvalidArgument, "AwaitConnections"))

	begin("AwaitConnections 3 of 2 members: DEADLINE_EXCEEDED")
	short, cancelShort := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancelShort()
	_, err = a.AwaitConnections(short, &mirnetv1.AwaitConnectionsRequest{MinConnected: 3})
	wantCode(err, codes.DeadlineExceeded, "AwaitConnections")
	pass("")
}

func send(client mirnetv1.TransportServiceClient, messages ...*mirnetv1.OutboundMessage) (*mirnetv1.SendResponse, error) {
	c, cancel := ctx()
	defer cancel()
	return client.Send(c, &mirnetv1.SendRequest{Messages: messages})
}

func msg(payload, lane string, destinations ...string) *mirnetv1.OutboundMessage {
	return &mirnetv1.OutboundMessage{Destinations: destinations, Payload: []byte(payload), Lane: lane}
}

func checkSend(a mirnetv1.TransportServiceClient) {
	begin("Send on lane control")
	res, err := send(a, msg("vote 1", "control", "b"))
	must(err, "Send")
	if res.Queued != 1 {
		fail("queued %d, want 1", res.Queued)
	}
	pass("queued %d", res.Queued)

	begin("Send on the default lane")
	res, err = send(a, msg("block 1", "", "b"))
	must(err, "Send")
	if res.Queued != 1 {
		fail("queued %d, want 1", res.Queued)
	}
	pass("queued %d", res.Queued)

	begin("Send to an unknown destination: NOT_FOUND")
	// the valid first message is not queued either: b receives no "lost"
	_, err = send(a, msg("lost", "", "b"), msg("lost", "", "zz"))
	m := wantCode(err, codes.NotFound, "Send")
	if !strings.Contains(m, `"zz"`) {
		fail("message %q does not name the destination", m)
	}
	pass("%s", m)

	begin("Send without destinations: INVALID_ARGUMENT")
	_, err = send(a, msg("lost", ""))
	pass("%s", wantCode(err, codes.InvalidArgument, "Send"))

	begin("Send on an unknown lane: INVALID_ARGUMENT")
	_, err = send(a, msg("lost", "no-such-lane", "b"))
	m = wantCode(err, codes.InvalidArgument, "Send")
	if !strings.Contains(m, "no-such-lane") {
		fail("message %q does not name the lane", m)
	}
	pass("%s", m)
}

func checkSendStream(a mirnetv1.TransportServiceClient) {
	begin("SendStream")
	c, cancel := ctx()
	defer cancel()
	stream, err := a.SendStream(c)
	must(err, "SendStream")
	for _, p := range []string{"bulk 1", "bulk 2"} {
		must(stream.Send(&mirnetv1.SendStreamRequest{Messages: []*mirnetv1.OutboundMessage{msg(p, "bulk", "b")}}), "Send on the stream")
	}
	res, err := stream.CloseAndRecv()
	must(err, "CloseAndRecv")
	if res.Requests != 2 || res.Queued != 2 {
		fail("requests %d queued %d, want 2 and 2", res.Requests, res.Queued)
	}
	pass("requests %d, queued %d", res.Requests, res.Queued)

	begin("SendStream to an unknown destination: NOT_FOUND, earlier requests queued")
	stream, err = a.SendStream(c)
	must(err, "SendStream")
	must(stream.Send(&mirnetv1.SendStreamRequest{Messages: []*mirnetv1.OutboundMessage{msg("bulk 3", "bulk", "b")}}), "Send on the stream")
	// the server may end the stream before this request's write completes:
	// its error is the status, which CloseAndRecv returns
	_ = stream.Send(&mirnetv1.SendStreamRequest{Messages: []*mirnetv1.OutboundMessage{msg("lost", "bulk", "zz")}})
	_, err = stream.CloseAndRecv()
	pass("%s", wantCode(err, codes.NotFound, "SendStream"))
}

// receive reads from a Receive stream on client until it holds n messages,
// then cancels the stream.
func receive(client mirnetv1.TransportServiceClient, lanes []string, n int) []*mirnetv1.InboundMessage {
	c, cancel := ctx()
	defer cancel() // ends the stream: the daemon hands it nothing more
	stream, err := client.Receive(c, &mirnetv1.ReceiveRequest{Lanes: lanes})
	must(err, "Receive")
	var got []*mirnetv1.InboundMessage
	for len(got) < n {
		batch, err := stream.Recv()
		must(err, fmt.Sprintf("Receive after %d of %d messages", len(got), n))
		got = append(got, batch.Messages...)
	}
	return got
}

func show(ms []*mirnetv1.InboundMessage) string {
	var s []string
	for _, m := range ms {
		s = append(s, fmt.Sprintf("%s/%s: %s", m.From, m.Lane, m.Payload))
	}
	return strings.Join(s, ", ")
}

func checkReceive(b mirnetv1.TransportServiceClient) {
	// a sent b, in this order: vote 1 (control), block 1 (consensus),
	// bulk 1, bulk 2, bulk 3 (bulk)
	begin("Receive only lane control")
	got := receive(b, []string{"control"}, 1)
	if len(got) != 1 || got[0].From != "a" || got[0].Lane != "control" || !bytes.Equal(got[0].Payload, []byte("vote 1")) {
		fail("got [%s], want [a/control: vote 1]", show(got))
	}
	pass("%s", show(got))

	begin("Receive every lane")
	got = receive(b, nil, 4)
	sort.SliceStable(got, func(i, j int) bool { return got[i].Lane < got[j].Lane }) // FIFO per lane only
	if want := "a/bulk: bulk 1, a/bulk: bulk 2, a/bulk: bulk 3, a/consensus: block 1"; show(got) != want {
		fail("got [%s], want [%s]", show(got), want)
	}
	pass("%s", show(got))

	begin("Receive on an unknown lane: INVALID_ARGUMENT")
	c, cancel := ctx()
	defer cancel()
	stream, err := b.Receive(c, &mirnetv1.ReceiveRequest{Lanes: []string{"no-such-lane"}})
	if err == nil {
		_, err = stream.Recv() // a server stream's status comes with its first read
	}
	pass("%s", wantCode(err, codes.InvalidArgument, "Receive"))
}

// pull calls Pull on client with a deadline above wait_ms.
func pull(client mirnetv1.TransportServiceClient, req *mirnetv1.PullRequest) (*mirnetv1.PullResponse, error) {
	c, cancel := ctx()
	defer cancel()
	return client.Pull(c, req)
}

func checkPull(a, b mirnetv1.TransportServiceClient) {
	begin("Pull with nothing waiting: empty after wait_ms")
	start := time.Now()
	res, err := pull(b, &mirnetv1.PullRequest{WaitMs: 200})
	must(err, "Pull")
	if took := time.Since(start); len(res.Messages) != 0 || took < 190*time.Millisecond {
		fail("got [%s] after %v, want nothing after 200ms", show(res.Messages), took)
	}
	pass("")

	if _, err := send(a, msg("block 2", "", "b"), msg("block 3", "", "b"), msg("vote 2", "control", "b")); err != nil {
		fail("Send: %v", err)
	}

	begin("Pull only lane control, waiting for it")
	res, err = pull(b, &mirnetv1.PullRequest{Lanes: []string{"control"}, WaitMs: 10000})
	must(err, "Pull")
	if show(res.Messages) != "a/control: vote 2" {
		fail("got [%s], want [a/control: vote 2]", show(res.Messages))
	}
	pass("%s", show(res.Messages))

	begin("Pull max_messages 1, then the next")
	var got []*mirnetv1.InboundMessage
	for i := 0; i < 2; i++ {
		res, err = pull(b, &mirnetv1.PullRequest{MaxMessages: 1, WaitMs: 10000})
		must(err, "Pull")
		if len(res.Messages) != 1 {
			fail("pull %d got [%s], want one message", i+1, show(res.Messages))
		}
		got = append(got, res.Messages...)
	}
	if want := "a/consensus: block 2, a/consensus: block 3"; show(got) != want {
		fail("got [%s], want [%s]", show(got), want)
	}
	pass("%s", show(got))

	begin("Pull on an unknown lane: INVALID_ARGUMENT")
	_, err = pull(b, &mirnetv1.PullRequest{Lanes: []string{"no-such-lane"}})
	m := wantCode(err, codes.InvalidArgument, "Pull")
	if !strings.Contains(m, "no-such-lane") {
		fail("message %q does not name the lane", m)
	}
	pass("%s", m)
}

func peer(s *mirnetv1.GetStatusResponse, id string) *mirnetv1.PeerStatus {
	for _, p := range s.Peers {
		if p.NodeId == id {
			return p
		}
	}
	fail("no peer %q in %v", id, s.Peers)
	return nil
}

// laneCounts is "lane=n ..." of one counter over a peer's lanes.
func laneCounts(p *mirnetv1.PeerStatus, counter func(*mirnetv1.LaneStatus) uint64) string {
	var s []string
	for _, l := range p.Lanes {
		s = append(s, fmt.Sprintf("%s=%d", l.Lane, counter(l)))
	}
	return strings.Join(s, " ")
}

func checkWatchPeers(a mirnetv1.TransportServiceClient) {
	begin("WatchPeers: every member's state first")
	c, cancel := ctx()
	defer cancel()
	stream, err := a.WatchPeers(c, &mirnetv1.WatchPeersRequest{})
	must(err, "WatchPeers")
	states := map[string]mirnetv1.ConnectionState{}
	for len(states) < 2 {
		e, err := stream.Recv()
		must(err, "WatchPeers Recv")
		states[e.NodeId] = e.State
	}
	if states["a"] != mirnetv1.ConnectionState_CONNECTION_STATE_LOCAL || states["b"] != mirnetv1.ConnectionState_CONNECTION_STATE_OPEN {
		fail("a %s, b %s; want LOCAL, OPEN", states["a"], states["b"])
	}
	pass("a %s, b %s", states["a"], states["b"])
}

func checkGetStatus(a, b mirnetv1.TransportServiceClient) {
	c, cancel := ctx()
	defer cancel()

	begin("GetStatus a")
	s, err := a.GetStatus(c, &mirnetv1.GetStatusRequest{})
	must(err, "GetStatus")
	if s.NodeId != "a" || len(s.Peers) != 2 || s.Totals.GetConnected() != 2 {
		fail("node %q, %d peers, %d connected; want a, 2 (x was not applied), 2", s.NodeId, len(s.Peers), s.Totals.GetConnected())
	}
	if self := peer(s, "a"); self.State != mirnetv1.ConnectionState_CONNECTION_STATE_LOCAL {
		fail("own node in state %s, want LOCAL", self.State)
	}
	pb := peer(s, "b")
	sent := laneCounts(pb, func(l *mirnetv1.LaneStatus) uint64 { return l.SentMessages })
	if pb.State != mirnetv1.ConnectionState_CONNECTION_STATE_OPEN || pb.SentMessages != 5 || sent != "control=1 consensus=1 bulk=3" {
		fail("b: state %s, sent %d (%s); want OPEN, 5 (control=1 consensus=1 bulk=3)", pb.State, pb.SentMessages, sent)
	}
	pass("b %s, sent %s", pb.State, sent)

	begin("GetStatus b")
	s, err = b.GetStatus(c, &mirnetv1.GetStatusRequest{})
	must(err, "GetStatus")
	pa := peer(s, "a")
	received := laneCounts(pa, func(l *mirnetv1.LaneStatus) uint64 { return l.ReceivedMessages })
	if pa.ReceivedMessages != 5 || received != "control=1 consensus=1 bulk=3" || s.Totals.GetDeliveredMessages() != 5 {
		fail("a: received %d (%s), delivered %d; want 5 (control=1 consensus=1 bulk=3), 5",
			pa.ReceivedMessages, received, s.Totals.GetDeliveredMessages())
	}
	pass("a received %s, delivered %d", received, s.Totals.GetDeliveredMessages())
}

func checkHealth(conn *grpc.ClientConn) {
	begin("grpc.health.v1 Check")
	c, cancel := ctx()
	defer cancel()
	health := grpc_health_v1.NewHealthClient(conn)
	for _, service := range []string{"", "mirnet.v1.TransportService"} {
		res, err := health.Check(c, &grpc_health_v1.HealthCheckRequest{Service: service})
		must(err, fmt.Sprintf("Check %q", service))
		if res.Status != grpc_health_v1.HealthCheckResponse_SERVING {
			fail("service %q is %s, want SERVING", service, res.Status)
		}
	}
	pass("SERVING")
}

// callFails checks that GetInfo through a connection with these credentials
// fails with code: no WithBlock, so a failed handshake comes back from the call.
func callFails(addr string, creds credentials.TransportCredentials, code codes.Code) string {
	conn, err := grpc.Dial(addr, grpc.WithTransportCredentials(creds))
	must(err, "Dial")
	defer conn.Close()
	c, cancel := ctx()
	defer cancel()
	_, err = mirnetv1.NewTransportServiceClient(conn).GetInfo(c, &mirnetv1.GetInfoRequest{})
	return wantCode(err, code, "GetInfo")
}

func checkSecure(addr, caFile, certFile, keyFile, tokenFile string) {
	tokenBytes, err := ioutil.ReadFile(tokenFile)
	must(err, "token file")
	token := strings.TrimSpace(string(tokenBytes))

	caPEM, err := ioutil.ReadFile(caFile)
	must(err, "CA file")
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		fail("no certificate in %s", caFile)
	}
	clientCert, err := tls.LoadX509KeyPair(certFile, keyFile)
	must(err, "client certificate")

	begin("TLS with an unknown CA: UNAVAILABLE")
	// the system's roots do not include the test CA
	pass("%s", callFails(addr, credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{clientCert}}), codes.Unavailable))

	begin("TLS without a client certificate: UNAVAILABLE")
	pass("%s", callFails(addr, credentials.NewTLS(&tls.Config{RootCAs: roots}), codes.Unavailable))

	creds := credentials.NewTLS(&tls.Config{RootCAs: roots, Certificates: []tls.Certificate{clientCert}})
	conn := dial(addr, grpc.WithTransportCredentials(creds))
	defer conn.Close()
	client := mirnetv1.NewTransportServiceClient(conn)

	c, cancel := ctx()
	defer cancel()

	begin("TLS: health without a token")
	res, err := grpc_health_v1.NewHealthClient(conn).Check(c, &grpc_health_v1.HealthCheckRequest{})
	must(err, "Check")
	if res.Status != grpc_health_v1.HealthCheckResponse_SERVING {
		fail("%s, want SERVING", res.Status)
	}
	pass("SERVING")

	begin("TLS: no token: UNAUTHENTICATED")
	_, err = client.GetInfo(c, &mirnetv1.GetInfoRequest{})
	pass("%s", wantCode(err, codes.Unauthenticated, "GetInfo"))

	begin("TLS: wrong token: UNAUTHENTICATED")
	_, err = client.GetInfo(c, &mirnetv1.GetInfoRequest{}, grpc.PerRPCCredentials(bearerToken(token+"x")))
	pass("%s", wantCode(err, codes.Unauthenticated, "GetInfo"))

	begin("TLS: no token on a stream: UNAUTHENTICATED")
	stream, err := client.Receive(c, &mirnetv1.ReceiveRequest{})
	if err == nil {
		_, err = stream.Recv()
	}
	pass("%s", wantCode(err, codes.Unauthenticated, "Receive"))

	begin("TLS: no token on Pull: UNAUTHENTICATED")
	_, err = client.Pull(c, &mirnetv1.PullRequest{WaitMs: 1000})
	pass("%s", wantCode(err, codes.Unauthenticated, "Pull"))

	// every call of this connection with the token
	authed := dial(addr, grpc.WithTransportCredentials(creds), grpc.WithPerRPCCredentials(bearerToken(token)))
	defer authed.Close()
	secure := mirnetv1.NewTransportServiceClient(authed)

	begin("TLS: with the token")
	info, err := secure.GetInfo(c, &mirnetv1.GetInfoRequest{})
	must(err, "GetInfo")
	if _, err := send(secure, msg("to myself", "control", info.NodeId)); err != nil {
		fail("Send: %v", err)
	}
	got := receive(secure, []string{"control"}, 1)
	if len(got) != 1 || got[0].From != info.NodeId || string(got[0].Payload) != "to myself" {
		fail("received [%s], want [%s/control: to myself]", show(got), info.NodeId)
	}
	pass("node %s, received %s", info.NodeId, show(got))
}
