package p2p

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/devp2p-go/devp2p/crypto"
	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/netutil"
	"github.com/devp2p-go/devp2p/rlp"
)

// Attacks on the limit model over loopback TCP: a ping flood, a subnet
// filling the inbound slots, idle peers holding every inbound slot, banned
// IPs and IDs, and strangers knocking on a trusted-only node. Remote ends
// dial from distinct 127.a.b.c addresses, a /24 standing for a subnet, and
// no address is exempt from the subnet caps. Each test checks that an
// established peer keeps working; TestMain's goleak checks that nothing is
// left running.

const limTimeout = 10 * time.Second // bound of every wait here

// limTCPServer starts a non-dialing server with the echo protocol on
// 127.0.0.1 for the attack tests.
func limTCPServer(t *testing.T, maxPeers int, mod func(*Config)) *testNode {
	t.Helper()
	return startTCPServer(t, "127.0.0.1", func(c *Config) {
		c.NoDial = true
		c.MaxPeers = maxPeers
		c.Protocols = []Protocol{echoProto("echo", 1)}
		limNoExempt(c)
		if mod != nil {
			mod(c)
		}
	})
}

// limDial connects a raw peer with the echo capability from ip, with key
// (nil: a new one), through both handshakes. It is closed at the end of
// the test.
func limDial(t *testing.T, ip string, n *testNode) (*rawPeer, error) {
	t.Helper()
	p, err := tcpRaw(t, ip, n.node, Cap{"echo", 1})
	if err == nil {
		t.Cleanup(p.close)
	}
	return p, err
}

// limDialKey is limDial with a given key.
func limDialKey(t *testing.T, ip string, n *testNode, key *crypto.PrivateKey) (*rawPeer, error) {
	t.Helper()
	fd, err := tcpDialerFrom(mustAddr(ip)).Dial(context.Background(), n.node)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { fd.Close() })
	fd.SetDeadline(time.Now().Add(limTimeout))
	p := &rawPeer{t: t, key: key, fd: fd, rc: newRawConn(fd, n)}
	if _, err := p.rc.Handshake(key); err != nil {
		return nil, err
	}
	if _, err := p.hello(Cap{"echo", 1}); err != nil {
		return nil, err
	}
	fd.SetDeadline(time.Time{})
	return p, nil
}

// limEstablished connects a peer that answers Pings and exchanges echo
// messages (limEcho).
func limEstablished(t *testing.T, ip string, n *testNode) *rawPeer {
	t.Helper()
	p, err := limDial(t, ip, n)
	if err != nil {
		t.Fatalf("established peer from %s: %v", ip, err)
	}
	p.startReader()
	limEcho(t, p, 1)
	return p
}

// limNext returns the next message other than Ping, answering Pings.
func limNext(t *testing.T, p *rawPeer) rawMsg {
	t.Helper()
	timeout := time.After(limTimeout)
	for {
		select {
		case m, ok := <-p.msgs:
			if !ok {
				t.Fatalf("connection closed: %v", p.readErr)
			}
			if m.code == pingMsg {
				p.send(pongMsg, emptyList)
				continue
			}
			return m
		case <-timeout:
			t.Fatal("no message")
		}
	}
}

// limEcho sends v to the echo protocol and checks the answer, v+1.
func limEcho(t *testing.T, p *rawPeer, v uint) {
	t.Helper()
	data, _ := rlp.EncodeToBytes(v)
	if err := p.send(baseProtoLen, data); err != nil {
		t.Fatalf("echo send: %v", err)
	}
	m := limNext(t, p)
	var got uint
	if m.code != baseProtoLen || rlp.DecodeBytes(m.data, &got) != nil || got != v+1 {
		t.Fatalf("echo %d: got message %#x %x", v, m.code, m.data)
	}
}

// limReadDisconnect reads until a Disconnect (skipping other messages)
// and returns its reason, or an error.
func limReadDisconnect(p *rawPeer) (DiscReason, error) {
	p.fd.SetReadDeadline(time.Now().Add(limTimeout))
	defer p.fd.SetReadDeadline(time.Time{})
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

// limHasPeer reports whether n has a peer with key's ID.
func limHasPeer(n *testNode, p *rawPeer) bool {
	id := enode.PubkeyToIDV4(p.key.Public())
	for _, q := range n.Peers() {
		if q.ID() == id {
			return true
		}
	}
	return false
}

func limPeerOf(t *testing.T, n *testNode, p *rawPeer) *Peer {
	t.Helper()
	id := enode.PubkeyToIDV4(p.key.Public())
	for _, q := range n.Peers() {
		if q.ID() == id {
			return q
		}
	}
	t.Fatalf("no peer %v", id)
	return nil
}

// A peer sending Pings as fast as it can is disconnected with
// DiscProtocolError after the burst of baseMsgBurst, having got one Pong
// per allowed Ping, while an established peer keeps exchanging messages.
func TestAttackPingFlood(t *testing.T) {
	n := limTCPServer(t, 10, nil)
	good := limEstablished(t, "127.0.60.1", n)
	events := make(chan *PeerEvent, 64)
	sub := n.SubscribeEvents(events)
	defer sub.Unsubscribe()

	bad, err := limDial(t, "127.0.61.1", n)
	if err != nil {
		t.Fatal(err)
	}
	badID := enode.PubkeyToIDV4(bad.key.Public())
	var (
		sent atomic.Int64
		stop atomic.Bool
		wg   sync.WaitGroup
	)
	start := time.Now()
	wg.Go(func() {
		for !stop.Load() && bad.send(pingMsg, emptyList) == nil {
			sent.Add(1)
		}
	})
	defer wg.Wait()
	defer stop.Store(true)

	// The echo exchange goes on during the flood.
	for i := range 20 {
		limEcho(t, good, uint(100+i))
	}
	pongs := 0
	reason, err := func() (DiscReason, error) {
		bad.fd.SetReadDeadline(time.Now().Add(limTimeout))
		for {
			code, data, _, err := bad.rc.ReadMsg()
			switch {
			case err != nil:
				return 0, err
			case code == pongMsg:
				pongs++
			case code == discMsg:
				return decodeDisconnect(data), nil
			}
		}
	}()
	elapsed := time.Since(start)
	stop.Store(true)
	if err != nil || reason != DiscProtocolError {
		t.Fatalf("flooder got %v, %v; want Disconnect(DiscProtocolError)", reason, err)
	}
	// One Pong per allowed Ping: the burst plus what refilled meanwhile.
	if most := baseMsgBurst + int(elapsed/baseMsgInterval) + 1; pongs > most {
		t.Fatalf("%d Pongs in %v, at most %d allowed", pongs, elapsed, most)
	}
	timeout := time.After(limTimeout)
	for dropped := false; !dropped; {
		select {
		case ev := <-events:
			if ev.Type == PeerEventTypeDrop && ev.Peer == badID {
				if *ev.Reason != DiscProtocolError || ev.RemoteRequested {
					t.Fatalf("drop event %+v", ev)
				}
				dropped = true
			}
		case <-timeout:
			t.Fatal("flooder not dropped")
		}
	}
	if got := n.Stats().Failures[PhaseRunning+"/"+DirInbound+"/"+ReasonFlood]; got != 1 {
		t.Errorf("policy failures %v, want one running/inbound/flood", n.Stats().Failures)
	}
	for i := range 20 {
		limEcho(t, good, uint(200+i))
	}
	if n.PeerCount() != 1 || !limHasPeer(n, good) {
		t.Fatalf("%d peers; the established one must stay", n.PeerCount())
	}
	t.Logf("flooder sent %d Pings, got %d Pongs and Disconnect(%v) after %v", sent.Load(), pongs, reason, elapsed)
}

// A node trying to take every inbound slot from one /24 gets at most
// MaxInboundPerSubnet of them, whether its connections come at once or
// one by one; the extra ones are refused at the checkpoints while
// handshakes are in flight and then closed before any cryptography. A peer
// from another subnet still gets in; an established one is unaffected.
func TestAttackSubnetFill(t *testing.T) {
	const perSubnet = 3
	n := limTCPServer(t, 20, func(c *Config) {
		c.Limits.MaxInboundPerSubnet = perSubnet
		c.MaxPendingPeers = 50
	})
	good := limEstablished(t, "127.0.72.1", n)

	// At once: 12 connections from 127.0.70.0/24.
	type result struct {
		p   *rawPeer
		err error
	}
	results := make(chan result, 12)
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Go(func() {
			p, err := limDial(t, fmt.Sprintf("127.0.70.%d", i+1), n)
			results <- result{p, err}
		})
	}
	wg.Wait()
	close(results)
	// Once no handshake is in flight, each connection that got Hello is
	// either a peer or was refused at checkpoint 2.
	waitFor(t, limTimeout, "setups to end", func() bool { return n.inbound.pendingCount() == 0 })
	var admitted, refusedCheckpoint, refusedEarly int
	for r := range results {
		switch {
		case r.err != nil:
			var reason DiscReason
			if errors.As(r.err, &reason) && reason == DiscTooManyPeers {
				refusedCheckpoint++ // checkpoint 1
			} else {
				refusedEarly++ // closed before the encryption handshake
			}
		case limHasPeer(n, r.p):
			admitted++
		default:
			if reason, err := limReadDisconnect(r.p); err != nil || reason != DiscTooManyPeers {
				t.Fatalf("refused at checkpoint 2 with %v, %v", reason, err)
			}
			refusedCheckpoint++
		}
	}
	if admitted != perSubnet {
		t.Fatalf("%d of 12 admitted from one subnet, want %d", admitted, perSubnet)
	}
	t.Logf("at once: %d admitted, %d refused at a checkpoint, %d closed before the handshake",
		admitted, refusedCheckpoint, refusedEarly)

	// One by one: all closed before the encryption handshake.
	before := limRejected(n, errInboundSubnetFull)
	for i := range 20 {
		if _, err := limDial(t, fmt.Sprintf("127.0.70.%d", 100+i), n); err == nil {
			t.Fatal("connection from the full subnet got through")
		}
	}
	if got := limRejected(n, errInboundSubnetFull) - before; got != 20 {
		t.Fatalf("%d of 20 closed before the handshake as subnet full", got)
	}
	// Another subnet gets in; the established peer still works.
	other := limEstablished(t, "127.0.71.1", n)
	limEcho(t, good, 7)
	limEcho(t, other, 8)
	perSub := make(map[netip.Prefix]int)
	for _, p := range n.Peers() {
		pfx, _ := netutil.AddrFromNetAddr(p.RemoteAddr()).Prefix(24)
		perSub[pfx]++
	}
	if got := perSub[netip.MustParsePrefix("127.0.70.0/24")]; got != perSubnet || n.PeerCount() != perSubnet+2 {
		t.Fatalf("%d peers, %d from the attacking subnet", n.PeerCount(), got)
	}
}

// All inbound slots are taken by idle peers from several subnets. With
// eviction on, legitimate newcomers from other subnets get in, each
// evicting an idle peer; the peers that are protected, one marked useful
// and one with a measured RTT, stay, although they are the youngest peers
// of the largest subnet. With eviction off, the newcomer is refused.
func TestAttackSlotExhaustionEviction(t *testing.T) {
	for _, evict := range []bool{true, false} {
		t.Run(fmt.Sprintf("evict=%t", evict), func(t *testing.T) {
			limSlotExhaustion(t, evict)
		})
	}
}

func limSlotExhaustion(t *testing.T, evict bool) {
	const maxPeers = 20
	n := limTCPServer(t, maxPeers, func(c *Config) {
		c.Limits.EvictInbound = &evict
		c.pingEvery = time.Second // RTTs soon; 1/s is within the base message limit
	})
	// 18 idle attackers: four in each of 127.0.80–83, two in 127.0.84.
	var idle []*rawPeer
	for s := range 5 {
		for i := range 4 {
			if s == 4 && i == 2 {
				break
			}
			p, err := limDial(t, fmt.Sprintf("127.0.%d.%d", 80+s, i+1), n)
			if err != nil {
				t.Fatal(err)
			}
			idle = append(idle, p)
		}
	}
	// The youngest two, in 127.0.84 too: one useful, one fast.
	useful, err := limDial(t, "127.0.84.10", n)
	if err != nil {
		t.Fatal(err)
	}
	fast := limEstablished(t, "127.0.84.11", n)
	waitFor(t, limTimeout, "all peers", func() bool { return n.PeerCount() == maxPeers })
	limPeerOf(t, n, useful).MarkUseful()
	fastPeer := limPeerOf(t, n, fast)
	// The fast peer answers the server's Pings.
	var wg sync.WaitGroup
	defer wg.Wait()
	defer fast.close()
	wg.Go(func() {
		for m := range fast.msgs {
			if m.code == pingMsg {
				fast.send(pongMsg, emptyList)
			}
		}
	})
	waitFor(t, limTimeout, "RTT", func() bool { return fastPeer.RTT() > 0 })
	if got := n.snapshot.Load().evictable; got != evict {
		t.Fatalf("snapshot evictable = %t", got)
	}

	// Newcomers from two new subnets (the eviction burst).
	for i, ip := range []string{"127.0.95.1", "127.0.96.1"} {
		p, err := limDial(t, ip, n)
		if !evict {
			var reason DiscReason
			if err == nil {
				reason, err = limReadDisconnect(p)
			} else if errors.As(err, &reason) {
				err = nil
			}
			if err != nil || reason != DiscTooManyPeers {
				t.Fatalf("newcomer %d with eviction off: %v, %v; want DiscTooManyPeers", i, reason, err)
			}
			break
		}
		if err != nil {
			t.Fatalf("newcomer %d: %v", i, err)
		}
		waitFor(t, limTimeout, "newcomer", func() bool { return limHasPeer(n, p) })
	}
	st := n.inbound.stats()
	if want := map[bool]uint64{true: 2, false: 0}[evict]; st.Evicted != want {
		t.Fatalf("%d evicted, want %d", st.Evicted, want)
	}
	left := 0
	for _, p := range idle {
		if limHasPeer(n, p) {
			left++
		}
	}
	if want := map[bool]int{true: len(idle) - 2, false: len(idle)}[evict]; left != want {
		t.Fatalf("%d idle attackers left, want %d", left, want)
	}
	if !limHasPeer(n, useful) || !limHasPeer(n, fast) {
		t.Fatal("a protected peer was evicted")
	}
	if n.PeerCount() != maxPeers {
		t.Fatalf("%d peers, want %d", n.PeerCount(), maxPeers)
	}
}

// Connections from a banned IP are closed before any cryptography; a
// connected peer at that IP is dropped. A banned node ID is refused at
// checkpoint 1 from any IP. An established peer is unaffected.
func TestAttackBannedIP(t *testing.T) {
	n := limTCPServer(t, 10, nil)
	good := limEstablished(t, "127.0.100.1", n)
	victim, err := limDial(t, "127.0.101.2", n)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, limTimeout, "peers", func() bool { return n.PeerCount() == 2 })

	n.BanNode(enode.ID{}, mustAddr("127.0.101.1"), time.Hour, "attack")
	n.BanNode(enode.ID{}, mustAddr("127.0.101.2"), time.Hour, "attack")
	if reason, err := limReadDisconnect(victim); err != nil || reason != DiscUselessPeer {
		t.Fatalf("banned peer got %v, %v", reason, err)
	}
	for range 30 {
		if _, err := limDial(t, "127.0.101.1", n); err == nil {
			t.Fatal("banned IP got through")
		}
	}
	if got := limRejected(n, errBanned); got != 30 {
		t.Fatalf("%d of 30 closed before the handshake as banned", got)
	}
	limEcho(t, good, 1)
	waitFor(t, limTimeout, "the banned peer's removal", func() bool { return n.PeerCount() == 1 })
	if !limHasPeer(n, good) {
		t.Fatal("established peer gone")
	}
}

func TestAttackBannedID(t *testing.T) {
	n := limTCPServer(t, 10, nil)
	good := limEstablished(t, "127.0.100.1", n)
	key := newTestKey(t)
	n.BanNode(enode.PubkeyToIDV4(key.Public()), netip.Addr{}, time.Hour, "attack")
	for i := range 5 {
		_, err := limDialKey(t, fmt.Sprintf("127.0.%d.1", 102+i), n, key)
		if reason, ok := err.(DiscReason); !ok || reason != discBanned {
			t.Fatalf("banned ID from address %d: %v, want Disconnect(%v)", i, err, discBanned)
		}
	}
	// Counted when each setup has ended, after its graceful close.
	waitFor(t, limTimeout, "5 refusals at checkpoint 1", func() bool {
		return n.Stats().HandshakeFailures[HandshakePhaseCheckpoint1][discBanned.String()] == 5
	})
	// Unbanned, it gets in.
	n.Unban(enode.PubkeyToIDV4(key.Public()), netip.Addr{})
	if _, err := limDialKey(t, "127.0.110.1", n, key); err != nil {
		t.Fatal(err)
	}
	limEcho(t, good, 1)
	waitFor(t, limTimeout, "peers", func() bool { return n.PeerCount() == 2 })
}

// A trusted-only node closes connections from other IPs before any
// cryptography and refuses other keys from a trusted node's IP at
// checkpoint 1; its trusted peer keeps working.
func TestAttackTrustedOnly(t *testing.T) {
	trustedKey := newTestKey(t)
	trusted := enode.NewV4(trustedKey.Public(), mustAddr("127.0.120.1"), 30303, 30303)
	n := limTCPServer(t, 10, func(c *Config) {
		c.Limits.TrustedOnly = true
		c.TrustedNodes = []*enode.Node{trusted}
	})
	tp, err := limDialKey(t, "127.0.120.1", n, trustedKey)
	if err != nil {
		t.Fatal(err)
	}
	tp.startReader()
	limEcho(t, tp, 1)
	for i := range 30 {
		if _, err := limDial(t, fmt.Sprintf("127.0.121.%d", 1+i%4), n); err == nil {
			t.Fatal("stranger got through")
		}
	}
	if got := limRejected(n, errNotTrusted); got != 30 {
		t.Fatalf("%d of 30 closed before the handshake as not trusted", got)
	}
	_, err = limDial(t, "127.0.120.1", n)
	if reason, ok := err.(DiscReason); !ok || reason != discNotTrusted {
		t.Fatalf("stranger from the trusted IP: %v, want Disconnect(%v)", err, discNotTrusted)
	}
	limEcho(t, tp, 2)
	if n.PeerCount() != 1 || !limHasPeer(n, tp) {
		t.Fatalf("%d peers", n.PeerCount())
	}
}
