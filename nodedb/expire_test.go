package nodedb

import (
	"net/netip"
	"testing"
	"time"

	"github.com/devp2p-go/devp2p/enode"
)

func TestExpire(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open func() *DB) {
		db := open()
		defer db.Close()
		now := time.Unix(1700000000, 0)
		const maxAge = DefaultNodeExpiration
		ip1 := netip.MustParseAddr("10.0.0.1")
		ip2 := netip.MustParseAddr("10.0.0.2")
		node := func() *enode.Node {
			n := newTestNode(t, "10.0.0.1", 30303)
			check(t, db.UpdateNode(n))
			return n
		}
		recent := node() // pong an hour ago
		check(t, db.UpdateLastPongReceived(recent.ID(), ip1, now.Add(-time.Hour)))
		pinged := node() // old pong on ip1, recent ping on ip2
		check(t, db.UpdateLastPongReceived(pinged.ID(), ip1, now.Add(-25*time.Hour)))
		check(t, db.UpdateFindFails(pinged.ID(), ip1, 3))
		check(t, db.UpdateLastPingReceived(pinged.ID(), ip2, now.Add(-2*time.Hour)))
		old := node() // only an old pong
		check(t, db.UpdateLastPongReceived(old.ID(), ip1, now.Add(-25*time.Hour)))
		check(t, db.UpdateLastPingReceived(old.ID(), ip2, now.Add(-30*time.Hour)))
		failsOnly := node() // per-IP entry without any ping or pong
		check(t, db.UpdateFindFails(failsOnly.ID(), ip1, 1))
		orphan := node()   // stored, never pinged or ponged
		restored := node() // like orphan, but stored again later
		loose := enode.ID{0xab}
		check(t, db.UpdateLastPongReceived(loose, ip1, now.Add(-time.Minute))) // no node record
		looseOld := enode.ID{0xac}
		check(t, db.UpdateLastPongReceived(looseOld, ip1, now.Add(-48*time.Hour)))

		// All of the above is still buffered: Expire must see it.
		removed, err := db.Expire(now, maxAge)
		check(t, err)
		if removed != 2 {
			t.Errorf("removed %d nodes, want 2 (old, failsOnly)", removed)
		}
		present := func(n *enode.Node) bool { return db.Node(n.ID()) != nil }
		if !present(recent) || !present(pinged) || present(old) || present(failsOnly) {
			t.Errorf("after expiry: recent %v pinged %v old %v failsOnly %v",
				present(recent), present(pinged), present(old), present(failsOnly))
		}
		if !db.LastPongReceived(pinged.ID(), ip1).IsZero() || db.FindFails(pinged.ID(), ip1) != 0 {
			t.Error("stale per-IP entry of a live node kept")
		}
		if db.LastPingReceived(pinged.ID(), ip2).IsZero() {
			t.Error("recent ping dropped")
		}
		if !db.LastPingReceived(old.ID(), ip2).IsZero() {
			t.Error("per-IP data of expired node kept")
		}
		if db.LastPongReceived(loose, ip1).IsZero() || !db.LastPongReceived(looseOld, ip1).IsZero() {
			t.Error("per-IP entries without node: wrong expiry")
		}
		if !present(orphan) || !present(restored) {
			t.Fatal("never-seen nodes dropped at first sight")
		}

		// The never-seen nodes go maxAge after they were first found, unless
		// stored again meanwhile.
		check(t, db.UpdateNode(restored))
		removed, err = db.Expire(now.Add(maxAge-time.Second), maxAge)
		check(t, err)
		if removed != 2 || present(recent) || present(pinged) {
			t.Errorf("removed %d, want 2 (recent and pinged, whose last contact is old now)", removed)
		}
		if !present(orphan) {
			t.Error("orphan removed too early")
		}
		if !present(restored) {
			t.Fatal("restored node removed")
		}
		removed, err = db.Expire(now.Add(maxAge+time.Second), maxAge)
		check(t, err)
		if removed != 1 || present(orphan) || !present(restored) {
			t.Errorf("removed %d; orphan present %v, restored present %v", removed, present(orphan), present(restored))
		}
		// The node that was stored again goes one period later.
		removed, err = db.Expire(now.Add(2*maxAge), maxAge)
		check(t, err)
		if removed != 1 || present(restored) {
			t.Errorf("removed %d, want 1 (restored)", removed)
		}
		for _, b := range []bucket{bucketNodes, bucketNodeIP} {
			db.store.view(func(tx txn) error {
				if !tx.isEmpty(b) {
					t.Errorf("bucket %s not empty", bucketNames[b])
				}
				return nil
			})
		}
	})
}

func TestExpireKeepsMarkedNodeThatWasSeen(t *testing.T) {
	db := mustOpen(t, "")
	defer db.Close()
	now := time.Unix(1700000000, 0)
	n := newTestNode(t, "10.0.0.1", 30303)
	check(t, db.UpdateNode(n))
	if _, err := db.Expire(now, time.Hour); err != nil {
		t.Fatal(err)
	}
	if m, _ := orphanMark(db.get(bucketNodes, n.ID().Bytes())); m == 0 {
		t.Fatal("no orphan mark set")
	}
	// A pong arrives: the node counts as seen, whatever its mark says.
	check(t, db.UpdateLastPongReceived(n.ID(), n.IPAddr(), now.Add(90*time.Minute)))
	if removed, _ := db.Expire(now.Add(2*time.Hour), time.Hour); removed != 0 {
		t.Fatal("seen node removed")
	}
	if db.Node(n.ID()) == nil {
		t.Fatal("marked node does not decode")
	}
	// Expire keeps elements of later formats when it sets a mark.
	v := appendNodeParts(nil, mustRecord(t, n), "", 0, []byte{0x05})
	nv, ok := withOrphanMark(v, 9)
	if !ok {
		t.Fatal("withOrphanMark failed")
	}
	if want := appendNodeParts(nil, mustRecord(t, n), "", 9, []byte{0x05}); string(nv) != string(want) {
		t.Errorf("withOrphanMark = %x, want %x", nv, want)
	}
}

func TestMaintain(t *testing.T) {
	db := mustOpen(t, "")
	defer db.Close()
	t0 := time.Unix(1700000000, 0)
	clock := t0
	db.now = func() time.Time { return clock }
	n := newTestNode(t, "10.0.0.1", 30303)
	check(t, db.UpdateNode(n))
	check(t, db.UpdateLastPongReceived(n.ID(), n.IPAddr(), t0.Add(-48*time.Hour)))

	// The first call starts the clock; the old node stays for seeding.
	if removed, err := db.Maintain(t0); removed != 0 || err != nil {
		t.Fatalf("first Maintain: %d, %v", removed, err)
	}
	if len(db.QuerySeedsAt(t0, 5, 5*24*time.Hour)) != 1 {
		t.Fatal("old node not available as seed after the first Maintain")
	}
	// Buffered writes older than FlushInterval are committed.
	m := newTestNode(t, "10.0.0.2", 30303)
	check(t, db.UpdateNode(m))
	if _, err := db.Maintain(t0.Add(time.Minute)); err != nil || !db.hasDirty() {
		t.Fatalf("young buffered write committed early (err %v)", err)
	}
	clock = clock.Add(DefaultFlushInterval)
	if _, err := db.Maintain(t0.Add(2 * time.Minute)); err != nil || db.hasDirty() {
		t.Fatalf("old buffered write not committed (err %v)", err)
	}
	// Expiry once an interval has passed.
	if removed, _ := db.Maintain(t0.Add(DefaultExpireInterval - time.Second)); removed != 0 {
		t.Fatal("expired before the interval")
	}
	if removed, err := db.Maintain(t0.Add(DefaultExpireInterval)); removed != 1 || err != nil {
		t.Fatalf("Maintain after an interval: removed %d, %v; want 1", removed, err)
	}
	if removed, _ := db.Maintain(t0.Add(DefaultExpireInterval + time.Minute)); removed != 0 {
		t.Fatal("expired again right away")
	}
	check(t, db.Close())
	if _, err := db.Maintain(t0); err != ErrClosed {
		t.Errorf("Maintain after Close: %v", err)
	}
}

func (db *DB) hasDirty() bool {
	db.mu.RLock()
	defer db.mu.RUnlock()
	return len(db.dirty) > 0
}

func mustRecord(t *testing.T, n *enode.Node) []byte {
	b, err := n.Record().AppendRLP(nil)
	check(t, err)
	return b
}
