package p2p

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/devp2p-go/devp2p/crypto"
	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/rlp"
	"github.com/devp2p-go/devp2p/rlpx"
)

// Helpers of the attack tests (attack_test.go) and benchmarks
// (attack_bench_test.go). Every attack runs against a target server over
// loopback TCP while a legitimate server keeps a peer connection to it with
// a ping-pong loop, so each test can check that established peers keep
// talking, that a new peer still gets in, that memory and goroutines stay
// bounded, and what the attacker got.

// atkLog is a slog handler that counts the target server's log records
// about refused connections: the listener's closes before any cryptography
// by error text, and the errors of failed setups.
type atkLog struct {
	mu        sync.Mutex
	rejected  map[string]int
	setupErrs []error
}

func newAtkLog() *atkLog { return &atkLog{rejected: make(map[string]int)} }

func (h *atkLog) Enabled(context.Context, slog.Level) bool { return true }
func (h *atkLog) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *atkLog) WithGroup(string) slog.Handler            { return h }

func (h *atkLog) Handle(_ context.Context, r slog.Record) error {
	var err error
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "err" {
			err, _ = a.Value.Any().(error)
		}
		return true
	})
	h.mu.Lock()
	defer h.mu.Unlock()
	switch r.Message {
	case "Rejected inbound connection":
		if err != nil {
			h.rejected[err.Error()]++
		}
	case "Connection setup failed":
		h.setupErrs = append(h.setupErrs, err)
	}
	return nil
}

// rejectedBefore returns the number of connections closed before the
// encryption handshake with err.
func (h *atkLog) rejectedBefore(err error) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.rejected[err.Error()]
}

// rejectedAll returns the number of connections closed before the
// encryption handshake, for any reason.
func (h *atkLog) rejectedAll() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, c := range h.rejected {
		n += c
	}
	return n
}

// setupErrsMatching counts the failed setups whose error wraps target.
func (h *atkLog) setupErrsMatching(target error) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, err := range h.setupErrs {
		if errors.Is(err, target) {
			n++
		}
	}
	return n
}

// atkEnv is a target server with one established legitimate peer that
// plays ping-pong with it.
type atkEnv struct {
	t        *testing.T
	target   *testNode
	legit    *testNode
	log      *atkLog
	pongs    atomic.Int64 // round trips of the legitimate peer
	baseG    int          // goroutines before the attack
	baseHeap int64        // live heap before the attack
}

// atkProto is the protocol of the target: it answers each message with
// its value plus one.
var atkProto = echoProto("echo", 1)

// atkCap is its capability.
var atkCap = Cap{"echo", 1}

// atkPingPong is the legitimate peer's side of atkProto: it sends a value,
// waits for the answer, counts the round trip and, 2 ms later, sends the
// answer back.
func atkPingPong(count *atomic.Int64) Protocol {
	return Protocol{Name: "echo", Version: 1, Length: 8, Run: func(p *Peer, rw MsgReadWriter) error {
		var v uint
		for {
			if err := Send(rw, 0, v); err != nil {
				return err
			}
			msg, err := rw.ReadMsg()
			if err != nil {
				return err
			}
			if err := msg.Decode(&v); err != nil {
				return err
			}
			count.Add(1)
			time.Sleep(2 * time.Millisecond) // a few hundred a second, not a busy loop
		}
	}}
}

// atkStart starts the target on 127.0.0.1 (NoDial, MaxPeers 20, setup
// deadline 2 s instead of 5 s, mod applied last) and a legitimate server on
// 127.0.0.9 that dials it, and waits for their ping-pong to run.
func atkStart(t *testing.T, mod func(*Config)) *atkEnv {
	t.Helper()
	env := &atkEnv{t: t, log: newAtkLog()}
	env.target = startTCPServer(t, "127.0.0.1", func(c *Config) {
		c.NoDial = true
		c.NoDiscovery = true
		c.MaxPeers = 20
		c.Protocols = []Protocol{atkProto}
		c.Logger = slog.New(env.log)
		c.handshakeTO = 2 * time.Second
		if mod != nil {
			mod(c)
		}
	})
	env.legit = startTCPServer(t, "127.0.0.9", func(c *Config) {
		c.NoDiscovery = true
		c.Protocols = []Protocol{atkPingPong(&env.pongs)}
		c.StaticNodes = []*enode.Node{env.target.node}
	})
	waitFor(t, 10*time.Second, "the legitimate peer's ping-pong", func() bool { return env.pongs.Load() > 10 })
	env.baseG = runtime.NumGoroutine()
	env.baseHeap = atkHeapLive()
	return env
}

// alive checks that the legitimate peer is still connected and still
// exchanging messages: at least 20 more round trips within 10 s.
func (env *atkEnv) alive(when string) {
	env.t.Helper()
	n0 := env.pongs.Load()
	waitFor(env.t, 10*time.Second, "ping-pong of the established peer "+when, func() bool {
		return env.pongs.Load() >= n0+20
	})
	if n := env.legit.PeerCount(); n != 1 {
		env.t.Fatalf("%s: the legitimate server has %d peers, want 1", when, n)
	}
}

// newPeer connects a new legitimate raw peer from ip, has its message
// echoed and disconnects it. It returns how long the setup took.
func (env *atkEnv) newPeer(ip, when string) time.Duration {
	env.t.Helper()
	start := time.Now()
	p, err := tcpRaw(env.t, ip, env.target.node, atkCap)
	if err != nil {
		st := env.target.Stats()
		env.t.Fatalf("%s: a new peer from %s could not connect after %v: %v (target: %d pending, listener %+v, failures %v)",
			when, ip, time.Since(start), err, st.PendingInbound, st.Listener, st.HandshakeFailures)
	}
	took := time.Since(start)
	defer p.close()
	p.fd.SetDeadline(time.Now().Add(10 * time.Second))
	if err := p.send(baseProtoLen, rlp.AppendUint64(nil, 41)); err != nil {
		env.t.Fatalf("%s: new peer: %v", when, err)
	}
	for {
		code, data, _, err := p.rc.ReadMsg()
		if err != nil {
			env.t.Fatalf("%s: new peer: %v", when, err)
		}
		if code == pingMsg {
			p.send(pongMsg, emptyList)
			continue
		}
		if v, _, err := rlp.SplitUint64(data); code != baseProtoLen || err != nil || v != 42 {
			env.t.Fatalf("%s: new peer got message %#x %x, want the echo of 41", when, code, data)
		}
		return took
	}
}

// bounds checks the growth of goroutines and heap since the start of the
// attack.
func (env *atkEnv) bounds(when string, maxGoroutines int, maxHeap int64) (goroutines int, heap int64) {
	env.t.Helper()
	goroutines = runtime.NumGoroutine() - env.baseG
	heap = atkHeapLive() - env.baseHeap
	if goroutines > maxGoroutines {
		env.t.Errorf("%s: %d more goroutines, bound %d", when, goroutines, maxGoroutines)
	}
	if heap > maxHeap {
		env.t.Errorf("%s: %.1f MiB more live heap, bound %.1f MiB", when, float64(heap)/(1<<20), float64(maxHeap)/(1<<20))
	}
	return goroutines, heap
}

// settled waits for the goroutines of the attack to end (all but 10),
// then checks the bounds.
func (env *atkEnv) settled(when string, maxHeap int64) (goroutines int, heap int64) {
	env.t.Helper()
	waitFor(env.t, 10*time.Second, "the attack's goroutines to end "+when, func() bool {
		return runtime.NumGoroutine()-env.baseG <= 10
	})
	return env.bounds(when, 10, maxHeap)
}

// atkTotalAlloc returns the bytes allocated so far by the process.
func atkTotalAlloc() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.TotalAlloc
}

// failures returns the target's failed setups of phase by reason.
func (env *atkEnv) failures(phase string) map[string]uint64 {
	return env.target.Stats().HandshakeFailures[phase]
}

// failuresTotal returns the target's failed setups over all phases.
func (env *atkEnv) failuresTotal() (n uint64) {
	for _, reasons := range env.target.Stats().HandshakeFailures {
		for _, c := range reasons {
			n += c
		}
	}
	return n
}

// atkIP returns the i-th attacker address, 127.<base>.<i/250>.<1+i%250>.
func atkIP(base, i int) string {
	return netip.AddrFrom4([4]byte{127, byte(base + i/(250*256)), byte(i / 250 % 256), byte(1 + i%250)}).String()
}

// atkDialTCP opens a TCP connection from ip to n.
func atkDialTCP(ip string, n *enode.Node) (net.Conn, error) {
	return tcpDialerFrom(mustAddr(ip)).Dial(context.Background(), n)
}

// atkConn passes writes through, except that a hook set with onNextWrite
// may change the next one, or cut it short.
type atkConn struct {
	net.Conn
	mu   sync.Mutex
	hook func(b []byte) (out []byte, err error)
}

// errAtkCut is returned by a write cut short on purpose.
var errAtkCut = errors.New("write cut short by the attacker")

func (c *atkConn) onNextWrite(hook func(b []byte) ([]byte, error)) {
	c.mu.Lock()
	c.hook = hook
	c.mu.Unlock()
}

func (c *atkConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	hook := c.hook
	c.hook = nil
	c.mu.Unlock()
	if hook == nil {
		return c.Conn.Write(b)
	}
	out, herr := hook(append([]byte(nil), b...))
	if _, err := c.Conn.Write(out); err != nil {
		return 0, err
	}
	if herr != nil {
		return 0, herr
	}
	return len(b), nil
}

// atkFlip returns a hook that flips the byte at i (negative: from the end).
func atkFlip(i int) func([]byte) ([]byte, error) {
	return func(b []byte) ([]byte, error) {
		if i < 0 {
			i += len(b)
		}
		b[i] ^= 0xff
		return b, nil
	}
}

// atkOnlyHeader returns a hook that sends only the 32-byte frame header of
// a write and fails the rest, so a large message is announced but not sent.
func atkOnlyHeader(b []byte) ([]byte, error) { return b[:32], errAtkCut }

// atkPeer is an attacker's connection after the encryption handshake.
type atkPeer struct {
	key *crypto.PrivateKey
	fd  *atkConn
	rc  *rlpx.Conn
}

// atkHandshake connects from ip and runs the encryption handshake.
func atkHandshake(ip string, n *enode.Node) (*atkPeer, error) {
	fd, err := atkDialTCP(ip, n)
	if err != nil {
		return nil, err
	}
	p, err := atkHandshakeOn(&atkConn{Conn: fd}, n)
	if err != nil {
		fd.Close()
	}
	return p, err
}

// atkHandshakeOn runs the encryption handshake with n on c, with a fresh
// key, within 10 s.
func atkHandshakeOn(c *atkConn, n *enode.Node) (*atkPeer, error) {
	c.SetDeadline(time.Now().Add(10 * time.Second))
	key, err := crypto.GenerateKey(nil)
	if err != nil {
		return nil, err
	}
	p := &atkPeer{key: key, fd: c, rc: rlpx.NewConn(c, n.Pubkey(), nil)}
	if _, err := p.rc.Handshake(key); err != nil {
		return nil, err
	}
	return p, nil
}

// hello sends a Hello of the given version with atkCap and the
// attacker's key and reads the target's Hello. Version 4 keeps snappy off.
func (p *atkPeer) hello(version uint64) error {
	h := appendHello(nil, &hello{Version: version, Name: "attacker", Caps: []Cap{atkCap}, ID: p.key.Public()[:]})
	if _, err := p.rc.WriteMsg(helloMsg, h); err != nil {
		return err
	}
	code, data, _, err := p.rc.ReadMsg()
	switch {
	case err != nil:
		return err
	case code == discMsg:
		return decodeDisconnect(data)
	case code != helloMsg:
		return fmt.Errorf("got message %#x instead of Hello", code)
	}
	p.rc.SetSnappy(version >= snappyVersion)
	return nil
}

// untilDisconnect reads until a Disconnect, and returns its reason, or
// the read error.
func (p *atkPeer) untilDisconnect() (DiscReason, error) {
	for {
		code, data, _, err := p.rc.ReadMsg()
		if err != nil {
			return 0, err
		}
		if code == discMsg {
			return decodeDisconnect(data), nil
		}
	}
}

func (p *atkPeer) close() { p.fd.Close() }

// atkRun runs attack(i) for i in [0, n) on workers goroutines and returns
// the errors it returned, by text.
func atkRun(n, workers int, attack func(i int) error) map[string]int {
	var (
		mu   sync.Mutex
		errs = make(map[string]int)
		next atomic.Int64
		wg   sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := attack(i); err != nil {
					mu.Lock()
					errs[err.Error()]++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return errs
}

// atkReadAll reads from fd until it is closed and returns how many bytes
// came and the error that ended it (nil for EOF).
func atkReadAll(fd net.Conn, timeout time.Duration) (int, error) {
	fd.SetReadDeadline(time.Now().Add(timeout))
	var buf [512]byte
	n := 0
	for {
		m, err := fd.Read(buf[:])
		n += m
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) {
				return n, nil
			}
			return n, err
		}
	}
}

// atkCaptureAuth runs a legitimate encryption handshake and Hello with n
// from ip and returns the auth packet it sent, as it was on the wire. The
// connection becomes a peer and is closed at the end of the test.
func atkCaptureAuth(t *testing.T, ip string, n *enode.Node) []byte {
	t.Helper()
	fd, err := atkDialTCP(ip, n)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fd.Close() })
	var auth []byte
	c := &atkConn{Conn: fd}
	c.onNextWrite(func(b []byte) ([]byte, error) {
		auth = append([]byte(nil), b...)
		return b, nil
	})
	p, err := atkHandshakeOn(c, n)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.hello(baseVersion); err != nil {
		t.Fatal(err)
	}
	fd.SetDeadline(time.Time{})
	return auth
}
