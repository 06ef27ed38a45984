package p2p

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/internal/mclock"
	"github.com/devp2p-go/devp2p/netutil"
)

// Tests of the limit model on the in-memory network. The attack tests over
// loopback TCP are in attack_limits_test.go.

// limNoExempt holds every address to the subnet caps: tests run on
// 127.x.y.z, which is exempt by default.
func limNoExempt(c *Config) { c.Limits.SubnetExempt = &netutil.Netlist{} }

// limJoin connects a raw peer from ip through both handshakes and starts
// its reader.
func limJoin(t *testing.T, pn *pipeNet, ip string, n *testNode) *rawPeer {
	t.Helper()
	p := mustDialRaw(t, pn, ip, n, newTestKey(t))
	if _, err := p.hello(); err != nil {
		t.Fatalf("%s: %v", ip, err)
	}
	p.startReader()
	synctest.Wait()
	return p
}

// limClosedPreCrypto checks that a connection from ip is closed without a
// byte and at once.
func limClosedPreCrypto(t *testing.T, pn *pipeNet, ip string, n *testNode) {
	t.Helper()
	fd, err := pn.dial(context.Background(), mustAddr(ip), n.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer fd.Close()
	start := time.Now()
	if b, _ := io.ReadAll(fd); len(b) != 0 || time.Since(start) != 0 {
		t.Fatalf("%s: %d bytes after %v, want a close at once", ip, len(b), time.Since(start))
	}
}

func limRejected(n *testNode, err error) uint64 { return n.inbound.stats().Rejected[err.Error()] }

// A subnet holds at most MaxPendingPerSubnet handshakes in flight; other
// subnets are not affected. LAN addresses are exempt by default.
func TestLimitsPendingPerSubnet(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pn := newPipeNet()
		n := startPipeServer(t, pn, "127.0.1.1", func(c *Config) { limNoExempt(c); c.MaxPendingPeers = 20 })
		for i := range defaultMaxPendingPerSubnet {
			fd, err := pn.dial(context.Background(), mustAddr(fmt.Sprintf("127.0.5.%d", i+1)), n.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer fd.Close()
		}
		synctest.Wait()
		limClosedPreCrypto(t, pn, "127.0.5.100", n)
		if got := limRejected(n, errPendingPerSubnet); got != 1 {
			t.Fatalf("%d rejections counted", got)
		}
		mustDialRaw(t, pn, "127.0.6.1", n, newTestKey(t))
		// The idle ones time out, freeing the subnet.
		time.Sleep(handshakeTimeout)
		synctest.Wait()
		mustDialRaw(t, pn, "127.0.5.100", n, newTestKey(t))
	})
	synctest.Test(t, func(t *testing.T) {
		pn := newPipeNet()
		n := startPipeServer(t, pn, "127.0.1.1", func(c *Config) { c.MaxPendingPeers = 20 })
		for i := range defaultMaxPendingPerSubnet {
			fd, err := pn.dial(context.Background(), mustAddr(fmt.Sprintf("127.0.5.%d", i+1)), n.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer fd.Close()
		}
		synctest.Wait()
		mustDialRaw(t, pn, "127.0.5.100", n, newTestKey(t)) // LAN: exempt
	})
}

// Connected inbound peers per subnet are capped: before the handshakes
// when the IP tells, at the checkpoints for handshakes that were already
// in flight. Trusted nodes are exempt.
func TestLimitsInboundPerSubnet(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pn := newPipeNet()
		trustedKey := newTestKey(t)
		trusted := enode.NewV4(trustedKey.Public(), mustAddr("127.0.5.9"), 30303, 30303)
		n := startPipeServer(t, pn, "127.0.1.1", func(c *Config) {
			limNoExempt(c)
			c.Limits.MaxInboundPerSubnet = 2
			c.TrustedNodes = []*enode.Node{trusted}
		})
		limJoin(t, pn, "127.0.5.1", n)
		// Two handshakes in flight: both pass checkpoint 1, the second
		// is refused at checkpoint 2.
		a := mustDialRaw(t, pn, "127.0.5.2", n, newTestKey(t))
		b := mustDialRaw(t, pn, "127.0.5.3", n, newTestKey(t))
		if _, err := a.hello(); err != nil {
			t.Fatal(err)
		}
		a.startReader()
		synctest.Wait()
		if _, err := b.hello(); err != nil {
			t.Fatal(err)
		}
		b.readDisconnect(DiscTooManyPeers)
		// Now the IP tells: closed before the handshake.
		limClosedPreCrypto(t, pn, "127.0.5.4", n)
		if got := limRejected(n, errInboundSubnetFull); got != 1 {
			t.Fatalf("%d rejections counted", got)
		}
		// Another subnet gets in; so does the trusted node from the full
		// subnet, while another key from its IP is refused at checkpoint 1.
		limJoin(t, pn, "127.0.6.1", n)
		mustDialRaw(t, pn, "127.0.5.9", n, newTestKey(t)).readDisconnect(DiscTooManyPeers)
		tp := mustDialRaw(t, pn, "127.0.5.9", n, trustedKey)
		if _, err := tp.hello(); err != nil {
			t.Fatal(err)
		}
		tp.startReader()
		synctest.Wait()
		if n.PeerCount() != 4 {
			t.Fatalf("%d peers, want 4", n.PeerCount())
		}
	})
	// LAN addresses are exempt by default.
	synctest.Test(t, func(t *testing.T) {
		pn := newPipeNet()
		n := startPipeServer(t, pn, "127.0.1.1", func(c *Config) { c.Limits.MaxInboundPerSubnet = 2 })
		for i := range 3 {
			limJoin(t, pn, fmt.Sprintf("127.0.5.%d", i+1), n)
		}
		if n.PeerCount() != 3 {
			t.Fatalf("%d peers, want 3", n.PeerCount())
		}
	})
}

// Dynamically dialed peers are capped per subnet; static ones are exempt.
func TestLimitsOutboundPerSubnet(t *testing.T) {
	for _, static := range []bool{false, true} {
		t.Run(fmt.Sprintf("static=%t", static), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				pn := newPipeNet()
				var remotes []*enode.Node
				for _, ip := range []string{"127.0.7.1", "127.0.7.2", "127.0.8.1"} {
					remotes = append(remotes, startPipeServer(t, pn, ip, nil).node)
				}
				n := startPipeServer(t, pn, "127.0.1.1", func(c *Config) {
					limNoExempt(c)
					// The outbound target is what the cap leaves reachable:
					// a dial scheduler short of its target keeps drawing
					// candidates from the endless iterator.
					c.MaxPeers, c.MaxOutbound = 10, 2
					c.Limits.MaxOutboundPerSubnet = 1
					if static {
						c.StaticNodes = remotes
					} else {
						c.nodeSource = enode.CycleNodes(remotes)
					}
				})
				time.Sleep(time.Minute)
				synctest.Wait()
				perSubnet := make(map[netip.Prefix]int)
				for _, p := range n.Peers() {
					ip := netutil.AddrFromNetAddr(p.RemoteAddr())
					pfx, _ := ip.Prefix(24)
					perSubnet[pfx]++
				}
				sub := netip.MustParsePrefix("127.0.7.0/24")
				want := 1
				if static {
					want = 2
				}
				if perSubnet[sub] != want || n.PeerCount() != want+1 {
					t.Fatalf("%d peers, %d from %v; want %d from it", n.PeerCount(), perSubnet[sub], sub, want)
				}
			})
		})
	}
}

// limFill connects count idle raw peers from distinct /24 subnets
// 127.0.<base+i>.1.
func limFill(t *testing.T, pn *pipeNet, n *testNode, base, count int) []*rawPeer {
	t.Helper()
	var ps []*rawPeer
	for i := range count {
		ps = append(ps, limJoin(t, pn, fmt.Sprintf("127.0.%d.1", base+i), n))
		time.Sleep(time.Second) // distinct connection times
	}
	return ps
}

// limEvicted returns the peers of ps that got Disconnect(DiscTooManyPeers).
// Pings are skipped.
func limEvicted(t *testing.T, ps []*rawPeer) (evicted []*rawPeer) {
	t.Helper()
	synctest.Wait()
	for _, p := range ps {
	drain:
		for {
			select {
			case m, ok := <-p.msgs:
				switch {
				case !ok:
					break drain
				case m.code == pingMsg:
					continue
				case m.code != discMsg || decodeDisconnect(m.data) != DiscTooManyPeers:
					t.Fatalf("got %#x %x, want Disconnect(DiscTooManyPeers)", m.code, m.data)
				}
				evicted = append(evicted, p)
			default:
				break drain
			}
		}
	}
	return evicted
}

// With inbound full, a newcomer from a new subnet takes the place of an
// unprotected inbound peer. A newcomer from a subnet that has an inbound
// peer does not evict, and evictions are rate limited.
func TestLimitsEviction(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pn := newPipeNet()
		n := startPipeServer(t, pn, "127.0.1.1", func(c *Config) {
			limNoExempt(c)
			c.MaxPeers, c.NoDial = 10, true
		})
		old := limFill(t, pn, n, 10, 10)
		if !n.snapshot.Load().evictable {
			t.Fatal("snapshot: nothing evictable")
		}
		first := limJoin(t, pn, "127.0.50.1", n)
		if ev := limEvicted(t, old); len(ev) != 1 {
			t.Fatalf("%d peers evicted, want 1", len(ev))
		}
		if n.PeerCount() != 10 {
			t.Fatalf("%d peers", n.PeerCount())
		}
		// Not from a subnet that has an inbound peer: a courtesy refusal.
		mustDialRaw(t, pn, "127.0.50.2", n, newTestKey(t)).readDisconnect(DiscTooManyPeers)
		// A second eviction is within the burst; a third is not.
		old = append(old, first)
		second := limJoin(t, pn, "127.0.51.1", n)
		if ev := limEvicted(t, old); len(ev) != 1 {
			t.Fatalf("%d peers evicted, want 1", len(ev))
		}
		old = append(old, second)
		mustDialRaw(t, pn, "127.0.52.1", n, newTestKey(t)).readDisconnect(DiscTooManyPeers)
		time.Sleep(evictInterval)
		limJoin(t, pn, "127.0.53.1", n)
		if ev := limEvicted(t, old); len(ev) != 1 {
			t.Fatalf("%d peers evicted, want 1", len(ev))
		}
		st := n.inbound.stats()
		if st.Evicted != 3 || st.EvictTries != 3 {
			t.Fatalf("stats %+v, want 3 evicted of 3 tries", st)
		}
	})
}

// Eviction does not happen when it is off or when every inbound peer is
// protected; the listener then refuses as without eviction.
func TestLimitsNoEviction(t *testing.T) {
	off := false
	for _, tc := range []struct {
		name  string
		peers int
		evict *bool
	}{
		{"off", 10, &off},
		{"all protected", evictKeepGroups + evictKeepAge, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				pn := newPipeNet()
				n := startPipeServer(t, pn, "127.0.1.1", func(c *Config) {
					limNoExempt(c)
					c.MaxPeers, c.NoDial = tc.peers, true
					c.Limits.EvictInbound = tc.evict
				})
				old := limFill(t, pn, n, 10, tc.peers)
				if n.snapshot.Load().evictable {
					t.Fatal("snapshot: evictable")
				}
				expectRefusedFull(t, pn, n)
				if ev := limEvicted(t, old); len(ev) != 0 {
					t.Fatalf("%d peers evicted", len(ev))
				}
				if st := n.inbound.stats(); st.Evicted != 0 || st.EvictTries != 0 {
					t.Fatalf("stats %+v", st)
				}
			})
		})
	}
}

// Bans and trusted-only mode before the handshake, by IP, and at
// checkpoint 1, by ID.
func TestLimitsBansAndTrustedOnly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pn := newPipeNet()
		n := startPipeServer(t, pn, "127.0.1.1", nil)
		n.BanNode(enode.ID{}, mustAddr("127.0.5.1"), time.Hour, "test")
		limClosedPreCrypto(t, pn, "127.0.5.1", n)
		if got := limRejected(n, errBanned); got != 1 {
			t.Fatalf("%d rejections counted", got)
		}
		key := newTestKey(t)
		n.BanNode(enode.PubkeyToIDV4(key.Public()), netip.Addr{}, time.Hour, "test")
		mustDialRaw(t, pn, "127.0.5.2", n, key).readDisconnect(discBanned)
		// Bans end.
		time.Sleep(time.Hour)
		mustDialRaw(t, pn, "127.0.5.1", n, newTestKey(t))
		p := mustDialRaw(t, pn, "127.0.5.3", n, key)
		if _, err := p.hello(); err != nil {
			t.Fatal(err)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		pn := newPipeNet()
		trustedKey := newTestKey(t)
		trusted := enode.NewV4(trustedKey.Public(), mustAddr("127.0.5.9"), 30303, 30303)
		n := startPipeServer(t, pn, "127.0.1.1", func(c *Config) {
			c.Limits.TrustedOnly = true
			c.TrustedNodes = []*enode.Node{trusted}
		})
		limClosedPreCrypto(t, pn, "127.0.5.1", n)
		if got := limRejected(n, errNotTrusted); got != 1 {
			t.Fatalf("%d rejections counted", got)
		}
		mustDialRaw(t, pn, "127.0.5.9", n, newTestKey(t)).readDisconnect(discNotTrusted)
		tp := mustDialRaw(t, pn, "127.0.5.9", n, trustedKey)
		if _, err := tp.hello(); err != nil {
			t.Fatal(err)
		}
		// A trusted node without an IP: the IP cannot tell, checkpoint 1
		// refuses the others.
		noIP := newTestKey(t)
		n.AddTrustedPeer(enode.NewV4(noIP.Public(), netip.Addr{}, 0, 0))
		mustDialRaw(t, pn, "127.0.5.2", n, newTestKey(t)).readDisconnect(discNotTrusted)
		p := mustDialRaw(t, pn, "127.0.5.3", n, noIP)
		if _, err := p.hello(); err != nil {
			t.Fatal(err)
		}
		tp.startReader()
		p.startReader()
		synctest.Wait()
		if n.PeerCount() != 2 {
			t.Fatalf("%d peers, want the 2 trusted", n.PeerCount())
		}
	})
}

// BenchmarkInboundRejected measures what the listener spends on a
// connection it closes before any cryptography: here, from a subnet that
// has its share of inbound peers.
func BenchmarkInboundRejected(b *testing.B) {
	s := newInboundState(mclock.System{}, inboundThrottleTime)
	sub := netip.MustParsePrefix("8.8.8.0/24")
	a := inboundCheck{
		ip:                  mustAddr("8.8.8.8"),
		subnet:              sub,
		group:               sub,
		maxPendingPerIP:     4,
		maxPendingPerSubnet: 8,
		maxInboundPerSubnet: 2,
		evictOn:             true,
		snap:                &admissionSnapshot{counts: peerCounts{total: 10, inbound: 5}, inbound: map[netip.Prefix]int{sub: 2}},
		limits:              peerLimits{maxPeers: 50, maxInbound: 34, maxOutbound: 16},
	}
	b.ReportAllocs()
	for b.Loop() {
		if s.admit(a) != errInboundSubnetFull {
			b.Fatal("admitted")
		}
	}
}
