package nodedb

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/devp2p-go/devp2p/enode"
)

// seedDB is a DB holding nodes of several kinds for the QuerySeeds tests.
type seedDB struct {
	db          *DB
	now         time.Time
	fresh       map[enode.ID]bool // pong an hour ago
	stale       map[enode.ID]bool // pong ten days ago
	otherIP     map[enode.ID]bool // recent pong, but from another IP than the record's
	neverPonged map[enode.ID]bool
}

func newSeedDB(t testing.TB, db *DB, nfresh int) *seedDB {
	s := &seedDB{
		db: db, now: time.Unix(1700000000, 0),
		fresh: make(map[enode.ID]bool), stale: make(map[enode.ID]bool),
		otherIP: make(map[enode.ID]bool), neverPonged: make(map[enode.ID]bool),
	}
	add := func(set map[enode.ID]bool, count int, pong time.Time, ipOffset byte) {
		for range count {
			i := len(s.fresh) + len(s.stale) + len(s.otherIP) + len(s.neverPonged)
			n := newTestNode(t, fmt.Sprintf("10.1.%d.%d", i/250, i%250+1), 30303)
			check(t, db.UpdateNode(n))
			if !pong.IsZero() {
				ip := n.IPAddr().As4()
				ip[3] += ipOffset
				check(t, db.UpdateLastPongReceived(n.ID(), netip.AddrFrom4(ip), pong))
			}
			set[n.ID()] = true
		}
	}
	add(s.fresh, nfresh, s.now.Add(-time.Hour), 0)
	add(s.stale, 20, s.now.Add(-10*24*time.Hour), 0)
	add(s.otherIP, 5, s.now.Add(-time.Hour), 1)
	add(s.neverPonged, 5, time.Time{}, 0)
	return s
}

func TestQuerySeeds(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open func() *DB) {
		db := open()
		defer db.Close()
		s := newSeedDB(t, db, 40)
		maxAge := 5 * 24 * time.Hour

		// Fewer than qualify: n distinct fresh nodes.
		got := db.QuerySeedsAt(s.now, 10, maxAge)
		if len(got) != 10 {
			t.Fatalf("got %d seeds, want 10", len(got))
		}
		seen := make(map[enode.ID]bool)
		for _, n := range got {
			if !s.fresh[n.ID()] {
				t.Errorf("seed %v is not a fresh node", n.ID())
			}
			if seen[n.ID()] {
				t.Errorf("duplicate seed %v", n.ID())
			}
			seen[n.ID()] = true
		}
		// More than qualify: exactly the fresh ones.
		got = db.QuerySeedsAt(s.now, 1000, maxAge)
		if len(got) != len(s.fresh) {
			t.Fatalf("got %d seeds, want all %d fresh ones", len(got), len(s.fresh))
		}
		// The age filter.
		if got := db.QuerySeedsAt(s.now, 10, 30*time.Minute); len(got) != 0 {
			t.Errorf("got %d seeds younger than 30 min, want 0", len(got))
		}
		if got := db.QuerySeedsAt(s.now, 1000, 11*24*time.Hour); len(got) != len(s.fresh)+len(s.stale) {
			t.Errorf("got %d seeds younger than 11 days, want %d", len(got), len(s.fresh)+len(s.stale))
		}
		if db.QuerySeedsAt(s.now, 0, maxAge) != nil {
			t.Error("n = 0 gave seeds")
		}
		if len(db.QuerySeeds(5, 100*365*24*time.Hour)) != 5 {
			t.Error("QuerySeeds with the wall clock failed")
		}
	})
}

func TestQuerySeedsRandom(t *testing.T) {
	db := mustOpen(t, "")
	defer db.Close()
	s := newSeedDB(t, db, 40)
	counts := make(map[enode.ID]int)
	sets := make(map[string]bool)
	const calls = 100
	for range calls {
		var key string
		for _, n := range db.QuerySeedsAt(s.now, 5, time.Hour+time.Second) {
			counts[n.ID()]++
			key += n.ID().String()[:4]
		}
		sets[key] = true
	}
	// With random seeks, a node is picked about as often as the gap before
	// it in ID space is wide; over 500 picks all but a few of the 40 nodes
	// come up, and nearly every call returns another set.
	if len(counts) < 30 {
		t.Errorf("only %d of 40 nodes returned in %d calls", len(counts), calls)
	}
	if len(sets) < calls*9/10 {
		t.Errorf("only %d different results in %d calls", len(sets), calls)
	}
	t.Logf("%d distinct nodes, %d distinct results", len(counts), len(sets))
}

func TestQuerySeedsSmallDB(t *testing.T) {
	db := mustOpen(t, "")
	defer db.Close()
	if got := db.QuerySeedsAt(time.Now(), 5, time.Hour); len(got) != 0 {
		t.Fatalf("empty DB gave %d seeds", len(got))
	}
	s := newSeedDB(t, db, 2)
	// 2 fresh among 32 nodes: the fallback finds both every time.
	for range 20 {
		if got := db.QuerySeedsAt(s.now, 3, 2*time.Hour); len(got) != 2 {
			t.Fatalf("got %d seeds, want 2", len(got))
		}
	}
}
