package p2p

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/devp2p-go/devp2p/crypto"
	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/netutil"
	"github.com/devp2p-go/devp2p/rlpx"
)

// Tests over real loopback TCP. They cannot run in a synctest bubble, so
// they bound themselves in real time.

// startTCPServer starts a server on ip:0.
func startTCPServer(t testing.TB, ip string, mod func(*Config)) *testNode {
	t.Helper()
	key := newTestKey(t)
	cfg := Config{
		PrivateKey: key,
		Name:       "tcp/" + ip,
		ListenAddr: net.JoinHostPort(ip, "0"),
		MaxPeers:   10,
		Logger:     testLogger(t),
		dialer:     tcpDialerFrom(mustAddr(ip)),
	}
	if mod != nil {
		mod(&cfg)
	}
	srv := &Server{Config: cfg}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	addr := srv.listener.Addr().(*net.TCPAddr).AddrPort()
	return &testNode{
		Server: srv,
		key:    key,
		addr:   addr,
		node:   enode.NewV4(key.Public(), addr.Addr(), int(addr.Port()), int(addr.Port())),
	}
}

// tcpDialer dials from a given local IP.
type tcpDialer struct{ d net.Dialer }

func tcpDialerFrom(ip netip.Addr) *tcpDialer {
	return &tcpDialer{d: net.Dialer{Timeout: 5 * time.Second, LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(ip, 0))}}
}

func (d *tcpDialer) Dial(ctx context.Context, n *enode.Node) (net.Conn, error) {
	ep, ok := n.TCPEndpoint()
	if !ok {
		return nil, fmt.Errorf("no endpoint")
	}
	return d.d.DialContext(ctx, "tcp", ep.String())
}

// tcpRawPeer connects from ip, runs both handshakes and leaves the
// connection idle, with no goroutine of its own.
func tcpRawPeer(t testing.TB, ip string, n *enode.Node, caps ...Cap) (net.Conn, error) {
	p, err := tcpRaw(t, ip, n, caps...)
	if err != nil {
		return nil, err
	}
	return p.fd, nil
}

// tcpRaw is tcpRawPeer returning the raw peer.
func tcpRaw(t testing.TB, ip string, n *enode.Node, caps ...Cap) (*rawPeer, error) {
	d := tcpDialerFrom(mustAddr(ip))
	fd, err := d.Dial(context.Background(), n)
	if err != nil {
		return nil, err
	}
	fd.SetDeadline(time.Now().Add(10 * time.Second))
	key := newTestKey(t)
	rc := rlpx.NewConn(fd, n.Pubkey(), nil)
	p := &rawPeer{t: t, key: key, fd: fd, rc: rc}
	if _, err := rc.Handshake(key); err != nil {
		fd.Close()
		return nil, err
	}
	if _, err := p.hello(caps...); err != nil {
		fd.Close()
		return nil, err
	}
	fd.SetDeadline(time.Time{})
	return p, nil
}

// An idle peer with one protocol costs the server at most 2 goroutines:
// the read loop and the protocol's own. The writer's flusher, started by
// the protocol's first messages, is gone once they are sent.
func TestLoopbackGoroutinesPerIdlePeer(t *testing.T) {
	m := measureIdlePeers(t, 50)
	if m.goroutines > 2 {
		t.Fatalf("%.2f goroutines per idle peer", m.goroutines)
	}
	t.Logf("per idle peer: %.2f goroutines, %.0f B heap + %.0f B stacks (server end; remote ends in another process)",
		m.goroutines, m.heap, m.stack)
}

// BenchmarkIdlePeers connects 1000 idle peers with one protocol to a
// server over loopback TCP and reports what each costs the server: heap
// and stacks in use, goroutines. The remote ends live in a child process,
// so only the server's end of each connection is counted. Run it with
// -benchtime=1x.
func BenchmarkIdlePeers(b *testing.B) {
	for range b.N {
		m := measureIdlePeers(b, 1000)
		b.ReportMetric(m.heap+m.stack, "B/peer")
		b.ReportMetric(m.heap, "heapB/peer")
		b.ReportMetric(m.stack, "stackB/peer")
		b.ReportMetric(m.goroutines, "goroutines/peer")
	}
}

type idlePeerCost struct {
	heap, stack float64 // bytes per peer
	goroutines  float64 // per peer
}

// measureIdlePeers connects n raw peers, run by a child process, to a
// fresh server. The server's protocol sends each peer two messages, then
// reads the one message each peer sends. Once every peer is idle it
// measures the growth of heap and stacks in use and of goroutines, per
// peer.
func measureIdlePeers(tb testing.TB, n int) idlePeerCost {
	idle := Protocol{Name: "idle", Version: 1, Length: 1, Run: func(p *Peer, rw MsgReadWriter) error {
		Send(rw, 0, uint(1))
		Send(rw, 0, []byte("hello"))
		for {
			if _, err := rw.ReadMsg(); err != nil {
				return err
			}
		}
	}}
	srv := startTCPServer(tb, "127.0.0.1", func(c *Config) {
		c.MaxPeers = 2 * n
		c.NoDial = true
		c.NoDiscovery = true // its timers start goroutines now and then
		c.Protocols = []Protocol{idle}
	})
	time.Sleep(50 * time.Millisecond)
	before := memInUse()
	base := runtime.NumGoroutine()

	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperRawPeers$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("P2P_RAW_PEERS=%d %s", n, srv.node.URLv4()))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	defer cmd.Wait()
	defer stdin.Close() // the child exits when its stdin closes

	waitFor(tb, 60*time.Second, "peers", func() bool { return srv.PeerCount() == n })
	var got int
	waitFor(tb, 5*time.Second, "setup goroutines and flushers to end", func() bool {
		got = runtime.NumGoroutine() - base
		return got <= 2*n
	})
	time.Sleep(100 * time.Millisecond)
	got = runtime.NumGoroutine() - base
	after := memInUse()
	if f := os.Getenv("P2P_IDLE_HEAPPROFILE"); f != "" {
		// Run with -test.memprofilerate=1 for a complete picture.
		out, err := os.Create(f)
		if err != nil {
			tb.Fatal(err)
		}
		pprof.Lookup("heap").WriteTo(out, 0)
		out.Close()
	}
	return idlePeerCost{
		heap:       float64(after.heap-before.heap) / float64(n),
		stack:      float64(after.stack-before.stack) / float64(n),
		goroutines: float64(got) / float64(n),
	}
}

// TestHelperRawPeers is the child process of measureIdlePeers: it connects
// raw peers to the node given in P2P_RAW_PEERS ("count enode-URL") and
// keeps them open until its stdin closes.
func TestHelperRawPeers(t *testing.T) {
	spec := os.Getenv("P2P_RAW_PEERS")
	if spec == "" {
		t.Skip("child process of measureIdlePeers")
	}
	var (
		n   int
		url string
	)
	if _, err := fmt.Sscan(spec, &n, &url); err != nil {
		t.Fatal(err)
	}
	node, err := enode.ParseV4(url)
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	for range n {
		p, err := tcpRaw(t, "127.0.0.1", node, Cap{"idle", 1})
		if err != nil {
			t.Fatal(err)
		}
		// One protocol message, so the server's peer has received one.
		if err := p.send(baseProtoLen, []byte{0x82, 'h', 'i'}); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, p.fd)
	}
	io.Copy(io.Discard, os.Stdin)
	for _, fd := range conns {
		fd.Close()
	}
}

type memStats struct{ heap, stack int64 }

func memInUse() memStats {
	var ms runtime.MemStats
	for range 2 {
		runtime.GC()
	}
	runtime.ReadMemStats(&ms)
	return memStats{int64(ms.HeapInuse), int64(ms.StackInuse)}
}

// 1000 idle TCP connections from one address do not keep another address
// out: each address may hold only a few pending handshakes.
func TestLoopbackSlowlorisOneAddress(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 1000 connections")
	}
	n := startTCPServer(t, "127.0.0.1", func(c *Config) { c.NoDial = true })
	d := tcpDialerFrom(mustAddr("127.0.0.2"))
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	start := time.Now()
	for i := range 1000 {
		fd, err := d.Dial(context.Background(), n.node)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		conns = append(conns, fd)
	}
	t.Logf("opened 1000 idle connections from 127.0.0.2 in %v", time.Since(start))

	// Another address gets a full handshake, well within the handshake
	// timeout that the idle connections would otherwise run out.
	start = time.Now()
	fd, err := tcpRawPeer(t, "127.0.0.3", n.node)
	if err != nil {
		t.Fatalf("127.0.0.3 could not connect: %v", err)
	}
	defer fd.Close()
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("127.0.0.3 waited %v", d)
	}
	waitFor(t, 5*time.Second, "peer", func() bool { return n.PeerCount() == 1 })
	t.Logf("127.0.0.3 connected in %v", time.Since(start))
}

// A network of 50 servers on loopback, each with a static node and dynamic
// candidates, forms: every node reaches its outbound target and is
// connected to its static node, one way or the other, unless that node is
// full, or the node itself is (static peers count toward MaxPeers; nearly
// all are connected, see the log). At no time does a
// node have more than MaxPeers peers, more inbound peers than its inbound
// cap, or more dynamic dialed peers than its outbound target (static dialed
// peers are dialed beyond it), and no node dials a peer twice at once.
//
// It bounds itself in real time generously: a loaded machine with the race
// detector slows the handshakes by an order of magnitude.
func TestLoopbackNetwork50(t *testing.T) {
	if testing.Short() {
		t.Skip("50 servers")
	}
	const (
		nodes    = 50
		maxPeers = 9 // 3 outbound, 6 inbound
	)
	rng := rand.New(rand.NewPCG(1, 2))
	keys := make([]*crypto.PrivateKey, nodes)
	records := make([]*enode.Node, nodes)
	listeners := make([]net.Listener, nodes)
	for i := range nodes {
		keys[i] = newTestKey(t)
		ip := netip.AddrFrom4([4]byte{127, 0, 1, byte(10 + i)})
		l, err := net.Listen("tcp", netip.AddrPortFrom(ip, 0).String())
		if err != nil {
			t.Fatal(err)
		}
		listeners[i] = l
		ap := l.Addr().(*net.TCPAddr).AddrPort()
		records[i] = enode.NewV4(keys[i].Public(), ap.Addr(), int(ap.Port()), int(ap.Port()))
	}
	staticOf := func(i int) enode.ID { return records[(i+1)%nodes].ID() }

	var (
		mu          sync.Mutex
		start       time.Time
		dialing     = make(map[[2]enode.ID]bool)
		violations  []string
		staticDials = make([][]string, nodes) // outcomes of static dials, logged on failure
		dials       atomic.Int64
		failed      atomic.Int64
	)
	violation := func(format string, args ...any) {
		mu.Lock()
		violations = append(violations, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	servers := make([]*Server, nodes)
	for i := range nodes {
		self := records[i].ID()
		others := make([]*enode.Node, 0, nodes-1)
		for j := range nodes {
			if j != i {
				others = append(others, records[j])
			}
		}
		rng.Shuffle(len(others), func(a, b int) { others[a], others[b] = others[b], others[a] })
		inner := tcpDialerFrom(records[i].IPAddr())
		l := listeners[i]
		cfg := Config{
			PrivateKey:  keys[i],
			Name:        fmt.Sprintf("node%d", i),
			ListenAddr:  l.Addr().String(),
			MaxPeers:    maxPeers,
			StaticNodes: []*enode.Node{records[(i+1)%nodes]},
			Protocols:   []Protocol{echoProto("echo", 1)},
			Logger:      testLogger(t),
			listenFunc:  func(string, string) (net.Listener, error) { return l, nil },
			nodeSource:  enode.CycleNodes(others),
			dialer: dialerFunc(func(ctx context.Context, n *enode.Node) (net.Conn, error) {
				key := [2]enode.ID{self, n.ID()}
				mu.Lock()
				if dialing[key] {
					violations = append(violations, fmt.Sprintf("node %d dials %v twice", i, n.ID()))
				}
				dialing[key] = true
				mu.Unlock()
				dials.Add(1)
				fd, err := inner.Dial(ctx, n)
				if err != nil {
					mu.Lock()
					delete(dialing, key)
					mu.Unlock()
					failed.Add(1)
				}
				return fd, err
			}),
			dialDone: func(n *enode.Node, err error) {
				mu.Lock()
				delete(dialing, [2]enode.ID{self, n.ID()})
				if n.ID() == staticOf(i) {
					staticDials[i] = append(staticDials[i], fmt.Sprintf("%v: %v", time.Since(start).Round(time.Millisecond), err))
				}
				mu.Unlock()
				if err != nil {
					failed.Add(1)
				}
			},
		}
		servers[i] = &Server{Config: cfg}
	}
	mu.Lock()
	start = time.Now()
	mu.Unlock()
	for _, srv := range servers {
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
	}
	defer func() {
		var wg sync.WaitGroup
		for _, srv := range servers {
			wg.Go(srv.Stop)
		}
		wg.Wait()
	}()

	// Watch the caps while the network forms. A node is done when its
	// dialed peers reach the outbound target and its static node is a peer.
	type nodeState struct {
		counts    peerCounts
		peers     int  // len(Peers())
		dynamic   int  // dynamic dialed peers
		hasStatic bool // connected to its static node
	}
	observe := func(i int) (st nodeState) {
		srv := servers[i]
		st.counts = srv.snapshot.Load().counts
		peers := srv.Peers() // one consistent view from the run loop
		st.peers = len(peers)
		for _, p := range peers {
			if p.DynDialed() {
				st.dynamic++
			}
			if p.ID() == staticOf(i) {
				st.hasStatic = true
			}
		}
		return st
	}
	// A static node can be connected only while both ends have room: a
	// static dialed peer counts toward MaxPeers (as in go-ethereum), and a
	// full node refuses it like any other (the dialer asks again, on the
	// connect schedule). Two nodes' checkpoints can also race, so that one
	// adds the peer and the other refuses it.
	full := func(j int) bool {
		st, l := observe(j), servers[j].limits
		return st.counts.total >= l.maxPeers || st.counts.inbound >= l.maxInbound
	}
	check := func() (done bool) {
		done = true
		for i, srv := range servers {
			st, l := observe(i), srv.limits
			switch {
			case st.counts.total > l.maxPeers || st.peers > l.maxPeers:
				violation("node %d has more than MaxPeers: %+v", i, st)
			case st.counts.inbound > l.maxInbound:
				violation("node %d over its inbound cap: %+v", i, st)
			case st.dynamic > l.maxOutbound:
				violation("node %d has more dynamic peers than its outbound target: %+v", i, st)
			}
			if st.counts.outbound < l.maxOutbound || (!st.hasStatic && !full(i) && !full((i+1)%nodes)) {
				done = false
			}
		}
		return done
	}
	report := func() {
		for i, srv := range servers {
			st := observe(i)
			if st.counts.outbound < srv.limits.maxOutbound || !st.hasStatic {
				j := (i + 1) % nodes
				mu.Lock()
				sd := staticDials[i]
				mu.Unlock()
				t.Logf("node %d %+v, static node %d %+v, static dials %q; scheduler %+v",
					i, st, j, observe(j), sd, srv.dialsched.Stats())
			}
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for !check() {
		if time.Now().After(deadline) {
			report()
			t.Fatal("network did not form in time")
		}
		time.Sleep(20 * time.Millisecond)
	}
	elapsed := time.Since(start)
	// Nothing changes once formed: watch a little longer.
	for range 10 {
		time.Sleep(20 * time.Millisecond)
		if !check() {
			report()
			t.Error("network changed after forming")
			break
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(violations) > 0 {
		t.Fatalf("%d violations, first: %s", len(violations), violations[0])
	}
	total, beyond, statics := 0, 0, 0
	for i, srv := range servers {
		total += srv.PeerCount()
		beyond += max(srv.snapshot.Load().counts.outbound-srv.limits.maxOutbound, 0)
		if observe(i).hasStatic {
			statics++
		}
	}
	t.Logf("%d nodes at their outbound target after %v, %d connected to their static node (the others' are full): "+
		"%d peer connections (%d dialed beyond targets), %d dials, %d failed",
		nodes, elapsed, statics, total/2, beyond, dials.Load(), failed.Load())
}

type dialerFunc func(ctx context.Context, n *enode.Node) (net.Conn, error)

func (f dialerFunc) Dial(ctx context.Context, n *enode.Node) (net.Conn, error) { return f(ctx, n) }

// floodClient is the remote end of a TCP connection that never stops
// sending: after the encryption handshake one goroutine sends Hello and
// then protocol messages as fast as it can, while another reads the
// server's Hello and then messages until a Disconnect or an error. Like
// real clients, it gives up on the connection as soon as a write fails. Its
// Hello announces version 4, so neither side compresses and the two
// goroutines need not agree on when snappy starts.
type floodClient struct {
	fd     net.Conn
	result chan error // the first of: the DiscReason received, a read error, a write error
	stop   atomic.Bool
	wg     sync.WaitGroup
}

func startFloodClient(t testing.TB, n *enode.Node, caps ...Cap) *floodClient {
	t.Helper()
	fd, err := tcpDialerFrom(mustAddr("127.0.0.1")).Dial(context.Background(), n)
	if err != nil {
		t.Fatal(err)
	}
	fd.SetDeadline(time.Now().Add(10 * time.Second))
	key := newTestKey(t)
	rc := rlpx.NewConn(fd, n.Pubkey(), nil)
	if _, err := rc.Handshake(key); err != nil {
		fd.Close()
		t.Fatal(err)
	}
	fc := &floodClient{fd: fd, result: make(chan error, 1)}
	h := appendHello(nil, &hello{Version: 4, Name: "flood", Caps: caps, ID: key.Public()[:]})
	fc.wg.Add(2)
	go func() {
		defer fc.wg.Done()
		_, err := rc.WriteMsg(helloMsg, h)
		for err == nil && !fc.stop.Load() {
			_, err = rc.WriteMsg(baseProtoLen, []byte{0x82, 'h', 'i'})
		}
		if err != nil {
			fc.end(fmt.Errorf("write: %w", err))
		}
	}()
	go func() {
		defer fc.wg.Done()
		for {
			code, data, _, err := rc.ReadMsg()
			switch {
			case err != nil:
				fc.end(err)
				return
			case code == discMsg:
				fc.end(decodeDisconnect(data))
				return
			}
		}
	}()
	return fc
}

// end records the outcome, if it is the first, and closes the connection.
func (fc *floodClient) end(err error) {
	select {
	case fc.result <- err:
	default:
	}
	fc.stop.Store(true)
	fc.fd.Close()
}

// wait returns the outcome, failing the test after timeout.
func (fc *floodClient) wait(t testing.TB, timeout time.Duration) error {
	t.Helper()
	select {
	case err := <-fc.result:
		return err
	case <-time.After(timeout):
		t.Fatalf("no Disconnect and no error after %v", timeout)
		return nil
	}
}

func (fc *floodClient) close() {
	fc.end(nil)
	fc.wg.Wait()
}

// sinkProto reads and discards every message.
var sinkProto = Protocol{Name: "flood", Version: 1, Length: 1, Run: func(p *Peer, rw MsgReadWriter) error {
	for {
		msg, err := rw.ReadMsg()
		if err != nil {
			return err
		}
		msg.Discard()
	}
}}

// floodProto sends messages as fast as the peer's write queue takes them.
var floodProto = Protocol{Name: "flood", Version: 1, Length: 1, Run: func(p *Peer, rw MsgReadWriter) error {
	for {
		if err := Send(rw, 0, "flood"); err != nil {
			return err
		}
	}
}}

// A remote that keeps sending still receives our Disconnect when we close
// right after the handshakes. Closing a socket with unread bytes in its
// receive buffer makes the kernel send RST instead of FIN, and drop what
// it has not sent yet; a remote that gets RST fails its next write and
// ends with a network error, usually before it has read the Disconnect.
// So after a Disconnect the server shuts down its write side and reads
// until the remote closes (or a bound passes) before it closes. This covers
// both places that send Disconnect and close: a peer's end (Server.Stop,
// Peer.Disconnect), with a second Server as the remote, and a refused
// setup, with a raw client.
func TestLoopbackDisconnectReachesSendingPeer(t *testing.T) {
	const runs = 20
	// peerEnd ends a's only peer, or a, right after the peer was added;
	// the remote, b, must see a drop requested with reason want.
	peerEnd := func(end func(a *testNode), want DiscReason) func(*testing.T) (string, time.Duration) {
		return func(t *testing.T) (string, time.Duration) {
			a := startTCPServer(t, "127.0.0.1", func(c *Config) {
				c.NoDial = true
				c.Protocols = []Protocol{sinkProto}
			})
			b := startTCPServer(t, "127.0.0.1", func(c *Config) {
				c.Protocols = []Protocol{floodProto}
				c.StaticNodes = []*enode.Node{a.node}
			})
			events := make(chan *PeerEvent, 16)
			sub := b.SubscribeEvents(events)
			defer sub.Unsubscribe()
			waitFor(t, 10*time.Second, "a's peer", func() bool { return a.PeerCount() == 1 })
			start := time.Now()
			end(a)
			timeout := time.After(10 * time.Second)
			for {
				select {
				case ev := <-events:
					if ev.Type != PeerEventTypeDrop {
						continue
					}
					took := time.Since(start)
					a.Stop()
					b.Stop()
					if !ev.RemoteRequested || ev.Reason == nil || *ev.Reason != want {
						return fmt.Sprintf("remote dropped us with %v (requested: %t)", ev.Err, ev.RemoteRequested), took
					}
					return "", took
				case <-timeout:
					t.Fatal("remote did not drop the peer")
				}
			}
		}
	}
	// setupRefused connects a flooding raw client with the given caps to a
	// server with at most maxPeers peers; it must get Disconnect(want).
	setupRefused := func(maxPeers int, caps []Cap, want DiscReason) func(*testing.T) (string, time.Duration) {
		return func(t *testing.T) (string, time.Duration) {
			a := startTCPServer(t, "127.0.0.1", func(c *Config) {
				c.NoDial = true
				c.MaxPeers = maxPeers
				c.Protocols = []Protocol{sinkProto}
			})
			start := time.Now()
			fc := startFloodClient(t, a.node, caps...)
			err := fc.wait(t, 10*time.Second)
			took := time.Since(start)
			fc.close()
			a.Stop()
			if err != want {
				return fmt.Sprint(err), took
			}
			return "", took
		}
	}
	tests := []struct {
		name string
		run  func(*testing.T) (lost string, took time.Duration)
		want DiscReason
	}{
		{"Stop", peerEnd(func(a *testNode) { a.Stop() }, DiscQuitting), DiscQuitting},
		{"Peer.Disconnect", peerEnd(func(a *testNode) { a.Peers()[0].Disconnect(DiscSubprotocolError) }, DiscSubprotocolError), DiscSubprotocolError},
		{"setup refused after Hello", setupRefused(10, []Cap{{"other", 1}}, DiscUselessPeer), DiscUselessPeer},
		{"setup refused before Hello", setupRefused(0, []Cap{{"flood", 1}}, DiscTooManyPeers), DiscTooManyPeers},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var (
				lost    []string
				longest time.Duration
			)
			for i := range runs {
				what, took := tc.run(t)
				if what != "" {
					lost = append(lost, fmt.Sprintf("run %d: %s", i, what))
				}
				longest = max(longest, took)
			}
			if len(lost) > 0 {
				t.Fatalf("Disconnect(%v) lost in %d of %d runs: %q", tc.want, len(lost), runs, lost)
			}
			t.Logf("Disconnect(%v) arrived in %d of %d runs; at most %v from the end to the remote's drop",
				tc.want, runs, runs, longest)
		})
	}
}

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t *testing.T) (local *net.TCPConn, remote *net.TCPConn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		fd, _ := l.Accept()
		accepted <- fd
	}()
	fd, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	other := <-accepted
	if other == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { fd.Close(); other.Close() })
	return fd.(*net.TCPConn), other.(*net.TCPConn)
}

// closeGracefully sends FIN after our last bytes, even on a connection
// whose reads were interrupted and with unread bytes in its receive
// buffer, and waits at most lingerTimeout for the remote to close,
// discarding at most lingerMaxBytes (plus one read) meanwhile.
func TestMeteredConnCloseGracefully(t *testing.T) {
	t.Parallel()
	// send writes "bye" on an interrupted connection with unread bytes.
	send := func(t *testing.T) (*meteredConn, *net.TCPConn) {
		local, remote := tcpPair(t)
		c := newMeteredConn(local)
		if _, err := remote.Write([]byte("unread")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond) // let it arrive
		c.interrupt()
		if _, err := c.Write([]byte("bye")); err != nil {
			t.Fatal(err)
		}
		return c, remote
	}
	// readAll reads what the remote gets until EOF or an error.
	readAll := func(remote net.Conn) (string, error) {
		remote.SetReadDeadline(time.Now().Add(5 * time.Second))
		b, err := io.ReadAll(remote)
		return string(b), err
	}

	t.Run("remote closes", func(t *testing.T) {
		t.Parallel()
		c, remote := send(t)
		got := make(chan string, 1)
		go func() {
			s, err := readAll(remote)
			got <- fmt.Sprint(s, err)
			remote.Close()
		}()
		start := time.Now()
		c.closeGracefully()
		if d := time.Since(start); d > lingerTimeout/2 {
			t.Errorf("took %v although the remote closed", d)
		}
		if s := <-got; s != "bye<nil>" {
			t.Errorf("remote read %q, want bye and EOF", s)
		}
	})
	t.Run("remote silent", func(t *testing.T) {
		t.Parallel()
		c, remote := send(t)
		start := time.Now()
		c.closeGracefully()
		if d := time.Since(start); d < lingerTimeout-100*time.Millisecond || d > lingerTimeout+time.Second {
			t.Errorf("took %v, want about %v", d, lingerTimeout)
		}
		if s, err := readAll(remote); s != "bye" || err != nil {
			t.Errorf("remote read %q, %v; want bye and EOF", s, err)
		}
	})
	t.Run("remote floods", func(t *testing.T) {
		t.Parallel()
		c, remote := send(t)
		var wg sync.WaitGroup
		wg.Go(func() {
			buf := make([]byte, 64<<10)
			for {
				if _, err := remote.Write(buf); err != nil {
					return
				}
			}
		})
		start := time.Now()
		c.closeGracefully()
		if d := time.Since(start); d > lingerTimeout+time.Second {
			t.Errorf("took %v, want at most about %v", d, lingerTimeout)
		}
		if n := c.bytesIn.Load(); n > lingerMaxBytes+lingerBufSize {
			t.Errorf("discarded %d bytes, cap %d", n, lingerMaxBytes)
		}
		remote.Close()
		wg.Wait()
	})
	t.Run("pipe", func(t *testing.T) {
		t.Parallel()
		a, b := net.Pipe()
		defer b.Close()
		start := time.Now()
		newMeteredConn(a).closeGracefully() // no half-close: closed at once
		if d := time.Since(start); d > lingerTimeout/2 {
			t.Errorf("took %v", d)
		}
		if _, err := a.Write([]byte{1}); !errors.Is(err, io.ErrClosedPipe) {
			t.Errorf("write after close: %v", err)
		}
	})
}

// Stop disconnects many peers that do not close, some of them sending
// without pause, at once: the graceful closes run concurrently, so Stop
// waits about lingerTimeout, not that per peer.
func TestLoopbackStopWithSilentPeers(t *testing.T) {
	const silent, flooding = 20, 5
	n := startTCPServer(t, "127.0.0.1", func(c *Config) {
		c.NoDial = true
		c.MaxPeers = silent + flooding
		c.Protocols = []Protocol{sinkProto}
	})
	var wg sync.WaitGroup
	defer wg.Wait()
	for i := range silent + flooding {
		ip := fmt.Sprintf("127.0.2.%d", 1+i/4) // at most 4 pending per IP
		p, err := tcpRaw(t, ip, n.node, Cap{"flood", 1})
		if err != nil {
			t.Fatal(err)
		}
		defer p.close()
		if i >= silent {
			// Sends messages, which the server discards, and never reads.
			// (Not Pongs: base protocol messages are rate limited.)
			wg.Go(func() {
				for p.send(baseProtoLen, []byte{0x82, 'h', 'i'}) == nil {
				}
			})
		}
	}
	waitFor(t, 10*time.Second, "peers", func() bool { return n.PeerCount() == silent+flooding })
	start := time.Now()
	n.Stop()
	if d, bound := time.Since(start), discWriteTimeout+lingerTimeout+time.Second; d > bound {
		t.Fatalf("Stop took %v with %d peers, want at most %v", d, silent+flooding, bound)
	} else {
		t.Logf("Stop took %v with %d peers", d, silent+flooding)
	}
}

// A server listening on one address dials from it too, with the default
// dialer.
func TestLoopbackDialFromListenIP(t *testing.T) {
	b := startTCPServer(t, "127.0.7.2", nil)
	a := startTCPServer(t, "127.0.7.1", func(c *Config) {
		c.dialer = nil
		c.NoDiscovery = true
	})
	a.AddPeer(b.node)
	waitFor(t, 10*time.Second, "a connected to b", func() bool { return b.PeerCount() == 1 })
	p := b.Peers()[0]
	if ip := netutil.AddrFromNetAddr(p.RemoteAddr()); ip != mustAddr("127.0.7.1") {
		t.Fatalf("b sees a at %v, want the address a listens on", p.RemoteAddr())
	}
}
