package p2p

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/nodedb"
)

// A node with a persistent node database is restarted: it dials its
// anchors before any other candidate, and is back to at least 80 % of its
// previous outbound peers (T1). Its first start, a fresh node joining a
// settled network through a bootnode and discovery only, took T2. Both are
// logged, not compared: their ratio depends on the machine; what is
// asserted is structural (the anchors are dialed first) and that the node
// does get its peers back. Real loopback TCP and UDP, with 20 ms of
// emulated one-way latency so that discovery's round trips cost what they
// would between hosts. docs/peer-policy.md has measured numbers.
func TestRestartAnchors(t *testing.T) {
	if testing.Short() {
		t.Skip("network test")
	}
	const (
		peers   = 8
		latency = 20 * time.Millisecond // one way
		target  = 5                     // outbound target of the restarted node
	)
	slow := withLatency(latency)
	// The other nodes only listen and run discovery: none of them dials
	// the node under test, whose outbound peers are then all its doing.
	roomy := func(c *Config) { slow(c); c.MaxPeers = 30; c.NoDial = true }
	dir := t.TempDir()
	boot := []*enode.Node{startBootnode(t, "127.0.9.250", latency)}
	var network []*discNode
	for i := range peers {
		network = append(network, startDiscNode(t, newTestKey(t), fmt.Sprintf("127.0.9.%d", i+1), "",
			filepath.Join(dir, fmt.Sprintf("peer%d.db", i)), boot, roomy))
	}
	// Settled when every node's discovery table holds half the others:
	// the bootnode knows them all.
	for _, nd := range network {
		waitFor(t, 30*time.Second, nd.Name+" knows the network", func() bool {
			st := nd.Stats().Discovery
			return st != nil && st.TableNodes >= peers/2
		})
	}

	key := newTestKey(t)
	dbPath := filepath.Join(dir, "node.db")
	mod := func(c *Config) {
		slow(c)
		c.MaxPeers = 3 * target
		c.MaxOutbound = target
		c.Policy = Policy{AnchorMinAge: 200 * time.Millisecond}
	}
	need := (8*target + 9) / 10 // 80 %, rounded up

	// First run: a fresh node, with only the bootnode.
	start := time.Now()
	nd := startDiscNode(t, key, "127.0.9.100", "", dbPath, boot, mod)
	waitFor(t, 30*time.Second, "fresh node at 80 % of its target", func() bool { return len(outbound(nd.Server)) >= need })
	t2 := time.Since(start)
	waitTarget(t, nd.Server, start, 30*time.Second)
	time.Sleep(300 * time.Millisecond) // the peers qualify as anchors
	prev := outbound(nd.Server)
	addr := nd.listenAddr
	nd.Stop()

	db, err := nodedb.Open(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	var anchors []enode.ID
	for _, r := range db.Peers() {
		if r.Anchor {
			anchors = append(anchors, r.ID)
			if !slices.Contains(prev, r.ID) {
				t.Errorf("anchor %v was not an outbound peer", r.ID)
			}
		}
	}
	db.Close()
	if len(anchors) != defaultMaxAnchors {
		t.Fatalf("%d anchors of %d outbound peers, want %d", len(anchors), len(prev), defaultMaxAnchors)
	}

	// Restart with the same key, address and node database.
	start = time.Now()
	re := startDiscNode(t, key, "127.0.9.100", addr, dbPath, boot, mod)
	back := func() int {
		n := 0
		for _, id := range outbound(re.Server) {
			if slices.Contains(prev, id) {
				n++
			}
		}
		return n
	}
	waitFor(t, 30*time.Second, "80 % of the previous outbound peers back", func() bool { return back() >= need })
	t1 := time.Since(start)
	t.Logf("fresh node, bootnode and discovery only: %d of %d outbound peers after %v", need, target, t2.Round(time.Millisecond))
	t.Logf("restart with anchors and peer store: %d of the %d previous outbound peers back after %v", need, len(prev), t1.Round(time.Millisecond))

	dialed := re.dials.dialed()
	if len(dialed) < len(anchors) {
		t.Fatalf("dialed %v after restart", dialed)
	}
	first := slices.Clone(dialed[:len(anchors)])
	sortIDs(first)
	sortIDs(anchors)
	if !slices.Equal(first, anchors) {
		t.Errorf("first dials after restart %v, want the anchors %v", first, anchors)
	}
}
