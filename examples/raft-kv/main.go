// Command raft-kv is a replicated key-value store on etcd's raft library
// (go.etcd.io/etcd/raft 3.4). Raft messages travel through the node's mirnet
// daemon (-transport mirnet, the default) or straight between the processes
// over TCP (-transport direct, the baseline). See README.md.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mirnet/mirnet/examples/raft-kv/transport"
)

func main() {
	id := flag.Uint64("id", 0, "this node's raft id (its mirnet node id is n<id>)")
	cluster := flag.String("cluster", "", "raft ids of the initial members, comma-separated (e.g. 1,2,3)")
	kind := flag.String("transport", "mirnet", "mirnet (through the daemon at -mirnet-api) or direct (TCP between the nodes)")
	mirnetAPI := flag.String("mirnet-api", "127.0.0.1:7000", "host:port of this node's mirnet daemon API")
	statusEvery := flag.Duration("mirnet-status-interval", 100*time.Millisecond, "how often a member whose connection is down (as WatchPeers says) is reported unreachable to raft again")
	directListen := flag.String("direct-listen", "", "with -transport direct: host:port to listen on for the other nodes")
	directPeers := flag.String("direct-peers", "", "with -transport direct: id=host:port of every member, comma-separated")
	httpAddr := flag.String("http", "127.0.0.1:8080", "HTTP front end: host:port, or unix:PATH for a Unix socket")
	dataDir := flag.String("data-dir", "", "folder of the write-ahead log (raft.wal); required, and kept across restarts")
	fsync := flag.Bool("fsync", true, "fsync the WAL after each Ready")
	tick := flag.Duration("tick", 100*time.Millisecond, "raft tick: heartbeats every tick, elections after 10-20 ticks")
	snapshotEntries := flag.Uint64("snapshot-entries", 10000, "applied entries between snapshots (each compacts the log)")
	catchUpEntries := flag.Uint64("catch-up-entries", 5000, "entries kept in the log behind a snapshot for slow followers")
	verbose := flag.Bool("v", false, "log raft's info lines")
	flag.Parse()

	ids, err := parseIDs(*cluster)
	if err != nil || *id == 0 || !contains(ids, *id) {
		log.Fatalf("-id must be one of -cluster (got -id %d, -cluster %q)", *id, *cluster)
	}
	if *dataDir == "" {
		log.Fatal("-data-dir is required: a raft node must not forget its term, vote and log (see README.md)")
	}
	var t transport.Transport
	switch *kind {
	case "mirnet":
		t = transport.NewMirnet(*mirnetAPI, *id, *statusEvery)
	case "direct":
		peers, err := parsePeers(*directPeers)
		if err != nil {
			log.Fatal(err)
		}
		for _, p := range ids {
			if _, ok := peers[p]; !ok {
				log.Fatalf("-direct-peers has no address for member %d", p)
			}
		}
		t = transport.NewDirect(*id, *directListen, peers)
	default:
		log.Fatalf("-transport %q: want mirnet or direct", *kind)
	}

	n, err := newKVNode(nodeConfig{id: *id, cluster: ids, tick: *tick, snapshotEntries: *snapshotEntries, catchUpEntries: *catchUpEntries, dataDir: *dataDir, fsync: *fsync, verbose: *verbose}, t)
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer cancel()
	if err := t.Start(ctx, n); err != nil {
		log.Fatalf("transport %s: %v", *kind, err)
	}
	go n.run(ctx)

	ln, err := listen(*httpAddr)
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Handler: n.httpHandler()}
	go func() {
		if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
			log.Fatal(err)
		}
	}()
	ready, _ := json.Marshal(map[string]interface{}{"event": "ready", "id": *id, "http": *httpAddr, "transport": *kind, "restarted": n.restarted})
	fmt.Println(string(ready))

	<-ctx.Done()
	shutdown, cancelShutdown := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancelShutdown()
	_ = srv.Shutdown(shutdown)
	<-n.done
	_ = t.Close()
	if n.wal != nil {
		_ = n.wal.close()
	}
}

func listen(addr string) (net.Listener, error) {
	if path := strings.TrimPrefix(addr, "unix:"); path != addr {
		_ = os.Remove(path)
		return net.Listen("unix", path)
	}
	return net.Listen("tcp", addr)
}

func parseIDs(s string) ([]uint64, error) {
	var ids []uint64
	for _, part := range strings.Split(s, ",") {
		id, err := strconv.ParseUint(strings.TrimSpace(part), 10, 64)
		if err != nil || id == 0 {
			return nil, fmt.Errorf("raft id %q is not a positive integer", part)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

func parsePeers(s string) (map[uint64]string, error) {
	peers := map[uint64]string{}
	for _, part := range strings.Split(s, ",") {
		kv := strings.SplitN(strings.TrimSpace(part), "=", 2)
		if len(kv) != 2 {
			return nil, fmt.Errorf("-direct-peers entry %q is not id=host:port", part)
		}
		id, err := strconv.ParseUint(kv[0], 10, 64)
		if err != nil || id == 0 {
			return nil, fmt.Errorf("-direct-peers entry %q: bad raft id", part)
		}
		peers[id] = kv[1]
	}
	return peers, nil
}

func contains(ids []uint64, id uint64) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// httpHandler serves PUT/GET /kv/<key>, GET /status and POST /bench.
func (n *kvNode) httpHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/kv/", func(w http.ResponseWriter, r *http.Request) {
		key := strings.TrimPrefix(r.URL.Path, "/kv/")
		if key == "" {
			http.Error(w, "no key in the path: /kv/<key>", http.StatusBadRequest)
			return
		}
		switch r.Method {
		case http.MethodPut:
			value, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			timeout := 5 * time.Second
			if ms, err := strconv.Atoi(r.URL.Query().Get("timeoutMs")); err == nil && ms > 0 {
				timeout = time.Duration(ms) * time.Millisecond
			}
			ctx, cancel := context.WithTimeout(r.Context(), timeout)
			defer cancel()
			if err := n.put(ctx, key, string(value)); err != nil {
				http.Error(w, err.Error(), http.StatusServiceUnavailable)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		case http.MethodGet:
			// a local read: what this node has applied (may lag the leader)
			v, ok := n.kv.get(key)
			if !ok {
				http.Error(w, fmt.Sprintf("key %q not found", key), http.StatusNotFound)
				return
			}
			_, _ = io.WriteString(w, v)
		default:
			http.Error(w, "PUT or GET", http.StatusMethodNotAllowed)
		}
	})
	mux.HandleFunc("/status", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("content-type", "application/json")
		_ = json.NewEncoder(w).Encode(n.status())
	})
	mux.HandleFunc("/bench", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		seconds, _ := strconv.ParseFloat(q.Get("seconds"), 64)
		inFlight, _ := strconv.Atoi(q.Get("inFlight"))
		size, _ := strconv.Atoi(q.Get("valueBytes"))
		if seconds <= 0 || inFlight <= 0 || size < 0 {
			http.Error(w, "want ?seconds=S&inFlight=N&valueBytes=B", http.StatusBadRequest)
			return
		}
		w.Header().Set("content-type", "application/json")
		_ = json.NewEncoder(w).Encode(n.bench(r.Context(), time.Duration(seconds*float64(time.Second)), inFlight, size))
	})
	return mux
}

type benchResult struct {
	Commits       int     `json:"commits"`
	Failed        int     `json:"failed"`
	Seconds       float64 `json:"seconds"`
	CommitsPerSec float64 `json:"commitsPerSec"`
	P50Ms         float64 `json:"p50Ms"`
	P99Ms         float64 `json:"p99Ms"`
}

// bench runs inFlight proposers on this node for d: each puts a value of
// size bytes and waits until this node applied it (commit latency as a
// client of this node sees it, without HTTP).
func (n *kvNode) bench(ctx context.Context, d time.Duration, inFlight, size int) benchResult {
	value := strings.Repeat("x", size)
	var mu sync.Mutex
	var latencies []float64
	failed := 0
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for w := 0; w < inFlight; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; time.Now().Before(deadline) && ctx.Err() == nil; i++ {
				t0 := time.Now()
				pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				err := n.put(pctx, fmt.Sprintf("bench-%d-%d", w, i%100), value)
				cancel()
				ms := float64(time.Since(t0).Microseconds()) / 1000
				mu.Lock()
				if err != nil {
					failed++
				} else {
					latencies = append(latencies, ms)
				}
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	sort.Float64s(latencies)
	pct := func(p float64) float64 {
		if len(latencies) == 0 {
			return 0
		}
		i := int(p*float64(len(latencies))+0.999999) - 1
		if i < 0 {
			i = 0
		}
		if i >= len(latencies) {
			i = len(latencies) - 1
		}
		return latencies[i]
	}
	return benchResult{Commits: len(latencies), Failed: failed, Seconds: elapsed, CommitsPerSec: float64(len(latencies)) / elapsed, P50Ms: pct(0.5), P99Ms: pct(0.99)}
}
