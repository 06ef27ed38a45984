package p2p

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/devp2p-go/devp2p/crypto"
	"github.com/devp2p-go/devp2p/discover"
	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/enr"
	"github.com/devp2p-go/devp2p/nodedb"
	"go.uber.org/goleak"
)

// Tests of the server with discovery over real loopback TCP and UDP. Each
// node has an address of its own in 127.0.0.0/8, so per-IP limits apply as
// they would between hosts. Discovery runs with short liveness intervals.

const (
	discTestPing    = 300 * time.Millisecond
	discTestRefresh = 10 * time.Second
)

// discNode is a server with discovery, and what it takes to restart it.
type discNode struct {
	*Server
	key    *crypto.PrivateKey
	ip     netip.Addr
	dbPath string
	dials  *dialLog
}

// dialLog records the nodes a server dials, in order.
type dialLog struct {
	inner func(context.Context, *enode.Node) (net.Conn, error)
	mu    sync.Mutex
	ids   []enode.ID
}

func (d *dialLog) Dial(ctx context.Context, n *enode.Node) (net.Conn, error) {
	d.mu.Lock()
	d.ids = append(d.ids, n.ID())
	d.mu.Unlock()
	return d.inner(ctx, n)
}

func (d *dialLog) dialed() []enode.ID {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.ids)
}

// Emulated network latency. On bare loopback a discovery round trip costs
// next to nothing, so a node finds peers through the bootnode about as fast
// as it dials remembered ones; the latency makes both paths pay round trips
// as they would between hosts: every UDP packet and every TCP write
// arrives one-way later, and a TCP connect takes a round trip.

// withLatency makes the server's traffic arrive oneWay late.
func withLatency(oneWay time.Duration) func(*Config) {
	return func(c *Config) {
		c.listenFunc = func(network, addr string) (net.Listener, error) {
			l, err := net.Listen(network, addr)
			if err != nil {
				return nil, err
			}
			return &slowListener{l, oneWay}, nil
		}
		c.listenUDP = func(addr string) (discover.UDPConn, error) {
			conn, err := listenUDP(addr)
			if err != nil {
				return nil, err
			}
			return &slowUDP{conn, oneWay}, nil
		}
		if dl, ok := c.dialer.(*dialLog); ok {
			inner := dl.inner
			dl.inner = func(ctx context.Context, n *enode.Node) (net.Conn, error) {
				select {
				case <-time.After(2 * oneWay):
				case <-ctx.Done():
					return nil, ctx.Err()
				}
				fd, err := inner(ctx, n)
				if err != nil {
					return nil, err
				}
				return newSlowConn(fd, oneWay), nil
			}
		}
	}
}

// slowUDP delays every datagram sent.
type slowUDP struct {
	discover.UDPConn
	delay time.Duration
}

func (c *slowUDP) WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	cp := slices.Clone(b)
	time.AfterFunc(c.delay, func() { c.UDPConn.WriteToUDPAddrPort(cp, addr) })
	return len(b), nil
}

type slowListener struct {
	net.Listener
	delay time.Duration
}

func (l *slowListener) Accept() (net.Conn, error) {
	fd, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return newSlowConn(fd, l.delay), nil
}

// slowConn delivers every write delay later, in order. Writes return at
// once, as into a socket buffer; Close closes the connection once the
// writes before it are delivered.
type slowConn struct {
	net.Conn
	delay time.Duration
	mu    sync.Mutex // guards closed and sends on ch
	ch    chan slowWrite
	once  sync.Once
	done  bool
}

type slowWrite struct {
	due  time.Time
	data []byte
}

func newSlowConn(fd net.Conn, delay time.Duration) *slowConn {
	c := &slowConn{Conn: fd, delay: delay, ch: make(chan slowWrite, 4096)}
	go c.deliver()
	return c
}

func (c *slowConn) deliver() {
	for w := range c.ch {
		time.Sleep(time.Until(w.due))
		c.Conn.Write(w.data)
	}
	c.Conn.Close()
}

func (c *slowConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done {
		return 0, net.ErrClosed
	}
	c.ch <- slowWrite{time.Now().Add(c.delay), slices.Clone(b)}
	return len(b), nil
}

func (c *slowConn) Close() error {
	c.once.Do(func() {
		c.mu.Lock()
		c.done = true
		close(c.ch)
		c.mu.Unlock()
		// Unblock a delivery the remote does not read.
		time.AfterFunc(c.delay+time.Second, func() { c.Conn.Close() })
	})
	return nil
}

// startDiscNode starts a server with discovery at ip. listen is the TCP
// (and UDP) address, "" for ip:0; dbPath "" means an in-memory node DB.
func startDiscNode(t testing.TB, key *crypto.PrivateKey, ip, listen, dbPath string, boot []*enode.Node, mod func(*Config)) *discNode {
	t.Helper()
	addr := netip.MustParseAddr(ip)
	if listen == "" {
		listen = net.JoinHostPort(ip, "0")
	}
	tcp := tcpDialerFrom(addr)
	dl := &dialLog{inner: tcp.Dial}
	cfg := Config{
		PrivateKey:          key,
		Name:                "disc/" + ip,
		ListenAddr:          listen,
		MaxPeers:            12,
		BootstrapNodes:      boot,
		NodeDatabase:        dbPath,
		Logger:              testLogger(t),
		dialer:              dl,
		discPingInterval:    discTestPing,
		discRefreshInterval: discTestRefresh,
	}
	if mod != nil {
		mod(&cfg)
	}
	srv := &Server{Config: cfg}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	return &discNode{Server: srv, key: key, ip: addr, dbPath: dbPath, dials: dl}
}

// startBootnode runs a discovery-only node at ip and returns its record
// (UDP port only, so it is never dialed over TCP).
func startBootnode(t testing.TB, ip string, latency time.Duration) *enode.Node {
	t.Helper()
	n, disc := newBootnode(t, ip, latency)
	t.Cleanup(disc.Close)
	return n
}

func newBootnode(t testing.TB, ip string, latency time.Duration) (*enode.Node, *discover.UDPv4) {
	t.Helper()
	key := newTestKey(t)
	addr := netip.MustParseAddr(ip)
	udp, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(addr, 0)))
	if err != nil {
		t.Fatal(err)
	}
	port := udp.LocalAddr().(*net.UDPAddr).Port
	var conn discover.UDPConn = udp
	if latency > 0 {
		conn = &slowUDP{udp, latency}
	}
	ln := enode.NewLocalNode(key, 1)
	ln.SetFallbackIP(addr)
	ln.SetFallbackUDP(port)
	disc, err := discover.ListenV4(conn, ln, discover.Config{
		PrivateKey:      key,
		PingInterval:    discTestPing,
		RefreshInterval: discTestRefresh,
		Log:             testLogger(t).With("node", "boot"),
	})
	if err != nil {
		conn.Close()
		t.Fatal(err)
	}
	return enode.NewV4(key.Public(), addr, 0, port), disc
}

// outbound returns the IDs of the peers srv dialed.
func outbound(srv *Server) []enode.ID {
	var ids []enode.ID
	for _, p := range srv.Peers() {
		if p.connFlags().dialed() {
			ids = append(ids, p.ID())
		}
	}
	return ids
}

// atTarget reports whether srv has as many dialed peers as it wants.
func atTarget(srv *Server) bool { return len(outbound(srv)) >= srv.limits.maxOutbound }

// waitTarget waits until srv holds its outbound target and returns how long
// that took from start.
func waitTarget(t testing.TB, srv *Server, start time.Time, timeout time.Duration) time.Duration {
	t.Helper()
	deadline := start.Add(timeout)
	for !atTarget(srv) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d of %d outbound peers after %v", srv.Name, len(outbound(srv)), srv.limits.maxOutbound, timeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

// Two servers that know only a bootnode find and connect to each other, and
// their records carry the discovery port (the TCP port).
func TestDiscoveryFindsPeer(t *testing.T) {
	boot := startBootnode(t, "127.0.4.100", 0)
	a := startDiscNode(t, newTestKey(t), "127.0.4.1", "", "", []*enode.Node{boot}, nil)
	b := startDiscNode(t, newTestKey(t), "127.0.4.2", "", "", []*enode.Node{boot}, nil)
	waitFor(t, 30*time.Second, "a and b connected", func() bool {
		return a.PeerCount() == 1 && b.PeerCount() == 1
	})
	for _, n := range []*discNode{a, b} {
		self := n.Self()
		if self.UDP() == 0 || self.UDP() != self.TCP() {
			t.Errorf("%s: record has TCP %d, UDP %d", n.Name, self.TCP(), self.UDP())
		}
		if n.DiscoveryV4() == nil {
			t.Fatalf("%s: DiscoveryV4 is nil", n.Name)
		}
		st := n.Stats()
		if st.Discovery == nil || st.Discovery.TableNodes == 0 {
			t.Errorf("%s: discovery stats %+v", n.Name, st.Discovery)
		}
		// The dial's success is counted when its setup returns, just
		// after the peer was added.
		waitFor(t, 5*time.Second, n.Name+": stats show a dynamic dial or an inbound peer", func() bool {
			st := n.Stats()
			return st.Dials.Dynamic.Succeeded+uint64(st.Peers.Inbound) > 0
		})
		if ni := n.NodeInfo(); ni.Ports.Discovery != ni.Ports.Listener {
			t.Errorf("%s: NodeInfo ports %+v", n.Name, ni.Ports)
		}
	}
	a.Stop()
	if a.DiscoveryV4() != nil || a.Running() {
		t.Fatal("stopped server still reports discovery or running")
	}
}

// A network of servers that know only a discovery-only bootnode: every one
// reaches its outbound target. Then a fresh node joins the settled network,
// and three nodes are restarted in turn with their key, address and node DB
// file: they reconnect faster than the fresh node and than their own cold
// start, dialing the best outbound peers of their last run first, and their
// records' sequence numbers keep growing.
//
// Measured (20 nodes, MaxPeers 12, so an outbound target of 4; 40 ms one-way
// latency, an 80 ms round trip; 2 shared cores):
//
//	                     whole network   fresh node joining   restart with node DB
//	                     at target       at target            at target
//	-race                1.2–4.9 s       0.36–2.0 s           0.18–0.89 s
//	without -race        1.0–1.3 s       0.38–0.65 s          0.18–0.39 s
//
// (each row over several runs, the high ends on a machine with a load of 10).
// A restart needs a TCP connect, the encryption handshake and Hello: about
// 2.5 round trips. A fresh node first bonds with the bootnode and asks it
// for neighbors, a lookup, before the same dials. On bare loopback, without
// the emulated latency, discovery costs next to nothing and both take 20–70
// ms, so the test runs with latency.
func TestDiscoveryNetworkRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("network test")
	}
	const (
		n       = 20
		latency = 40 * time.Millisecond // one way
	)
	slow := withLatency(latency)
	dir := t.TempDir()
	boot := []*enode.Node{startBootnode(t, "127.0.5.250", latency)}
	nodes := make([]*discNode, n)
	starts := make([]time.Time, n)
	netStart := time.Now()
	for i := range nodes {
		starts[i] = time.Now()
		nodes[i] = startDiscNode(t, newTestKey(t), fmt.Sprintf("127.0.5.%d", i+1), "",
			filepath.Join(dir, fmt.Sprintf("node%d.db", i)), boot, slow)
	}
	cold := make([]time.Duration, n)
	for i, nd := range nodes {
		cold[i] = waitTarget(t, nd.Server, starts[i], 45*time.Second)
	}
	netTime := time.Since(netStart)
	sorted := slices.Clone(cold)
	slices.Sort(sorted)
	t.Logf("cold start: %d nodes at their outbound target (%d) after %v; per node min %v, median %v, max %v",
		n, nodes[0].limits.maxOutbound, netTime.Round(time.Millisecond), sorted[0].Round(time.Millisecond),
		sorted[n/2].Round(time.Millisecond), sorted[n-1].Round(time.Millisecond))

	// A fresh node joins the settled network with only the bootnode.
	joinStart := time.Now()
	fresh := startDiscNode(t, newTestKey(t), "127.0.5.100", "", filepath.Join(dir, "fresh.db"), boot, slow)
	join := waitTarget(t, fresh.Server, joinStart, 30*time.Second)
	t.Logf("fresh node joining the settled network: at its target after %v", join.Round(time.Millisecond))

	// Restart three nodes, one after the other, with the same key, address
	// and node DB file.
	var restarts, colds []time.Duration
	for k := range 3 {
		old := nodes[k]
		oldOut := outbound(old.Server)
		oldSeq := old.Self().Seq()
		addr := old.listenAddr
		old.Stop()
		// The peer store has the last run's outbound peers; the best
		// outbound peers it offers are what the restart dials first.
		best := storedBest(t, old.dbPath, oldOut, restartPeersFactor*old.limits.maxOutbound)
		restartStart := time.Now()
		re := startDiscNode(t, old.key, old.ip.String(), addr, old.dbPath, boot, slow)
		restart := waitTarget(t, re.Server, restartStart, 30*time.Second)
		nodes[k] = re
		restarts, colds = append(restarts, restart), append(colds, cold[k])
		st := re.Stats()
		t.Logf("restart of node %d with its node DB: at its target after %v (its cold start %v); %d dials, failures %v",
			k, restart.Round(time.Millisecond), cold[k].Round(time.Millisecond), st.Dials.Dynamic.Started, st.Dials.Failures)

		if seq := re.Self().Seq(); seq <= oldSeq {
			t.Errorf("node %d: record sequence number %d after restart, was %d", k, seq, oldSeq)
		}
		// The dial slots (the outbound target) take the best stored
		// peers first.
		want := best[:min(len(best), re.limits.maxOutbound)]
		dialed := re.dials.dialed()
		if len(dialed) < len(want) {
			t.Fatalf("node %d: dialed %d nodes after restart, want the %d best stored peers", k, len(dialed), len(want))
		}
		first := slices.Clone(dialed[:len(want)])
		sortIDs(first)
		sortIDs(want)
		if !slices.Equal(first, want) {
			t.Errorf("node %d: first dials after restart %v, want the best stored peers %v", k, first, want)
		}
	}
	// Compare medians: single times vary with the load of the machine.
	slices.Sort(restarts)
	slices.Sort(colds)
	if restarts[1] >= join || restarts[1] >= colds[1] {
		t.Errorf("restarts took %v: not faster than a fresh join (%v) and the cold starts of the same nodes (%v)", restarts, join, colds)
	}
}

// storedBest checks that the node DB at path recorded the sessions with the
// outbound peers out as ended by our quitting, and returns the IDs of the n
// best outbound peers it holds.
func storedBest(t *testing.T, path string, out []enode.ID, n int) []enode.ID {
	t.Helper()
	db, err := nodedb.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, id := range out {
		r, ok := db.Peer(id)
		if !ok || !r.LastOutbound || r.LastReason != "client quitting" || r.Node == nil || r.TotalConnected <= 0 {
			t.Errorf("record of outbound peer %v: %+v", id, r)
		}
	}
	var ids []enode.ID
	for _, r := range db.BestOutboundPeers(n) {
		ids = append(ids, r.ID)
	}
	if len(ids) < len(out) {
		t.Fatalf("%d best outbound peers stored, had %d outbound peers", len(ids), len(out))
	}
	return ids
}

func sortIDs(ids []enode.ID) {
	sort.Slice(ids, func(i, j int) bool { return strings.Compare(string(ids[i][:]), string(ids[j][:])) < 0 })
}

// The sequence number of the node record continues from the node DB after
// a restart; with an in-memory DB it starts from the time.
func TestLocalSeqPersists(t *testing.T) {
	key := newTestKey(t)
	path := filepath.Join(t.TempDir(), "nodes.db")
	a := startDiscNode(t, key, "127.0.6.1", "", path, nil, nil)
	a.LocalNode().Set(enr.WithEntry("test", uint(1)))
	seq1 := a.Self().Seq()
	a.Stop()

	db, err := nodedb.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	stored := db.LocalSeq(enode.PubkeyToIDV4(key.Public()))
	db.Close()
	if stored != seq1 {
		t.Fatalf("stored seq %d, record had %d", stored, seq1)
	}

	b := startDiscNode(t, key, "127.0.6.1", "", path, nil, nil)
	if seq2 := b.Self().Seq(); seq2 != seq1+1 {
		t.Fatalf("seq after restart %d, want %d", seq2, seq1+1)
	}

	before := uint64(time.Now().UnixMilli())
	c := startDiscNode(t, newTestKey(t), "127.0.6.2", "", "", nil, nil)
	if seq := c.Self().Seq(); seq <= before {
		t.Fatalf("in-memory DB: seq %d, want more than %d (the time in ms)", seq, before)
	}
}

// NoDiscovery opens no UDP socket and runs no discovery; the server still
// dials static nodes.
func TestNoDiscovery(t *testing.T) {
	b := startDiscNode(t, newTestKey(t), "127.0.7.2", "", "", nil, func(c *Config) { c.NoDiscovery = true })
	a := startDiscNode(t, newTestKey(t), "127.0.7.1", "", "", nil, func(c *Config) {
		c.NoDiscovery = true
		c.StaticNodes = []*enode.Node{b.Self()}
	})
	waitFor(t, 10*time.Second, "static peer", func() bool { return a.PeerCount() == 1 })
	for _, n := range []*discNode{a, b} {
		if n.DiscoveryV4() != nil || n.Stats().Discovery != nil {
			t.Errorf("%s: discovery runs", n.Name)
		}
		if udp := n.Self().UDP(); udp != 0 {
			t.Errorf("%s: record has UDP port %d", n.Name, udp)
		}
		// The UDP side of the TCP port is free.
		conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(n.ip, uint16(n.Self().TCP()))))
		if err != nil {
			t.Errorf("%s: UDP port taken: %v", n.Name, err)
		} else {
			conn.Close()
		}
	}
}

// A taken UDP port fails Start clearly when the port was chosen, leaving
// nothing open; with port 0 another port is tried.
func TestDiscoveryUDPPortTaken(t *testing.T) {
	ip := netip.MustParseAddr("127.0.8.1")
	udp, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, 0)))
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	port := udp.LocalAddr().(*net.UDPAddr).Port
	path := filepath.Join(t.TempDir(), "nodes.db")
	srv := &Server{Config: Config{
		PrivateKey:   newTestKey(t),
		ListenAddr:   net.JoinHostPort(ip.String(), fmt.Sprint(port)),
		MaxPeers:     10,
		NodeDatabase: path,
		Logger:       testLogger(t),
	}}
	err = srv.Start()
	if err == nil {
		srv.Stop()
		t.Fatal("Start succeeded with the UDP port taken")
	}
	if !errors.Is(err, syscall.EADDRINUSE) || !strings.Contains(err.Error(), fmt.Sprintf("UDP port %d", port)) {
		t.Fatalf("error %q does not name the UDP port", err)
	}
	// The TCP port and the node DB were released.
	l, err := net.Listen("tcp", srv.ListenAddr)
	if err != nil {
		t.Fatalf("TCP port still taken: %v", err)
	}
	l.Close()
	db, err := nodedb.Open(path)
	if err != nil {
		t.Fatalf("node DB still open: %v", err)
	}
	defer db.Close()

	// A failed Start leaves an injected DB open; Start works once the
	// port is free.
	srv.NodeDB = db
	if err := srv.Start(); err == nil {
		t.Fatal("Start succeeded with the UDP port taken")
	}
	if err := db.StoreLocalSeq(enode.ID{1}, 1); err != nil {
		t.Fatalf("injected DB after a failed Start: %v", err)
	}
	udp.Close()
	if err := srv.Start(); err != nil {
		t.Fatalf("Start after the port was freed: %v", err)
	}
	if srv.Self().UDP() != port {
		t.Fatalf("UDP port %d, want %d", srv.Self().UDP(), port)
	}
	srv.Stop()
	if err := db.StoreLocalSeq(enode.ID{1}, 2); err != nil {
		t.Fatalf("injected DB after Stop: %v", err)
	}

	// Port 0: the first UDP port tried is taken, the next one works.
	var tries int
	n := startDiscNode(t, newTestKey(t), "127.0.8.2", "", "", nil, func(c *Config) {
		c.listenUDP = func(addr string) (discover.UDPConn, error) {
			if tries++; tries == 1 {
				return nil, &net.OpError{Op: "listen", Net: "udp", Err: syscall.EADDRINUSE}
			}
			return listenUDP(addr)
		}
	})
	if tries != 2 || n.Self().UDP() != n.Self().TCP() {
		t.Fatalf("%d tries, TCP %d, UDP %d", tries, n.Self().TCP(), n.Self().UDP())
	}
}

// DiscAddr puts discovery on another port.
func TestDiscAddr(t *testing.T) {
	n := startDiscNode(t, newTestKey(t), "127.0.9.1", "", "", nil, func(c *Config) { c.DiscAddr = "127.0.9.1:0" })
	self := n.Self()
	if self.UDP() == 0 || self.UDP() == self.TCP() {
		t.Fatalf("TCP %d, UDP %d", self.TCP(), self.UDP())
	}
	if got := n.DiscoveryV4().Self().UDP(); got != self.UDP() {
		t.Fatalf("discovery's record has UDP %d", got)
	}
}

// A static node whose address changed is found through discovery: the
// failed dial asks discovery (the scheduler's Resolver) for its current
// record and dials that.
func TestStaticNodeResolvedByDiscovery(t *testing.T) {
	boot := startBootnode(t, "127.0.10.100", 0)
	b := startDiscNode(t, newTestKey(t), "127.0.10.2", "", "", []*enode.Node{boot}, nil)
	stale := enode.NewV4(b.key.Public(), b.ip, 1, 1) // nothing listens on port 1
	a := startDiscNode(t, newTestKey(t), "127.0.10.1", "", "", []*enode.Node{boot}, func(c *Config) {
		c.MaxPeers = 1 // one dial slot, held by the static dial while it resolves
		c.StaticNodes = []*enode.Node{stale}
	})
	waitFor(t, 30*time.Second, "static peer", func() bool { return a.PeerCount() == 1 })
	p := a.Peers()[0]
	if p.ID() != b.Self().ID() || !p.StaticDialed() {
		t.Fatalf("peer %v static=%v", p.ID(), p.StaticDialed())
	}
	if got := p.Node().TCP(); got != b.Self().TCP() {
		t.Fatalf("dialed TCP port %d, want %d", got, b.Self().TCP())
	}
}

// Stop ends every goroutine of the server, discovery's included, and
// releases the node DB file.
func TestDiscoveryStopLeaksNothing(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	bootNode, boot := newBootnode(t, "127.0.11.100", 0)
	dir := t.TempDir()
	a := startDiscNode(t, newTestKey(t), "127.0.11.1", "", filepath.Join(dir, "a.db"), []*enode.Node{bootNode}, nil)
	b := startDiscNode(t, newTestKey(t), "127.0.11.2", "", filepath.Join(dir, "b.db"), []*enode.Node{bootNode}, nil)
	waitFor(t, 30*time.Second, "a and b connected", func() bool { return a.PeerCount() == 1 && b.PeerCount() == 1 })
	a.Stop()
	b.Stop()
	boot.Close()
	goleak.VerifyNone(t, ignore)
	for _, name := range []string{"a.db", "b.db"} {
		db, err := nodedb.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(db.Peers()) != 1 {
			t.Errorf("%s: %d peer records, want 1", name, len(db.Peers()))
		}
		db.Close()
	}
}
