package p2p

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/rlp"
)

// Two servers, one dialing the other as a static node, run a protocol
// both ways and report each other in Peers, PeersInfo and events.
func TestServerDialAndAccept(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pn := newPipeNet()
		a := startPipeServer(t, pn, "127.0.1.1", func(c *Config) { c.Protocols = []Protocol{echoProto("echo", 1)} })
		events := make(chan *PeerEvent, 10)
		sub := a.SubscribeEvents(events)
		defer sub.Unsubscribe()

		b := startPipeServer(t, pn, "127.0.1.2", func(c *Config) {
			c.Protocols = []Protocol{echoProto("echo", 1)}
			c.StaticNodes = []*enode.Node{a.node}
		})
		synctest.Wait()
		if a.PeerCount() != 1 || b.PeerCount() != 1 {
			t.Fatalf("peer counts %d, %d", a.PeerCount(), b.PeerCount())
		}
		pa, pb := a.Peers()[0], b.Peers()[0]
		if pa.ID() != b.localnode.ID() || pb.ID() != a.localnode.ID() {
			t.Fatal("wrong peer IDs")
		}
		if !pa.Inbound() || pb.Inbound() || !pb.StaticDialed() {
			t.Fatalf("flags: a sees %v, b sees %v", pa.connFlags(), pb.connFlags())
		}
		if !pa.RunningCap("echo", []uint{1}) || pa.RunningCap("echo", []uint{2}) {
			t.Fatal("RunningCap")
		}
		ev := <-events
		if ev.Type != PeerEventTypeAdd || ev.Peer != pa.ID() {
			t.Fatalf("event %+v", ev)
		}

		infos := a.PeersInfo()
		if len(infos) != 1 || infos[0].Name != "test/127.0.1.2" || infos[0].Caps[0] != "echo/1" ||
			!infos[0].Network.Inbound || infos[0].Protocols["echo"] != "unknown" {
			t.Fatalf("PeersInfo %+v", infos[0])
		}
		if _, err := json.Marshal(infos); err != nil {
			t.Fatal(err)
		}
		ni := a.NodeInfo()
		if ni.Ports.Listener != 30303 || ni.ListenAddr != "127.0.1.1:30303" || ni.Name != "test/127.0.1.1" || ni.Protocols["echo"] != "unknown" {
			t.Fatalf("NodeInfo %+v", ni)
		}
		if a.Self().URLv4() != ni.Enode {
			t.Fatal("Self and NodeInfo disagree")
		}

		b.Stop()
		synctest.Wait()
		ev = <-events
		if ev.Type != PeerEventTypeDrop || !ev.RemoteRequested || *ev.Reason != DiscQuitting {
			t.Fatalf("drop event %+v", ev)
		}
		if a.PeerCount() != 0 {
			t.Fatal("peer not removed")
		}
	})
}

// Stop is idempotent, works before Start, and a stopped server cannot start.
func TestServerStartStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := &Server{}
		srv.Stop()
		if err := srv.Start(); err == nil {
			t.Fatal("started after Stop")
		}
		if err := (&Server{}).Start(); !errors.Is(err, errNoPrivateKey) {
			t.Fatalf("no key: %v", err)
		}
		pn := newPipeNet()
		n := startPipeServer(t, pn, "127.0.1.1", nil)
		if err := n.Start(); err != errAlreadyRunning {
			t.Fatalf("second Start: %v", err)
		}
		n.Stop()
		n.Stop()
		if n.Peers() != nil || n.PeerCount() != 0 {
			t.Fatal("peers after Stop")
		}
		n.AddPeer(n.node)
		n.RemovePeer(n.node)
		n.AddTrustedPeer(n.node)
		n.RemoveTrustedPeer(n.node)
	})
}

// Protocol messages travel both ways with the right codes.
func TestServerProtocolMessages(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pn := newPipeNet()
		a := startPipeServer(t, pn, "127.0.1.1", func(c *Config) {
			c.Protocols = []Protocol{echoProto("aaa", 1), echoProto("bbb", 2)}
		})
		p := mustDialRaw(t, pn, "127.0.2.1", a, newTestKey(t))
		if _, err := p.hello(Cap{"aaa", 1}, Cap{"bbb", 2}); err != nil {
			t.Fatal(err)
		}
		p.startReader()
		// aaa owns 16..23, bbb 24..31.
		for i, code := range []uint64{16, 23, 24, 31} {
			if err := p.send(code, mustEncode(t, uint(i))); err != nil {
				t.Fatal(err)
			}
			m, _ := p.next()
			var v uint
			if m.code != code || rlp.DecodeBytes(m.data, &v) != nil || v != uint(i)+1 {
				t.Fatalf("sent %d, got code %d payload %x", code, m.code, m.data)
			}
		}
		synctest.Wait()
		st := a.Peers()[0].Stats()
		if st.MsgsIn < 4 || st.MsgsOut < 4 || st.BytesIn == 0 || st.BytesOut == 0 {
			t.Fatalf("stats %+v", st)
		}
	})
}

// A peer is refused before the encryption handshake when no inbound slot is
// free, and at checkpoint 1 with DiscTooManyPeers when the slot filled
// while it was in its handshake; trusted nodes get in anyway.
func TestServerMaxPeers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pn := newPipeNet()
		trustedKey := newTestKey(t)
		trustedNode := enode.NewV4(trustedKey.Public(), mustAddr("127.0.9.9"), 0, 0)
		a := startPipeServer(t, pn, "127.0.1.1", func(c *Config) {
			c.MaxPeers = 1
			c.NoDial = true
			c.TrustedNodes = []*enode.Node{trustedNode}
		})
		// Connect the second peer's TCP first, so it passes the slot check.
		late, err := pn.dial(t.Context(), mustAddr("127.0.2.2"), a.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer late.Close()
		synctest.Wait()

		first := mustDialRaw(t, pn, "127.0.2.1", a, newTestKey(t))
		if _, err := first.hello(); err != nil {
			t.Fatal(err)
		}
		first.startReader()
		synctest.Wait()
		if a.PeerCount() != 1 {
			t.Fatal("first peer not added")
		}

		// The early connection now runs its handshake: TooManyPeers.
		lp := &rawPeer{t: t, key: newTestKey(t), fd: late}
		lp.rc = newRawConn(late, a)
		if _, err := lp.rc.Handshake(lp.key); err != nil {
			t.Fatal(err)
		}
		lp.readDisconnect(DiscTooManyPeers)

		expectRefusedFull(t, pn, a)

		// The trusted node comes in past the limit, from its IP.
		tp := mustDialRaw(t, pn, "127.0.9.9", a, trustedKey)
		if _, err := tp.hello(); err != nil {
			t.Fatal(err)
		}
		tp.startReader()
		synctest.Wait()
		if a.PeerCount() != 2 {
			t.Fatalf("trusted peer not added: %d peers", a.PeerCount())
		}
		for _, p := range a.Peers() {
			if p.ID() == trustedNode.ID() && !p.Trusted() {
				t.Fatal("trusted flag not set")
			}
		}
	})
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

// expectRefusedFull checks how a full server refuses inbound connections:
// a few get the encryption handshake and Disconnect(DiscTooManyPeers), the
// rest are closed before any cryptography.
func expectRefusedFull(t *testing.T, pn *pipeNet, n *testNode) {
	t.Helper()
	for i := range courtesyBurst {
		p := mustDialRaw(t, pn, fmt.Sprintf("127.0.3.%d", i+1), n, newTestKey(t))
		p.readDisconnect(DiscTooManyPeers)
	}
	if _, err := dialRaw(t, pn, "127.0.3.100", n, newTestKey(t)); err == nil {
		t.Fatal("handshake beyond the courtesy budget")
	}
	time.Sleep(courtesyInterval)
	mustDialRaw(t, pn, "127.0.3.101", n, newTestKey(t)).readDisconnect(DiscTooManyPeers)
	if _, err := dialRaw(t, pn, "127.0.3.102", n, newTestKey(t)); err == nil {
		t.Fatal("handshake beyond the courtesy budget")
	}
}

// The inbound cap refuses inbound peers while dialed ones still fit.
func TestServerInboundCap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pn := newPipeNet()
		a := startPipeServer(t, pn, "127.0.1.1", func(c *Config) { c.MaxPeers = 3; c.MaxInbound = 1 })
		p1 := mustDialRaw(t, pn, "127.0.2.1", a, newTestKey(t))
		if _, err := p1.hello(); err != nil {
			t.Fatal(err)
		}
		p1.startReader()
		synctest.Wait()
		expectRefusedFull(t, pn, a)
		// Dialed peers still fit.
		b := startPipeServer(t, pn, "127.0.1.2", nil)
		a.AddPeer(b.node)
		synctest.Wait()
		if a.PeerCount() != 2 {
			t.Fatalf("dialed peer not added: %d", a.PeerCount())
		}
	})
}

// Checkpoint refusals send their reasons.
func TestServerCheckpointReasons(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pn := newPipeNet()
		a := startPipeServer(t, pn, "127.0.1.1", func(c *Config) { c.Protocols = []Protocol{echoProto("echo", 1)} })

		// No shared capability.
		p := mustDialRaw(t, pn, "127.0.2.1", a, newTestKey(t))
		if _, err := p.hello(Cap{"echo", 2}, Cap{"other", 1}); err != nil {
			t.Fatal(err)
		}
		p.readDisconnect(DiscUselessPeer)

		// Already connected.
		key := newTestKey(t)
		p1 := mustDialRaw(t, pn, "127.0.2.2", a, key)
		if _, err := p1.hello(Cap{"echo", 1}); err != nil {
			t.Fatal(err)
		}
		p1.startReader()
		synctest.Wait()
		p2 := mustDialRaw(t, pn, "127.0.2.3", a, key)
		p2.readDisconnect(DiscAlreadyConnected)

		// Self.
		p3 := mustDialRaw(t, pn, "127.0.2.4", a, a.key)
		p3.readDisconnect(DiscSelf)
		if a.PeerCount() != 1 {
			t.Fatalf("%d peers", a.PeerCount())
		}
	})
}

// A static node is redialed after the remote restarts.
func TestServerStaticReconnect(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pn := newPipeNet()
		bKey := newTestKey(t)
		b := startPipeServerKey(t, pn, "127.0.1.2", bKey, nil)
		a := startPipeServer(t, pn, "127.0.1.1", func(c *Config) { c.StaticNodes = []*enode.Node{b.node} })
		synctest.Wait()
		if a.PeerCount() != 1 {
			t.Fatal("not connected")
		}
		b.Stop()
		synctest.Wait()
		if a.PeerCount() != 0 {
			t.Fatal("still connected")
		}
		time.Sleep(10 * time.Second)
		restart := time.Now()
		b = startPipeServerKey(t, pn, "127.0.1.2", bKey, nil)
		waitFor(t, 10*time.Minute, "reconnect", func() bool { return a.PeerCount() == 1 })
		t.Logf("reconnected %v after the restart", time.Since(restart))
	})
}

// RemovePeer disconnects with DiscRequested and returns after the drop.
func TestServerRemovePeer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pn := newPipeNet()
		b := startPipeServer(t, pn, "127.0.1.2", nil)
		a := startPipeServer(t, pn, "127.0.1.1", nil)
		events := make(chan *PeerEvent, 10)
		sub := b.SubscribeEvents(events)
		defer sub.Unsubscribe()
		a.AddPeer(b.node)
		synctest.Wait()
		a.RemovePeer(b.node)
		if a.PeerCount() != 0 {
			t.Fatal("peer still there")
		}
		synctest.Wait()
		<-events // add
		ev := <-events
		if ev.Type != PeerEventTypeDrop || !ev.RemoteRequested || *ev.Reason != DiscRequested {
			t.Fatalf("remote saw %+v", ev)
		}
		// Not redialed.
		time.Sleep(5 * time.Minute)
		if a.PeerCount() != 0 {
			t.Fatal("removed static node was redialed")
		}
	})
}

// AddTrustedPeer lets a node in past MaxPeers once its ID is known.
func TestServerAddTrustedPeer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pn := newPipeNet()
		a := startPipeServer(t, pn, "127.0.1.1", func(c *Config) { c.MaxPeers = 0 })
		b := startPipeServer(t, pn, "127.0.1.2", nil)
		a.AddTrustedPeer(b.node)
		b.AddPeer(a.node)
		synctest.Wait()
		if a.PeerCount() != 1 || !a.Peers()[0].Trusted() {
			t.Fatal("trusted peer not admitted")
		}
		a.RemoveTrustedPeer(b.node)
		synctest.Wait()
		if a.Peers()[0].Trusted() {
			t.Fatal("trusted flag not cleared")
		}
	})
}

// Two nodes that dial each other at the same time end up with one
// connection, the same on both ends.
func TestServerSimultaneousDial(t *testing.T) {
	for i := range 20 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				pn := newPipeNet()
				ka, kb := newTestKey(t), newTestKey(t)
				na := enode.NewV4(ka.Public(), mustAddr("127.0.1.1"), 30303, 30303)
				nb := enode.NewV4(kb.Public(), mustAddr("127.0.1.2"), 30303, 30303)
				// Both listeners exist before either server dials.
				la, _ := pn.listen("tcp", "127.0.1.1:30303")
				lb, _ := pn.listen("tcp", "127.0.1.2:30303")
				a := startPipeServerKey(t, pn, "127.0.1.1", ka, func(c *Config) {
					c.StaticNodes = []*enode.Node{nb}
					c.listenFunc = func(string, string) (net.Listener, error) { return la, nil }
				})
				b := startPipeServerKey(t, pn, "127.0.1.2", kb, func(c *Config) {
					c.StaticNodes = []*enode.Node{na}
					c.listenFunc = func(string, string) (net.Listener, error) { return lb, nil }
				})
				synctest.Wait()
				time.Sleep(time.Second)
				synctest.Wait()
				if a.PeerCount() != 1 || b.PeerCount() != 1 {
					t.Fatalf("peer counts %d, %d", a.PeerCount(), b.PeerCount())
				}
				pa, pb := a.Peers()[0], b.Peers()[0]
				if pa.Inbound() == pb.Inbound() {
					t.Fatalf("ends disagree: a inbound %v, b inbound %v", pa.Inbound(), pb.Inbound())
				}
				if pa.LocalAddr().String() != pb.RemoteAddr().String() {
					t.Fatalf("different connections: %v / %v", pa.LocalAddr(), pb.RemoteAddr())
				}
			})
		})
	}
}

// NodeInfo and PeerInfo have go-ethereum's JSON field names and shapes.
func TestServerInfoJSON(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pn := newPipeNet()
		a := startPipeServer(t, pn, "127.0.1.1", func(c *Config) { c.Protocols = []Protocol{echoProto("echo", 1)} })
		b := startPipeServer(t, pn, "127.0.1.2", func(c *Config) {
			c.Protocols = []Protocol{echoProto("echo", 1)}
			c.StaticNodes = []*enode.Node{a.node}
		})
		synctest.Wait()
		keys := func(v any) string {
			js, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			json.Unmarshal(js, &m)
			return fmt.Sprint(sortedKeys(m))
		}
		ni := a.NodeInfo()
		if got := keys(ni); got != "[enode enr id ip listenAddr name ports protocols]" {
			t.Errorf("NodeInfo keys %s", got)
		}
		if got := keys(ni.Ports); got != "[discovery listener]" {
			t.Errorf("NodeInfo.ports keys %s", got)
		}
		pi := b.PeersInfo()[0]
		// No "enr": the record of an enode URL has no sequence number.
		if got := keys(pi); got != "[caps enode id name network protocols]" {
			t.Errorf("PeerInfo keys %s", got)
		}
		if got := keys(pi.Network); got != "[inbound localAddress remoteAddress static trusted]" {
			t.Errorf("PeerInfo.network keys %s", got)
		}
		if !pi.Network.Static || pi.ID != a.node.ID().String() || pi.ENR != "" {
			t.Errorf("PeerInfo %+v", pi)
		}
	})
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// The public API may be used from many goroutines while peers come and go
// and the server stops.
func TestServerConcurrentAPI(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pn := newPipeNet()
		a := startPipeServer(t, pn, "127.0.1.1", func(c *Config) { c.Protocols = []Protocol{echoProto("echo", 1)} })
		var others []*testNode
		for i := range 5 {
			others = append(others, startPipeServer(t, pn, fmt.Sprintf("127.0.1.%d", 10+i), func(c *Config) {
				c.Protocols = []Protocol{echoProto("echo", 1)}
			}))
		}
		events := make(chan *PeerEvent, 1000)
		sub := a.SubscribeEvents(events)
		defer sub.Unsubscribe()
		var wg sync.WaitGroup
		for i, o := range others {
			wg.Go(func() {
				for range 3 {
					a.AddPeer(o.node)
					if i%2 == 0 {
						a.AddTrustedPeer(o.node)
					}
					time.Sleep(time.Second)
					a.PeersInfo()
					a.NodeInfo()
					a.PeerCount()
					for _, p := range a.Peers() {
						p.Info()
						p.Stats()
					}
					a.RemovePeer(o.node)
					a.RemoveTrustedPeer(o.node)
				}
			})
		}
		wg.Go(func() {
			time.Sleep(2500 * time.Millisecond)
			a.Stop()
		})
		wg.Wait()
		if a.PeerCount() != 0 {
			t.Fatal("peers after Stop")
		}
	})
}
