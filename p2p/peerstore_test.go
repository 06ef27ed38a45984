package p2p

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/nodedb"
)

// The peer store records every session with its length, direction and
// disconnect reason; after a restart with the same node DB the server dials
// the good outbound peers of the last run, and not the one that failed.
func TestPeerStoreRoundTrip(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pn := newPipeNet()
		db, err := nodedb.Open("")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		echo := func(c *Config) { c.Protocols = []Protocol{echoProto("echo", 1)} }
		b := startPipeServer(t, pn, "127.0.2.2", echo)
		c := startPipeServer(t, pn, "127.0.2.3", echo)
		d := startPipeServer(t, pn, "127.0.2.4", echo)
		badID := d.localnode.ID()
		keyA := newTestKey(t)
		a := startPipeServerKey(t, pn, "127.0.2.1", keyA, func(cfg *Config) {
			cfg.NodeDB = db
			cfg.nodeSource = enode.IterNodes([]*enode.Node{b.node, c.node, d.node})
			// d's session ends in a subprotocol error.
			cfg.Protocols = []Protocol{echoProto("echo", 1)}
			run := cfg.Protocols[0].Run
			cfg.Protocols[0].Run = func(p *Peer, rw MsgReadWriter) error {
				if p.ID() == badID {
					return errors.New("bad peer")
				}
				return run(p, rw)
			}
		})
		idA := a.localnode.ID()
		synctest.Wait()
		if a.PeerCount() != 2 {
			t.Fatalf("a has %d peers, want b and c", a.PeerCount())
		}
		if a.DB() != db {
			t.Fatal("DB is not the injected DB")
		}
		time.Sleep(10 * time.Minute)
		c.Stop() // ends its session with a: "client quitting" from the remote
		synctest.Wait()
		a.Stop() // ends b's: "client quitting" from a
		synctest.Wait()

		check := func(n *testNode, reason string, minDur time.Duration) *nodedb.PeerRecord {
			t.Helper()
			r, ok := db.Peer(n.localnode.ID())
			if !ok {
				t.Fatalf("no record of %s", n.Name)
			}
			if r.Sessions != 1 || !r.LastOutbound || r.LastReason != reason || r.TotalConnected < minDur {
				t.Errorf("%s: record %+v", n.Name, r)
			}
			if r.FirstSeen.IsZero() || !r.FirstSeen.Equal(r.LastConnected) || r.LastDisconnected.Before(r.LastConnected) {
				t.Errorf("%s: times %v %v %v", n.Name, r.FirstSeen, r.LastConnected, r.LastDisconnected)
			}
			if r.Node == nil || r.Node.ID() != n.localnode.ID() || r.Node.TCP() != 30303 {
				t.Errorf("%s: node %v", n.Name, r.Node)
			}
			return r
		}
		check(b, "client quitting", 10*time.Minute)
		check(c, "client quitting", 10*time.Minute)
		check(d, "subprotocol error", 0)
		var best []enode.ID
		for _, r := range db.BestOutboundPeers(10) {
			best = append(best, r.ID)
		}
		if len(best) != 2 || !slices.Contains(best, b.localnode.ID()) || !slices.Contains(best, c.localnode.ID()) {
			t.Fatalf("BestOutboundPeers %v, want b and c", best)
		}
		// b recorded a as an inbound peer that quit.
		if r, ok := b.nodedb.Peer(idA); !ok || r.LastOutbound || r.Sessions != 1 || r.LastReason != "client quitting" {
			t.Fatalf("b's record of a: %+v", r)
		}

		// Restart a: it dials b and c (c is gone), not d.
		var (
			mu     sync.Mutex
			dialed []enode.ID
		)
		a2 := startPipeServerKey(t, pn, "127.0.2.1", keyA, func(cfg *Config) {
			cfg.NodeDB = db
			cfg.Protocols = []Protocol{echoProto("echo", 1)}
			inner := cfg.dialer
			cfg.dialer = dialerFunc(func(ctx context.Context, n *enode.Node) (net.Conn, error) {
				mu.Lock()
				dialed = append(dialed, n.ID())
				mu.Unlock()
				return inner.Dial(ctx, n)
			})
		})
		synctest.Wait()
		mu.Lock()
		defer mu.Unlock()
		if len(dialed) != 2 || !slices.Contains(dialed, b.localnode.ID()) || !slices.Contains(dialed, c.localnode.ID()) {
			t.Fatalf("restarted server dialed %v, want b and c", dialed)
		}
		ps := a2.Peers()
		if len(ps) != 1 || ps[0].ID() != b.localnode.ID() || !ps[0].DynDialed() {
			t.Fatalf("peers after restart: %v", ps)
		}
		if r, _ := db.Peer(b.localnode.ID()); r.Sessions != 2 || r.LastReason != "" {
			t.Fatalf("b's record during the second session: %+v", r)
		}
		a2.Stop()
		if st := a2.Stats(); st.PeerStore.Written == 0 || st.PeerStore.Failed != 0 || st.PeerStore.Dropped != 0 {
			t.Fatalf("peer store stats %+v", st.PeerStore)
		}
	})
}

// The iterator of restart peers yields them first, then the rest, and
// Close ends it.
func TestPrefixIter(t *testing.T) {
	nodes := testNodes(t, 4)
	it := &prefixIter{first: nodes[:2], rest: enode.IterNodes(nodes[2:])}
	got := enode.ReadNodes(it, 10)
	if len(got) != 4 || got[0] != nodes[0] || got[1] != nodes[1] {
		t.Fatalf("got %v", got)
	}
	it = &prefixIter{first: nodes[:2]}
	if !it.Next() || it.Node() != nodes[0] {
		t.Fatal("first node")
	}
	it.Close()
	if it.Next() || it.Node() != nil {
		t.Fatal("Next after Close")
	}
}

func testNodes(t *testing.T, n int) []*enode.Node {
	var nodes []*enode.Node
	for i := range n {
		key := newTestKey(t)
		nodes = append(nodes, enode.NewV4(key.Public(), netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)}), 30303, 30303))
	}
	return nodes
}

// Records of peers not seen for a month are deleted by the store's upkeep;
// anchors and recent peers stay.
func TestPeerStoreExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db, err := nodedb.Open("")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		nodes := testNodes(t, 3)
		now := time.Now()
		old := now.Add(-peerRecordLifetime - time.Hour)
		for i, n := range nodes {
			r := &nodedb.PeerRecord{ID: n.ID(), Node: n, Sessions: 1, LastOutbound: true,
				FirstSeen: old, LastConnected: old, LastDisconnected: old, Anchor: i == 2}
			if i == 1 {
				r.LastConnected, r.LastDisconnected = now, now
			}
			if err := db.PutPeer(r); err != nil {
				t.Fatal(err)
			}
		}
		pn := newPipeNet()
		startPipeServer(t, pn, "127.0.2.20", func(c *Config) {
			c.NodeDB = db
			c.NoDial = true
		})
		time.Sleep(2 * nodeDBMaintainInterval)
		synctest.Wait()
		if _, ok := db.Peer(nodes[0].ID()); ok {
			t.Error("old record kept")
		}
		for _, n := range nodes[1:] {
			if _, ok := db.Peer(n.ID()); !ok {
				t.Errorf("record of %v deleted", n.ID())
			}
		}
	})
}

// The outbound peers connected longest (at least AnchorMinAge, up to
// MaxAnchors) are marked as anchors while the server runs and at Stop;
// inbound peers never are. After a restart the anchors are dialed before
// any other candidate, and other candidates wait until the anchor dials
// have ended.
func TestPeerStoreAnchors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pn := newPipeNet()
		db, err := nodedb.Open("")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		echo := func(c *Config) { c.Protocols = []Protocol{echoProto("echo", 1)} }
		b := startPipeServer(t, pn, "127.0.2.32", echo)
		c := startPipeServer(t, pn, "127.0.2.33", echo)
		d := startPipeServer(t, pn, "127.0.2.34", echo)
		e := startPipeServer(t, pn, "127.0.2.35", echo)
		in := startPipeServer(t, pn, "127.0.2.36", echo)
		keyA := newTestKey(t)
		a := startPipeServerKey(t, pn, "127.0.2.31", keyA, func(cfg *Config) {
			cfg.Policy = Policy{MaxAnchors: 2, AnchorMinAge: time.Minute, AnchorWait: time.Minute}
			cfg.NodeDB = db
			cfg.Protocols = []Protocol{echoProto("echo", 1)}
			cfg.nodeSource = enode.IterNodes([]*enode.Node{b.node, c.node})
		})
		anchors := func() (ids []enode.ID) {
			for _, r := range db.Peers() {
				if r.Anchor {
					ids = append(ids, r.ID)
				}
			}
			sortIDs(ids)
			return ids
		}
		ids := func(ns ...*testNode) []enode.ID {
			var out []enode.ID
			for _, n := range ns {
				out = append(out, n.localnode.ID())
			}
			sortIDs(out)
			return out
		}
		synctest.Wait()
		in.AddPeer(a.Self()) // an inbound peer of a, the longest connected
		synctest.Wait()
		time.Sleep(30 * time.Second)
		a.AddPeer(d.node) // dialed 30 s after b and c
		synctest.Wait()
		if got := anchors(); len(got) != 0 {
			t.Fatalf("anchors after 30 s: %v, want none", got)
		}
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		if got, want := anchors(), ids(b, c); !slices.Equal(got, want) {
			t.Fatalf("anchors %v, want b and c %v", got, want)
		}
		c.Stop() // c leaves: d takes its place
		time.Sleep(2 * nodeDBMaintainInterval)
		synctest.Wait()
		if got, want := anchors(), ids(b, d); !slices.Equal(got, want) {
			t.Fatalf("anchors %v, want b and d %v", got, want)
		}
		a.Stop()
		if got, want := anchors(), ids(b, d); !slices.Equal(got, want) {
			t.Fatalf("anchors after Stop %v, want b and d %v", got, want)
		}

		// Restart: b and d first, e (a discovery candidate) after their
		// dials have ended.
		var (
			mu     sync.Mutex
			dialed []enode.ID
		)
		startPipeServerKey(t, pn, "127.0.2.31", keyA, func(cfg *Config) {
			cfg.NodeDB = db
			cfg.Protocols = []Protocol{echoProto("echo", 1)}
			cfg.nodeSource = enode.IterNodes([]*enode.Node{e.node})
			inner := cfg.dialer
			cfg.dialer = dialerFunc(func(ctx context.Context, n *enode.Node) (net.Conn, error) {
				mu.Lock()
				dialed = append(dialed, n.ID())
				mu.Unlock()
				return inner.Dial(ctx, n)
			})
		})
		synctest.Wait()
		mu.Lock()
		defer mu.Unlock()
		if len(dialed) < 3 {
			t.Fatalf("dialed %v after restart", dialed)
		}
		first := slices.Clone(dialed[:2])
		sortIDs(first)
		if want := ids(b, d); !slices.Equal(first, want) {
			t.Fatalf("first dials after restart %v, want the anchors %v", first, want)
		}
		if !slices.Contains(dialed[2:], e.localnode.ID()) {
			t.Fatalf("dials after restart %v: e missing", dialed)
		}
	})
}
