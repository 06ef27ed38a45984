package discover

import (
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/devp2p-go/devp2p/crypto"
	"github.com/devp2p-go/devp2p/discover/v4wire"
	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/enr"
	"github.com/devp2p-go/devp2p/internal/mclock"
	"go.uber.org/goleak"
)

// TestMain checks that no test leaves goroutines behind: Close must stop
// the read loop, the table loop, lookups and liveness checks.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// Code below here is the framework for the tests of this package.

// keySource makes deterministic keys.
type keySource struct {
	mu sync.Mutex
	r  *rand.ChaCha8
}

func newKeySource(seed byte) *keySource {
	return &keySource{r: rand.NewChaCha8([32]byte{seed})}
}

func (ks *keySource) key() *crypto.PrivateKey {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	k, err := crypto.GenerateKey(ks.r)
	if err != nil {
		panic(err)
	}
	return k
}

// testLog returns a logger writing to t.Log; DISCOVER_TRACE=1 shows packets.
func testLog(t testing.TB) *slog.Logger {
	level := slog.LevelDebug
	if os.Getenv("DISCOVER_TRACE") != "" {
		level = LevelTrace
	}
	return slog.New(slog.NewTextHandler(&tbWriter{t: t}, &slog.HandlerOptions{Level: level}))
}

type tbWriter struct {
	mu sync.Mutex
	t  testing.TB
}

func (w *tbWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// quietLog discards everything (for the simulation).
func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// udpTest runs one UDPv4 on an in-memory network with a simulated clock,
// facing a "remote" whose packets the test writes and reads by hand.
type udpTest struct {
	t          *testing.T
	net        *memNetwork
	clock      *mclock.Simulated
	udp        *UDPv4
	localKey   *crypto.PrivateKey
	localAddr  netip.AddrPort
	remoteKey  *crypto.PrivateKey
	remoteAddr netip.AddrPort
	remote     *memConn
	keys       *keySource
}

func newUDPTest(t *testing.T, mod ...func(*Config)) *udpTest {
	tt := newUDPTestNoInit(t, mod...)
	waitInit(t, tt.udp)
	return tt
}

// newUDPTestNoInit is newUDPTest without waiting for the first refresh.
func newUDPTestNoInit(t *testing.T, mod ...func(*Config)) *udpTest {
	tt := &udpTest{
		t:          t,
		net:        newMemNetwork(),
		clock:      new(mclock.Simulated),
		keys:       newKeySource(1),
		localAddr:  netip.MustParseAddrPort("10.0.1.1:30303"),
		remoteAddr: netip.MustParseAddrPort("10.0.2.2:30303"),
	}
	tt.localKey, tt.remoteKey = tt.keys.key(), tt.keys.key()
	tt.remote = tt.net.listen(tt.remoteAddr)
	t.Cleanup(func() { tt.remote.Close() })
	cfg := Config{
		PrivateKey: tt.localKey,
		Clock:      tt.clock,
		Log:        testLog(t),
		rand:       rand.New(rand.NewPCG(1, 2)),
	}
	for _, f := range mod {
		f(&cfg)
	}
	tt.udp = startNode(t, tt.net, tt.localAddr, cfg)
	return tt
}

func newLocalNodeAt(key *crypto.PrivateKey, addr netip.AddrPort) *enode.LocalNode {
	ln := enode.NewLocalNode(key, 0)
	ln.SetFallbackIP(addr.Addr())
	ln.SetFallbackUDP(int(addr.Port()))
	ln.Set(enr.TCP(addr.Port()))
	return ln
}

// startNode starts a listener at addr; the test closes it at the end.
func startNode(t testing.TB, net *memNetwork, addr netip.AddrPort, cfg Config) *UDPv4 {
	ln := newLocalNodeAt(cfg.PrivateKey, addr)
	udp, err := ListenV4(net.listen(addr), ln, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(udp.Close)
	return udp
}

// waitInit waits for the first refresh to end, so that its lookups do not
// interfere with a test.
func waitInit(t testing.TB, udp *UDPv4) {
	select {
	case <-udp.tab.initDone:
	case <-time.After(10 * time.Second):
		t.Fatal("timeout waiting for the initial refresh")
	}
}

func (tt *udpTest) remoteNode() *enode.Node {
	return enode.NewV4(tt.remoteKey.Public(), tt.remoteAddr.Addr(), int(tt.remoteAddr.Port()), int(tt.remoteAddr.Port()))
}

func (tt *udpTest) localNode() *enode.Node { return tt.udp.Self() }

// exp is an expiration time stamp for the remote's packets.
func (tt *udpTest) exp() uint64 { return v4wire.ExpirationFrom(tt.udp.wall()) }

// send sends p from the remote to the listener and returns its hash.
func (tt *udpTest) send(p v4wire.Packet) [32]byte {
	tt.t.Helper()
	d, hash, err := v4wire.Encode(tt.remoteKey, p)
	if err != nil {
		tt.t.Fatal(err)
	}
	tt.sendRaw(d)
	return hash
}

func (tt *udpTest) sendRaw(d []byte) {
	tt.remote.WriteToUDPAddrPort(d, tt.localAddr)
}

// read returns the next datagram the remote receives, decoded.
func (tt *udpTest) read() (v4wire.Packet, [32]byte) {
	tt.t.Helper()
	select {
	case d := <-tt.remote.in:
		p, from, hash, err := v4wire.Decode(d.data)
		if err != nil {
			tt.t.Fatalf("remote got bad packet: %v", err)
		}
		if from != v4wire.Pubkey(*tt.localKey.Public()) || d.from != tt.localAddr {
			tt.t.Fatalf("packet from wrong sender")
		}
		return p, hash
	case <-time.After(5 * time.Second):
		tt.t.Fatalf("timeout waiting for a packet")
		return nil, [32]byte{}
	}
}

// expect reads the next packet and checks its type.
func expect[P v4wire.Packet](tt *udpTest) (P, [32]byte) {
	tt.t.Helper()
	p, hash := tt.read()
	want, ok := p.(P)
	if !ok {
		tt.t.Fatalf("remote got %s, want %T", p.Name(), want)
	}
	return want, hash
}

// ping sends a Ping from the remote and returns its hash.
func (tt *udpTest) ping(seq uint64) [32]byte {
	return tt.send(&v4wire.Ping{
		Version:    4,
		From:       v4wire.NewEndpoint(tt.remoteAddr, tt.remoteAddr.Port()),
		To:         v4wire.NewEndpoint(tt.localAddr, 0),
		Expiration: tt.exp(),
		ENRSeq:     seq,
	})
}

// bond makes the listener and the remote bonded both ways: the remote pings,
// reads the Pong and answers the ping-back.
func (tt *udpTest) bond(seq uint64) {
	tt.t.Helper()
	hash := tt.ping(seq)
	pong, _ := expect[*v4wire.Pong](tt)
	if [32]byte(pong.ReplyTok) != hash {
		tt.t.Fatal("pong with wrong token")
	}
	_, pingHash := expect[*v4wire.Ping](tt)
	tt.send(&v4wire.Pong{To: v4wire.NewEndpoint(tt.localAddr, 0), ReplyTok: pingHash[:], Expiration: tt.exp(), ENRSeq: seq})
	waitFor(tt.t, "bond", func() bool { return tt.udp.bonds.hasBond(tt.remoteNode().ID(), tt.remoteAddr.Addr(), tt.udp.wall()) })
}

// waitFor polls cond (in real time) until it holds.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timeout waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// waitDrop waits until the drop counter of r reaches n.
func (tt *udpTest) waitDrop(r DropReason, n uint64) {
	tt.t.Helper()
	waitFor(tt.t, fmt.Sprintf("%v drop #%d", r, n), func() bool { return tt.udp.Stats().Drops[r] >= n })
}

// expectNone checks that the remote has received nothing more.
func (tt *udpTest) expectNone() {
	tt.t.Helper()
	if n := len(tt.remote.in); n > 0 {
		p, _ := tt.read()
		tt.t.Fatalf("remote got unexpected %s (%d queued)", p.Name(), n)
	}
}

// testNode makes a node with a fresh key at ip:port.
func (tt *udpTest) testNode(ip string, port int) *enode.Node {
	return enode.NewV4(tt.keys.key().Public(), netip.MustParseAddr(ip), port, port)
}
