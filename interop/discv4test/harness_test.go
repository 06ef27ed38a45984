package discv4test

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/devp2p-go/devp2p/crypto"
	"github.com/devp2p-go/devp2p/discover"
	"github.com/devp2p-go/devp2p/discover/v4wire"
	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/enr"
	gethcrypto "github.com/ethereum/go-ethereum/crypto"
	gethlog "github.com/ethereum/go-ethereum/log"
	gethdiscover "github.com/ethereum/go-ethereum/p2p/discover"
	gethenode "github.com/ethereum/go-ethereum/p2p/enode"
	gethenr "github.com/ethereum/go-ethereum/p2p/enr"
	gethrlp "github.com/ethereum/go-ethereum/rlp"
)

const (
	// gethPingInterval makes go-ethereum check one table node every random
	// interval up to 300 ms (3× that for validated nodes) instead of 3 s,
	// so that the nodes it relays in Neighbors (validated ones only) and
	// the records it refreshes on a higher seq follow within seconds.
	gethPingInterval = 300 * time.Millisecond
	// oursPingInterval is the same: our new nodes are checked every
	// ≤ 30 ms, validated ones every ≤ 900 ms.
	oursPingInterval = gethPingInterval

	// waitTimeout bounds every wait for the network to do something.
	waitTimeout = 30 * time.Second
	// silence is how long a node is given to (not) answer a packet.
	silence = 400 * time.Millisecond
)

var loopback = netip.MustParseAddr("127.0.0.1")

// The application entry both implementations put in their records.
const (
	implKey   = "impl"
	gethImpl  = "go-ethereum"
	ourImpl   = "devp2p-go"
	bumpKey   = "bump" // set by tests to make a node sign a new record
	keyLogEnv = "DISCV4TEST_LOG"
)

// keyPair is one secp256k1 key in both libraries' types.
type keyPair struct {
	ours   *crypto.PrivateKey
	theirs *ecdsa.PrivateKey
}

func newKey(t testing.TB) keyPair {
	t.Helper()
	k, err := gethcrypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	o, err := crypto.PrivateKeyFromBytes(gethcrypto.FromECDSA(k))
	if err != nil {
		t.Fatal(err)
	}
	return keyPair{o, k}
}

// pubkey returns the key in the wire form of Findnode targets.
func (k keyPair) pubkey() v4wire.Pubkey { return v4wire.Pubkey(*k.ours.Public()) }

func (k keyPair) id() enode.ID { return k.pubkey().ID() }

type impl string

const (
	implGeth impl = "geth"
	implOurs impl = "ours"
)

// other returns the other implementation.
func (i impl) other() impl {
	if i == implGeth {
		return implOurs
	}
	return implGeth
}

// nodeConfig configures a node of either implementation.
type nodeConfig struct {
	name string
	key  *keyPair // nil: a new key
	boot []*node  // bootnodes
	// reuse is a node (closed or not) whose key and node database the new
	// node takes over, as a restarted node keeps its data directory.
	reuse *node
}

// node is a running discovery listener of either implementation, on
// 127.0.0.1 with a port of its own.
type node struct {
	name string
	impl impl
	key  keyPair
	port int // UDP, and the TCP port in the record

	ours *discover.UDPv4
	ln   *enode.LocalNode
	odb  *memDB

	geth *gethdiscover.UDPv4
	gln  *gethenode.LocalNode
	gdb  *gethenode.DB

	closeOnce sync.Once
}

func (n *node) String() string { return fmt.Sprintf("%s(%s:%d)", n.name, n.impl, n.port) }

func (n *node) id() enode.ID { return n.key.id() }

func listenUDP(t testing.TB) (*net.UDPConn, int) {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	return conn, conn.LocalAddr().(*net.UDPAddr).Port
}

func startNode(t testing.TB, logs *logSink, i impl, cfg nodeConfig) *node {
	t.Helper()
	if i == implGeth {
		return startGeth(t, logs, cfg)
	}
	return startOurs(t, logs, cfg)
}

// startOurs starts one of our listeners with a memDB.
func startOurs(t testing.TB, logs *logSink, cfg nodeConfig) *node {
	t.Helper()
	n := &node{name: cfg.name, impl: implOurs}
	switch {
	case cfg.reuse != nil:
		n.key, n.odb = cfg.reuse.key, cfg.reuse.odb
	case cfg.key != nil:
		n.key = *cfg.key
	default:
		n.key = newKey(t)
	}
	if n.odb == nil {
		n.odb = newMemDB()
	}
	conn, port := listenUDP(t)
	n.port = port
	seq := n.odb.localSeq()
	if seq == 0 {
		seq = uint64(time.Now().UnixMilli()) // as go-ethereum starts
	}
	n.ln = enode.NewLocalNode(n.key.ours, seq)
	n.ln.SetSeqListener(n.odb.storeLocalSeq)
	n.ln.SetStaticIP(loopback)
	n.ln.SetFallbackUDP(port)
	n.ln.Set(enr.TCP(port))
	n.ln.Set(enr.WithEntry(implKey, ourImpl))
	var boot []*enode.Node
	for _, b := range cfg.boot {
		boot = append(boot, b.self(t))
	}
	udp, err := discover.ListenV4(conn, n.ln, discover.Config{
		PrivateKey:   n.key.ours,
		Bootnodes:    boot,
		DB:           n.odb,
		PingInterval: oursPingInterval,
		Log:          slog.New(logs.handler(n.name)),
	})
	if err != nil {
		conn.Close()
		t.Fatal(err)
	}
	n.ours = udp
	t.Cleanup(n.close)
	return n
}

// startGeth starts a go-ethereum listener with an in-memory enode.DB.
func startGeth(t testing.TB, logs *logSink, cfg nodeConfig) *node {
	t.Helper()
	n := &node{name: cfg.name, impl: implGeth}
	switch {
	case cfg.reuse != nil:
		n.key, n.gdb = cfg.reuse.key, cfg.reuse.gdb
	case cfg.key != nil:
		n.key = *cfg.key
	default:
		n.key = newKey(t)
	}
	if n.gdb == nil {
		db, err := gethenode.OpenDB("")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(db.Close)
		n.gdb = db
	}
	conn, port := listenUDP(t)
	n.port = port
	n.gln = gethenode.NewLocalNode(n.gdb, n.key.theirs)
	n.gln.SetStaticIP(net.IPv4(127, 0, 0, 1))
	n.gln.SetFallbackUDP(port)
	n.gln.Set(gethenr.TCP(port))
	n.gln.Set(gethenr.WithEntry(implKey, gethImpl))
	var boot []*gethenode.Node
	for _, b := range cfg.boot {
		boot = append(boot, b.gethSelf(t))
	}
	udp, err := gethdiscover.ListenV4(conn, n.gln, gethdiscover.Config{
		PrivateKey:   n.key.theirs,
		Bootnodes:    boot,
		PingInterval: gethPingInterval,
		Log:          gethlog.NewLogger(logs.handler(n.name)),
	})
	if err != nil {
		conn.Close()
		t.Fatal(err)
	}
	n.geth = udp
	t.Cleanup(n.close)
	return n
}

// close stops the listener; the node database stays open until the test
// ends, for a restart.
func (n *node) close() {
	n.closeOnce.Do(func() {
		if n.ours != nil {
			n.ours.Close()
		}
		if n.geth != nil {
			n.geth.Close()
		}
	})
}

// self returns the node's current record as our Node.
func (n *node) self(t testing.TB) *enode.Node {
	t.Helper()
	if n.ours != nil {
		return n.ours.Self()
	}
	return mustFromGeth(t, n.geth.Self())
}

// gethSelf returns the node's current record as go-ethereum's Node.
func (n *node) gethSelf(t testing.TB) *gethenode.Node {
	t.Helper()
	if n.geth != nil {
		return n.geth.Self()
	}
	return mustToGeth(t, n.ours.Self())
}

// setEntry sets an entry in the node's record, which makes it sign a new one
// with a higher seq, and returns that record's seq.
func (n *node) setEntry(t testing.TB, key string, v uint) uint64 {
	t.Helper()
	if n.ln != nil {
		n.ln.Set(enr.WithEntry(key, v))
		return n.ln.Node().Seq()
	}
	n.gln.Set(gethenr.WithEntry(key, v))
	return n.gln.Node().Seq()
}

// entry is what the tests look at in a table entry of either
// implementation.
type entry struct {
	id  enode.ID
	seq uint64
	ip  netip.Addr
	udp int
}

// table returns the entries of the node's buckets by ID.
func (n *node) table() map[enode.ID]entry {
	m := make(map[enode.ID]entry)
	if n.ours != nil {
		for _, e := range n.ours.AllNodes() {
			m[e.ID()] = entry{e.ID(), e.Seq(), e.IPAddr(), e.UDP()}
		}
		return m
	}
	for _, b := range n.geth.TableBuckets() {
		for _, e := range b {
			id := enode.ID(e.Node.ID())
			m[id] = entry{id, e.Node.Seq(), e.Node.IPAddr(), e.Node.UDP()}
		}
	}
	return m
}

// lookup runs a lookup for target on the node and returns the IDs of the
// result, closest first.
func (n *node) lookup(ctx context.Context, target keyPair) []enode.ID {
	var ids []enode.ID
	if n.ours != nil {
		for _, r := range n.ours.Lookup(ctx, target.pubkey()) {
			ids = append(ids, r.ID())
		}
		return ids
	}
	for _, r := range n.geth.LookupPubkey(&target.theirs.PublicKey) {
		ids = append(ids, enode.ID(r.ID()))
	}
	return ids
}

// recordRLP returns the RLP encoding of a record of either library.
func recordRLP(t testing.TB, r any) []byte {
	t.Helper()
	switch r := r.(type) {
	case *enr.Record:
		b, err := r.AppendRLP(nil)
		if err != nil {
			t.Fatal(err)
		}
		return b
	case *gethenr.Record:
		b, err := gethrlp.EncodeToBytes(r)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	t.Fatalf("recordRLP: %T", r)
	return nil
}

// toGeth converts a signed record of ours to go-ethereum's Node, by its
// RLP encoding.
func toGeth(n *enode.Node) (*gethenode.Node, error) {
	b, err := n.Record().AppendRLP(nil)
	if err != nil {
		return nil, err
	}
	var r gethenr.Record
	if err := gethrlp.DecodeBytes(b, &r); err != nil {
		return nil, err
	}
	return gethenode.New(gethenode.ValidSchemes, &r)
}

// fromGeth converts a signed record of go-ethereum to our Node.
func fromGeth(n *gethenode.Node) (*enode.Node, error) {
	b, err := gethrlp.EncodeToBytes(n.Record())
	if err != nil {
		return nil, err
	}
	var r enr.Record
	if err := r.UnmarshalRLP(b); err != nil {
		return nil, err
	}
	return enode.New(enode.ValidSchemes, &r)
}

func mustToGeth(t testing.TB, n *enode.Node) *gethenode.Node {
	t.Helper()
	g, err := toGeth(n)
	if err != nil {
		t.Fatalf("converting %v to go-ethereum: %v", n, err)
	}
	return g
}

func mustFromGeth(t testing.TB, n *gethenode.Node) *enode.Node {
	t.Helper()
	o, err := fromGeth(n)
	if err != nil {
		t.Fatalf("converting %v from go-ethereum: %v", n, err)
	}
	return o
}

// checkRecord compares a record a node returned for n (our Node) with n's
// current record, byte for byte, and checks the fields the tests rely on.
func checkRecord(t testing.TB, what string, got *enode.Node, n *node) {
	t.Helper()
	want := n.self(t)
	if got == nil {
		t.Errorf("%s: no record, want seq %d", what, want.Seq())
		return
	}
	if got.ID() != n.id() {
		t.Errorf("%s: record of %v, want %v", what, got.ID(), n.id())
	}
	if got.Seq() != want.Seq() {
		t.Errorf("%s: seq %d, want %d", what, got.Seq(), want.Seq())
	}
	if g, w := recordRLP(t, got.Record()), recordRLP(t, want.Record()); string(g) != string(w) {
		t.Errorf("%s: record\n got %x\nwant %x", what, g, w)
	}
	if ep, ok := got.UDPEndpoint(); !ok || ep != netip.AddrPortFrom(loopback, uint16(n.port)) || got.TCP() != n.port {
		t.Errorf("%s: endpoint udp %v tcp %d, want 127.0.0.1:%d tcp %d", what, ep, got.TCP(), n.port, n.port)
	}
	var name string
	wantName := ourImpl
	if n.impl == implGeth {
		wantName = gethImpl
	}
	if err := got.Load(enr.WithEntry(implKey, &name)); err != nil || name != wantName {
		t.Errorf("%s: entry %q = %q (%v), want %q", what, implKey, name, err, wantName)
	}
}

// waitFor polls cond until it returns "" or timeout passes; then it fails
// the test with the last description cond gave of what is missing.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		missing := cond()
		if missing == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s: %s", timeout, what, missing)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// closestIDs returns the k IDs among ids closest to target, closest first.
func closestIDs(target enode.ID, ids []enode.ID, k int) []enode.ID {
	s := slices.Clone(ids)
	sort.Slice(s, func(i, j int) bool { return enode.DistCmp(target, s[i], s[j]) < 0 })
	if len(s) > k {
		s = s[:k]
	}
	return s
}

// logSink collects the log records of a test's nodes (both
// implementations): warnings and errors always, everything down to the
// level named by $DISCV4TEST_LOG (trace, debug, info) if set. Records are
// printed when the test fails or the variable is set; errors always.
type logSink struct {
	level slog.Level
	mu    sync.Mutex // guards recs
	recs  []logRec
}

type logRec struct {
	level slog.Level
	line  string
}

func newLogSink(t testing.TB) *logSink {
	s := &logSink{level: slog.LevelWarn}
	verbose := true
	switch strings.ToLower(os.Getenv(keyLogEnv)) {
	case "trace":
		s.level = discover.LevelTrace
	case "debug":
		s.level = slog.LevelDebug
	case "info":
		s.level = slog.LevelInfo
	default:
		verbose = false
	}
	t.Cleanup(func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, r := range s.recs {
			if verbose || t.Failed() || r.level >= slog.LevelError {
				t.Log(r.line)
			}
		}
	})
	return s
}

func (s *logSink) handler(name string) slog.Handler { return &sinkHandler{sink: s, prefix: name} }

type sinkHandler struct {
	sink   *logSink
	prefix string
	attrs  string
}

func (h *sinkHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.sink.level }

func (h *sinkHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %-5v %q%s", r.Time.Format("15:04:05.000"), h.prefix, r.Level, r.Message, h.attrs)
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	h.sink.mu.Lock()
	h.sink.recs = append(h.sink.recs, logRec{r.Level, b.String()})
	h.sink.mu.Unlock()
	return nil
}

func (h *sinkHandler) WithAttrs(as []slog.Attr) slog.Handler {
	h2 := *h
	var b strings.Builder
	b.WriteString(h.attrs)
	for _, a := range as {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
	}
	h2.attrs = b.String()
	return &h2
}

func (h *sinkHandler) WithGroup(string) slog.Handler { return h }
