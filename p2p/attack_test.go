package p2p

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/devp2p-go/devp2p/rlpx"
	"github.com/golang/snappy"
)

// Adversarial tests of the transport and the handshakes (issue 6). Each
// runs an attack over loopback TCP against a target server (atkStart: setup
// deadline 2 s through the handshakeTO hook, MaxPeers 20) while a
// legitimate server holds a peer connection to it that plays ping-pong, and
// checks four things: the established peer keeps exchanging messages
// during and after the attack, a new legitimate peer gets in during and
// after it, goroutines and heap stay within a stated bound, and the
// attacker gets the outcome it should (the reason sent, or a close before
// any cryptography) with the matching count in Stats().HandshakeFailures.
// docs/attacks.md describes each attack and its defence.

// atkBigPayload is a payload whose frame announces the largest size the
// wire format allows, 2^24−1 bytes: the frame header cannot announce more.
// It is shared by all attackers and never sent past its header.
var atkBigPayload = sync.OnceValue(func() []byte { return make([]byte, rlpx.MaxMessageSize-1) })

// Thousands of TCP connections from one address, each held until the
// server closes it. The per-IP pending cap (4) lets at most four of them
// into the encryption handshake at a time, where they run out the setup
// deadline; the server closes all others right after accept, before any
// cryptography, and sends nothing to any of them.
func TestAttackFloodOneIP(t *testing.T) {
	env := atkStart(t, nil)
	const (
		min     = 2000
		workers = 16
	)
	var (
		stop, conns, bytesIn atomic.Int64
		errs                 sync.Map
		wg                   sync.WaitGroup
		maxPending           int
	)
	for range workers {
		wg.Go(func() {
			for stop.Load() == 0 || conns.Load() < min {
				fd, err := atkDialTCP("127.0.0.2", env.target.node)
				if err != nil {
					errs.Store(err.Error(), true)
					continue
				}
				conns.Add(1)
				n, err := atkReadAll(fd, 10*time.Second)
				fd.Close()
				bytesIn.Add(int64(n))
				if err != nil {
					errs.Store(err.Error(), true)
				}
			}
		})
	}
	waitFor(t, 20*time.Second, "500 attacker connections", func() bool { return conns.Load() >= 500 })
	for range 10 {
		maxPending = max(maxPending, env.target.Stats().PendingInbound)
		time.Sleep(5 * time.Millisecond)
	}
	env.alive("during the flood")
	took := env.newPeer("127.0.0.3", "during the flood")
	g, heap := env.bounds("during the flood", workers+3*defaultMaxPendingPerIP+20, 8<<20)
	stop.Store(1)
	wg.Wait()
	env.alive("after the flood")
	env.newPeer("127.0.0.3", "after the flood")

	total := int(conns.Load())
	errs.Range(func(k, _ any) bool { t.Errorf("attacker: %v", k); return true })
	if n := bytesIn.Load(); n != 0 {
		t.Errorf("attackers received %d bytes, want none", n)
	}
	if maxPending > defaultMaxPendingPerIP+1 {
		t.Errorf("%d handshakes pending during the flood, cap %d per IP (+1 new peer)", maxPending, defaultMaxPendingPerIP)
	}
	// Every connection was either closed before the handshake or ran out
	// the setup deadline in it.
	var started uint64
	waitFor(t, 5*time.Second, "all attacker connections accounted for", func() bool {
		started = env.failures(HandshakePhaseRLPx)["timeout"]
		return env.log.rejectedBefore(errPendingPerIP)+int(started) == total
	})
	if n := env.failuresTotal(); n != started {
		t.Errorf("%d failed setups, %d of them timeouts in the encryption handshake; want only those", n, started)
	}
	t.Logf("%d connections from one IP: %d closed before the handshake, %d ran out the setup deadline; "+
		"at most %d pending; a new peer got in in %v; during the flood +%d goroutines, +%.1f MiB heap",
		total, total-int(started), started, maxPending, took, g, float64(heap)/(1<<20))
}

// Thousands of connections from a thousand addresses, each closed at once
// by the attacker (a connect flood). No per-IP cap applies, so each gets a
// setup, which ends at its first read, before any cryptography.
func TestAttackFloodManyIPs(t *testing.T) {
	env := atkStart(t, nil)
	const (
		total   = 4000
		ips     = 1000
		workers = 16
	)
	var done atomic.Int64
	var errs map[string]int
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		errs = atkRun(total, workers, func(i int) error {
			defer done.Add(1)
			fd, err := atkDialTCP(atkIP(20, i%ips), env.target.node)
			if err != nil {
				return err
			}
			return fd.Close()
		})
	}()
	waitFor(t, 20*time.Second, "1000 attacker connections", func() bool { return done.Load() >= 1000 })
	env.alive("during the flood")
	took := env.newPeer("127.0.0.3", "during the flood")
	g, heap := env.bounds("during the flood", workers+waitingSlotsFactor*defaultMaxPendingPeers+20, 16<<20)
	<-finished
	env.alive("after the flood")
	env.newPeer("127.0.0.4", "after the flood")
	if len(errs) > 0 {
		t.Errorf("attacker errors: %v", errs)
	}
	var inHandshake int
	waitFor(t, 10*time.Second, "all attacker connections accounted for", func() bool {
		inHandshake = int(env.failuresTotal())
		return inHandshake+env.log.rejectedAll() == total
	})
	fails := env.target.Stats().HandshakeFailures
	if len(fails) != 1 || fails[HandshakePhaseRLPx] == nil {
		t.Errorf("failures %v, want only the encryption handshake", fails)
	}
	// No setup got past reading the first bytes of auth.
	env.log.mu.Lock()
	for _, err := range env.log.setupErrs {
		var he *rlpx.HandshakeError
		if !errors.As(err, &he) || he.Phase != "read" {
			t.Errorf("setup failed with %v, want a read error of the encryption handshake", err)
			break
		}
	}
	env.log.mu.Unlock()
	t.Logf("%d connect-and-close from %d IPs: %d setups ended reading auth (%v), %d closed before; "+
		"a new peer got in in %v; during the flood +%d goroutines, +%.1f MiB heap",
		total, ips, inHandshake, fails[HandshakePhaseRLPx], env.log.rejectedAll(), took, g, float64(heap)/(1<<20))
}

// Slow clients: connections that send nothing, or one byte a second, hold
// a pending slot each until the setup deadline.
func TestAttackSlowClients(t *testing.T) {
	const clients = 1000
	// slow opens the clients from ips source addresses and, with trickle,
	// sends one byte a second on each; it returns a function that closes
	// them.
	slow := func(t *testing.T, env *atkEnv, ips int, trickle bool) (closeAll func()) {
		var (
			mu    sync.Mutex
			conns []net.Conn
			wg    sync.WaitGroup
		)
		errs := atkRun(clients, 16, func(i int) error {
			fd, err := atkDialTCP(atkIP(30, i%ips), env.target.node)
			if err != nil {
				return err
			}
			mu.Lock()
			conns = append(conns, fd)
			mu.Unlock()
			return nil
		})
		if len(errs) > 0 {
			t.Fatalf("attacker errors: %v", errs)
		}
		quit := make(chan struct{})
		if trickle {
			wg.Go(func() {
				tick := time.NewTicker(time.Second)
				defer tick.Stop()
				// A size prefix of 0x0150 (336 bytes), then zeros.
				for i := 0; ; i++ {
					select {
					case <-tick.C:
					case <-quit:
						return
					}
					b := []byte{0}
					switch i {
					case 0:
						b[0] = 0x01
					case 1:
						b[0] = 0x50
					}
					mu.Lock()
					for _, fd := range conns {
						fd.SetWriteDeadline(time.Now().Add(10 * time.Millisecond))
						fd.Write(b)
					}
					mu.Unlock()
				}
			})
		}
		return func() {
			close(quit)
			wg.Wait()
			for _, fd := range conns {
				fd.Close()
			}
		}
	}

	// From one address, the per-IP cap lets four clients hold a slot;
	// the server closes the others at once, so a new peer finds a slot.
	t.Run("OneIP", func(t *testing.T) {
		for _, trickle := range []bool{false, true} {
			env := atkStart(t, func(c *Config) { c.handshakeTO = 3 * time.Second })
			closeAll := slow(t, env, 1, trickle)
			env.alive("during the attack")
			took := env.newPeer("127.0.0.3", "during the attack")
			if took >= env.target.cfg.handshakeTO {
				t.Errorf("trickle %t: the new peer took %v, as long as the setup deadline: it waited for a slot held by a slow client", trickle, took)
			}
			// The new peer's own setup ends just after it became a peer.
			var pending int
			waitFor(t, 2*time.Second, "pending handshakes within the per-IP cap", func() bool {
				pending = env.target.Stats().PendingInbound
				return pending <= defaultMaxPendingPerIP
			})
			g, heap := env.bounds("during the attack", 3*defaultMaxPendingPerIP+20, 8<<20)
			closeAll()
			env.alive("after the attack")
			env.newPeer("127.0.0.4", "after the attack")
			waitFor(t, 5*time.Second, "slow clients accounted for", func() bool {
				return env.log.rejectedBefore(errPendingPerIP)+int(env.failuresTotal()) == clients
			})
			t.Logf("trickle %t: %d slow clients from one IP: %d closed at once, %v failed setups; "+
				"a new peer got in in %v; +%d goroutines, +%.1f MiB heap",
				trickle, clients, env.log.rejectedBefore(errPendingPerIP), env.target.Stats().HandshakeFailures, took, g, float64(heap)/(1<<20))
		}
	})

	// From a thousand addresses, no per-IP cap applies: the clients take
	// every waiting slot (waitingSlotsFactor × MaxPendingPeers), and the
	// oldest gives way to each new connection, so none waits in the
	// kernel's accept queue for long in front of a new peer.
	t.Run("ManyIPs", func(t *testing.T) {
		env := atkStart(t, func(c *Config) { c.handshakeTO = 3 * time.Second })
		closeAll := slow(t, env, clients, true)
		defer closeAll()
		env.alive("during the attack")
		took := env.newPeer("127.0.0.3", "during the attack")
		if took >= env.target.cfg.handshakeTO {
			t.Errorf("the new peer took %v, as long as the setup deadline: it waited for a slot held by a slow client", took)
		}
		g, heap := env.bounds("during the attack", waitingSlotsFactor*defaultMaxPendingPeers+20, 16<<20)
		t.Logf("%d slow clients from %d IPs: a new peer got in in %v; +%d goroutines, +%.1f MiB heap",
			clients, clients, took, g, float64(heap)/(1<<20))
	})

	// Clients that run the encryption handshake and then never send
	// their Hello take every handshake slot; one that has waited a fifth
	// of the setup deadline gives way to a new setup, so the new peer
	// waits at most that long, and the attack costs a handshake per slot
	// per fifth of the deadline.
	t.Run("SlowHello", func(t *testing.T) {
		const n = defaultMaxPendingPeers + 10
		env := atkStart(t, func(c *Config) { c.handshakeTO = 5 * time.Second })
		var (
			mu    sync.Mutex
			peers []*atkPeer
			wg    sync.WaitGroup
		)
		defer func() {
			wg.Wait()
			for _, p := range peers {
				p.close()
			}
		}()
		for i := range n {
			wg.Go(func() {
				if p, err := atkHandshake(atkIP(31, i), env.target.node); err == nil {
					mu.Lock()
					peers = append(peers, p)
					mu.Unlock()
				}
			})
		}
		waitFor(t, 10*time.Second, "the slots to fill", func() bool {
			return env.target.Stats().PendingInbound >= defaultMaxPendingPeers
		})
		env.alive("during the attack")
		took := env.newPeer("127.0.0.3", "during the attack")
		if took >= env.target.cfg.handshakeTO {
			t.Errorf("the new peer took %v, as long as the setup deadline: it waited for a slot held by a slow client", took)
		}
		if st := env.target.Stats().Listener; st.StalledHello == 0 {
			t.Errorf("no setup waiting for its Hello was closed to make room: %+v", st)
		}
		t.Logf("%d clients silent after the handshake: a new peer got in in %v", n, took)
	})
}

// atkHandshakeRun runs n attackers from distinct addresses, 8 at a time:
// each runs the encryption handshake and then attack, which returns the
// reason the target disconnected with. It fails the test unless every
// attacker got want.
func atkHandshakeRun(t *testing.T, env *atkEnv, n, ipBase int, want DiscReason, attack func(p *atkPeer) (DiscReason, error)) {
	t.Helper()
	var wrong sync.Map
	errs := atkRun(n, 8, func(i int) error {
		p, err := atkHandshake(atkIP(ipBase, i), env.target.node)
		if err != nil {
			return err
		}
		defer p.close()
		got, err := attack(p)
		if err != nil {
			return err
		}
		if got != want {
			wrong.Store(got, true)
		}
		return nil
	})
	if len(errs) > 0 {
		t.Errorf("attacker errors: %v", errs)
	}
	wrong.Range(func(k, _ any) bool { t.Errorf("an attacker got Disconnect(%v), want %v", k, want); return true })
}

// atkDuring runs attack with env's checks in the middle: after some
// attackers, the established peer must still talk and a new one get in.
func atkDuring(t *testing.T, env *atkEnv, attack func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		attack()
	}()
	env.alive("during the attack")
	env.newPeer("127.0.0.3", "during the attack")
	<-done
	env.alive("after the attack")
	env.newPeer("127.0.0.4", "after the attack")
}

// A frame with a bad MAC ends the connection with DiscProtocolError: in
// the Hello (a setup failure of the Hello phase) or after it (a peer
// dropped).
func TestAttackBadMAC(t *testing.T) {
	const n = 50
	t.Run("HeaderMACInHello", func(t *testing.T) {
		env := atkStart(t, nil)
		atkDuring(t, env, func() {
			atkHandshakeRun(t, env, n, 40, DiscProtocolError, func(p *atkPeer) (DiscReason, error) {
				h := appendHello(nil, &hello{Version: baseVersion, Name: "attacker", Caps: []Cap{atkCap}, ID: p.key.Public()[:]})
				p.fd.onNextWrite(atkFlip(20)) // in the header MAC
				if _, err := p.rc.WriteMsg(helloMsg, h); err != nil {
					return 0, err
				}
				return p.untilDisconnect() // after the target's Hello
			})
		})
		if got := env.failures(HandshakePhaseHello)[DiscProtocolError.String()]; got != n {
			t.Errorf("%d Hello failures with %q, want %d; all: %v", got, DiscProtocolError, n, env.target.Stats().HandshakeFailures)
		}
		env.settled("after the attack", 4<<20)
	})
	t.Run("FrameMACAfterHello", func(t *testing.T) {
		env := atkStart(t, nil)
		atkDuring(t, env, func() {
			atkHandshakeRun(t, env, n, 41, DiscProtocolError, func(p *atkPeer) (DiscReason, error) {
				if err := p.hello(baseVersion); err != nil {
					return 0, err
				}
				p.fd.onNextWrite(atkFlip(-1)) // in the frame MAC
				if _, err := p.rc.WriteMsg(baseProtoLen, []byte{0x01}); err != nil {
					return 0, err
				}
				return p.untilDisconnect()
			})
		})
		if n := env.failuresTotal(); n != 0 {
			t.Errorf("%d setup failures, want none (the attackers were peers)", n)
		}
		env.settled("after the attack", 4<<20)
	})
}

// A frame header announcing 2^24−1 bytes, the most the 24-bit size field
// can, is refused from the header, before anything of the frame is read or
// buffered: in the Hello, whose limit is 2048 bytes, and after it, over a
// MaxMessageSize of 1 MiB.
func TestAttackOversizedFrameHeader(t *testing.T) {
	const n = 30
	big := atkBigPayload()
	run := func(t *testing.T, afterHello bool) {
		env := atkStart(t, func(c *Config) { c.MaxMessageSize = 1 << 20 })
		alloc0 := atkTotalAlloc()
		atkDuring(t, env, func() {
			atkHandshakeRun(t, env, n, 42, DiscProtocolError, func(p *atkPeer) (DiscReason, error) {
				code := uint64(helloMsg)
				if afterHello {
					if err := p.hello(4); err != nil {
						return 0, err
					}
					code = baseProtoLen
				}
				p.fd.onNextWrite(atkOnlyHeader)
				if _, err := p.rc.WriteMsg(code, big); !errors.Is(err, errAtkCut) {
					return 0, fmt.Errorf("write: %v", err)
				}
				return p.untilDisconnect()
			})
		})
		want := uint64(0)
		if !afterHello {
			want = n
		}
		if got := env.failures(HandshakePhaseHello)[DiscProtocolError.String()]; got != want {
			t.Errorf("%d Hello failures with %q, want %d", got, DiscProtocolError, want)
		}
		// Everything allocated during the attack, both ends, including
		// the checks of atkDuring: less than a quarter of one announced
		// frame per attacker.
		alloc := atkTotalAlloc() - alloc0
		if alloc > n*4<<20 {
			t.Errorf("%.1f MiB allocated by %d attackers, bound %d MiB", float64(alloc)/(1<<20), n, 4*n)
		}
		g, heap := env.settled("after the attack", 4<<20)
		t.Logf("%d headers announcing %d bytes: %.1f MiB allocated in all during the attack (both ends); after it +%d goroutines, +%.1f MiB heap",
			n, len(big)+1, float64(alloc)/(1<<20), g, float64(heap)/(1<<20))
	}
	t.Run("InHello", func(t *testing.T) { run(t, false) })
	t.Run("AfterHello", func(t *testing.T) { run(t, true) })
}

// A snappy frame that decodes to more than MaxMessageSize is refused from
// its decoded-length prefix, before the output is allocated: a real bomb
// (8 MiB of zeros in 390 KiB, limit 1 MiB) and a lying one (a prefix
// claiming 4 GiB, 3 bytes of data, default limit).
func TestAttackSnappyBomb(t *testing.T) {
	const n = 20
	bomb := snappy.Encode(nil, make([]byte, 8<<20))
	liar := []byte{0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x00, 0x00}
	for _, tc := range []struct {
		name    string
		limit   int
		payload []byte
	}{
		{"Bomb", 1 << 20, bomb},
		{"Liar", 0, liar},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := atkStart(t, func(c *Config) { c.MaxMessageSize = tc.limit })
			alloc0 := atkTotalAlloc()
			atkDuring(t, env, func() {
				atkHandshakeRun(t, env, n, 43, DiscProtocolError, func(p *atkPeer) (DiscReason, error) {
					if err := p.hello(baseVersion); err != nil {
						return 0, err
					}
					p.rc.SetSnappy(false) // send the compressed bytes as they are
					if _, err := p.rc.WriteMsg(baseProtoLen, tc.payload); err != nil {
						return 0, err
					}
					return p.untilDisconnect()
				})
			})
			// Everything allocated during the attack, both ends, including
			// the checks of atkDuring: less than a quarter of one decoded
			// bomb per attacker.
			alloc := atkTotalAlloc() - alloc0
			if alloc > n*2<<20 {
				t.Errorf("%.1f MiB allocated by %d bombs, bound %d MiB", float64(alloc)/(1<<20), n, n*2)
			}
			if n := env.failuresTotal(); n != 0 {
				t.Errorf("%d setup failures, want none (the attackers were peers)", n)
			}
			g, heap := env.settled("after the attack", 4<<20)
			t.Logf("%d bombs of %d bytes: %.1f MiB allocated in all during the attack (both ends); after it +%d goroutines, +%.1f MiB heap",
				n, len(tc.payload), float64(alloc)/(1<<20), g, float64(heap)/(1<<20))
		})
	}
}

// A Hello that does not decode ends the setup with DiscProtocolError.
func TestAttackGarbageHello(t *testing.T) {
	const n = 100
	env := atkStart(t, nil)
	atkDuring(t, env, func() {
		atkHandshakeRun(t, env, n, 44, DiscProtocolError, func(p *atkPeer) (DiscReason, error) {
			garbage := make([]byte, 200)
			rand.Read(garbage)
			garbage[0] = 0xf8 // a long list header over 200 random bytes
			if _, err := p.rc.WriteMsg(helloMsg, garbage); err != nil {
				return 0, err
			}
			return p.untilDisconnect()
		})
	})
	if got := env.failures(HandshakePhaseHello)[DiscProtocolError.String()]; got != n {
		t.Errorf("%d Hello failures with %q, want %d; all: %v", got, DiscProtocolError, n, env.target.Stats().HandshakeFailures)
	}
	env.settled("after the attack", 4<<20)
}

// A Hello whose ID is not the key proved in the encryption handshake ends
// the setup with DiscUnexpectedIdentity, and one with a zero ID with
// DiscInvalidIdentity.
func TestAttackHelloWrongID(t *testing.T) {
	const n = 50
	env := atkStart(t, nil)
	other := newTestKey(t).Public()
	sendHello := func(p *atkPeer, id []byte) (DiscReason, error) {
		h := appendHello(nil, &hello{Version: baseVersion, Name: "attacker", Caps: []Cap{atkCap}, ID: id})
		if _, err := p.rc.WriteMsg(helloMsg, h); err != nil {
			return 0, err
		}
		return p.untilDisconnect()
	}
	atkDuring(t, env, func() {
		atkHandshakeRun(t, env, n, 45, DiscUnexpectedIdentity, func(p *atkPeer) (DiscReason, error) {
			return sendHello(p, other[:])
		})
		atkHandshakeRun(t, env, n, 46, DiscInvalidIdentity, func(p *atkPeer) (DiscReason, error) {
			return sendHello(p, make([]byte, 64))
		})
	})
	fails := env.failures(HandshakePhaseHello)
	if fails[DiscUnexpectedIdentity.String()] != n || fails[DiscInvalidIdentity.String()] != n {
		t.Errorf("Hello failures %v, want %d of %q and %q", fails, n, DiscUnexpectedIdentity, DiscInvalidIdentity)
	}
	env.settled("after the attack", 4<<20)
}

// A captured auth packet replayed 2000 times is refused by the replay
// filter before any cryptography: the attacker gets nothing back, not even
// the ack. Without the filter each replay costs the server a responder
// handshake; the test logs the CPU of both (attack_bench_test.go measures
// them as benchmarks).
func TestAttackReplayedAuth(t *testing.T) {
	const n = 2000
	// replay sends auth n times from distinct addresses and returns the
	// process CPU per replay and the bytes the attackers received.
	replay := func(env *atkEnv, auth []byte, n int) (cpu time.Duration, bytesIn int64) {
		var in atomic.Int64
		cpu0 := processCPU()
		errs := atkRun(n, 8, func(i int) error {
			fd, err := atkDialTCP(atkIP(50, i), env.target.node)
			if err != nil {
				return err
			}
			defer fd.Close()
			if _, err := fd.Write(auth); err != nil {
				return err
			}
			fd.SetReadDeadline(time.Now().Add(5 * time.Second))
			var buf [1]byte
			m, err := fd.Read(buf[:]) // the ack, if any; then we leave
			in.Add(int64(m))
			if m == 0 && !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
				return err
			}
			return nil
		})
		if len(errs) > 0 {
			t.Errorf("attacker errors: %v", errs)
		}
		return time.Duration((processCPU() - cpu0) / int64(n)), in.Load()
	}

	env := atkStart(t, nil)
	auth := atkCaptureAuth(t, "127.0.0.5", env.target.node)
	var cpu time.Duration
	var bytesIn int64
	atkDuring(t, env, func() { cpu, bytesIn = replay(env, auth, n) })
	if bytesIn != 0 {
		t.Errorf("replayers received %d bytes, want none", bytesIn)
	}
	if got := env.log.setupErrsMatching(errAuthReplay); got != n {
		t.Errorf("%d setups failed with errAuthReplay, want %d", got, n)
	}
	rlpxFails := env.failures(HandshakePhaseRLPx)
	if got := rlpxFails["replay"]; got != n || env.failuresTotal() != n {
		t.Errorf("failures %v, want %d in the encryption handshake", env.target.Stats().HandshakeFailures, n)
	}
	if got := env.target.Stats().Failures[PhaseECIES+"/"+DirInbound+"/"+ReasonReplay]; got != n {
		t.Errorf("policy failures %v, want %d replays", env.target.Stats().Failures, n)
	}
	g, heap := env.settled("after the attack", 4<<20)

	// The same against a server without the filter, for scale.
	const m = 200
	off := atkStart(t, func(c *Config) { c.authFilter = func([]byte) error { return nil } })
	auth = atkCaptureAuth(t, "127.0.0.5", off.target.node)
	cpuOff, bytesOff := replay(off, auth, m)
	if bytesOff == 0 {
		t.Errorf("without the filter the replayers received no ack")
	}
	t.Logf("%d replays refused before any cryptography: %v CPU per replay, both ends (server and attacker), "+
		"+%d goroutines, +%.1f MiB heap after; without the filter (%d replays): %v per replay, each answered with an ack (%.1f×)",
		n, cpu, g, float64(heap)/(1<<20), m, cpuOff, float64(cpuOff)/float64(cpu))
}

// A frame header announcing 2^24−1 bytes followed by a trickle of bytes:
// the server's buffer grows only as bytes arrive (256 KiB first), so each
// such connection costs it a small fraction of the announced size, and the
// message read deadline (readTO, set to 3 s here instead of 30 s) ends it.
// Sixty of them at once keep neither the established peer quiet nor a new
// one out.
func TestAttackHeaderTrickle(t *testing.T) {
	const (
		n        = 60
		perConn  = 512 << 10 // bound of heap per connection, both ends
		readTime = 3 * time.Second
	)
	big := atkBigPayload()
	env := atkStart(t, func(c *Config) {
		c.MaxPeers = n + 10
		c.readTO = readTime
	})
	events := make(chan *PeerEvent, 4*n)
	sub := env.target.SubscribeEvents(events)
	defer sub.Unsubscribe()

	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	errs := atkRun(n, 8, func(i int) error {
		p, err := atkHandshake(atkIP(60, i), env.target.node)
		if err != nil {
			return err
		}
		if err := p.hello(4); err != nil {
			p.close()
			return err
		}
		p.fd.onNextWrite(atkOnlyHeader)
		if _, err := p.rc.WriteMsg(baseProtoLen, big); !errors.Is(err, errAtkCut) {
			p.close()
			return fmt.Errorf("write: %v", err)
		}
		fd := p.fd.Conn // the rlpx.Conn and its write buffer are dropped
		fd.SetDeadline(time.Time{})
		mu.Lock()
		conns = append(conns, fd)
		mu.Unlock()
		return nil
	})
	defer func() {
		for _, fd := range conns {
			fd.Close()
		}
	}()
	if len(errs) > 0 {
		t.Fatalf("attacker errors: %v", errs)
	}
	start := time.Now()
	quit := make(chan struct{})
	var wg sync.WaitGroup
	var sent atomic.Int64
	wg.Go(func() {
		chunk := make([]byte, 64)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
			case <-quit:
				return
			}
			mu.Lock()
			for _, fd := range conns {
				fd.SetWriteDeadline(time.Now().Add(10 * time.Millisecond))
				if m, _ := fd.Write(chunk); m > 0 {
					sent.Add(int64(m))
				}
			}
			mu.Unlock()
		}
	})
	defer func() { close(quit); wg.Wait() }()

	time.Sleep(time.Second)
	g, heap := env.bounds("during the trickle", 3*n+20, n*perConn)
	if env.target.PeerCount() != n+1 {
		t.Errorf("target has %d peers during the trickle, want %d", env.target.PeerCount(), n+1)
	}
	env.alive("during the trickle")
	env.newPeer("127.0.0.3", "during the trickle")

	// The read deadline ends them all.
	timeouts := 0
	deadline := time.After(readTime + 10*time.Second)
	for timeouts < n {
		select {
		case ev := <-events:
			if ev.Type == PeerEventTypeDrop && ev.Reason != nil && *ev.Reason == DiscReadTimeout {
				timeouts++
			}
		case <-deadline:
			t.Fatalf("%d of %d trickling peers dropped for read timeout", timeouts, n)
		}
	}
	env.alive("after the trickle")
	env.newPeer("127.0.0.4", "after the trickle")
	t.Logf("%d connections announcing %d bytes each, %d bytes trickled in all: +%.1f MiB heap (%.0f KiB per connection, "+
		"both ends), +%d goroutines; all dropped for read timeout %v after the headers",
		n, len(big)+1, sent.Load(), float64(heap)/(1<<20), float64(heap)/n/1024, g, time.Since(start).Round(100*time.Millisecond))
}
