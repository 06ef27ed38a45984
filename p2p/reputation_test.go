package p2p

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/nodedb"
)

// Scores are clamped to the nodedb bounds, connection time earns up to
// MaxEarnedScore and never lowers a score, and the memory is bounded.
func TestReputationUpdate(t *testing.T) {
	t.Parallel()
	r := newReputation(nil, 3)
	id := enode.ID{1}
	if s, changed := r.update(id, 0, -300); s != -300 || !changed {
		t.Fatalf("score %d changed %v", s, changed)
	}
	if s, _ := r.update(id, 50, 0); s != -250 {
		t.Fatalf("after earning 50: %d", s)
	}
	if s, _ := r.update(id, 1000, 0); s != MaxEarnedScore {
		t.Fatalf("earning is capped: %d", s)
	}
	if s, changed := r.update(id, 10, 0); s != MaxEarnedScore || changed {
		t.Fatalf("earning beyond the cap: %d, changed %v", s, changed)
	}
	if s, _ := r.update(id, 0, -5000); s != nodedb.MinScore {
		t.Fatalf("not clamped: %d", s)
	}
	for i := range 5 {
		r.update(enode.ID{byte(10 + i)}, 0, -1)
	}
	if r.len() != 3 {
		t.Fatalf("%d scores held, bound 3", r.len())
	}
	if r.get(id) != 0 { // evicted, no database: unknown again
		t.Fatalf("evicted score %d", r.get(id))
	}
}

// A score is written to the peer record of a known peer and read back by
// the next run, and connection time earns reputation when the session ends.
func TestReputationPersists(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db, err := nodedb.Open("")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		nodes := testNodes(t, 2)
		known, unknown := nodes[0].ID(), nodes[1].ID()
		if err := db.PutPeer(&nodedb.PeerRecord{ID: known, Node: nodes[0], Sessions: 1}); err != nil {
			t.Fatal(err)
		}
		pn := newPipeNet()
		key := newTestKey(t)
		withDB := func(c *Config) { c.NodeDB = db; c.NoDial = true }
		a := startPipeServerKey(t, pn, "127.0.7.10", key, withDB)
		f := failure{PhaseRunning, DirOutbound, "subprotocol error"} // −100
		a.applyFailure(f, failureSubject{id: known, lifetime: 300 * time.Second})
		a.applyFailure(f, failureSubject{id: unknown})
		if s := a.pol.rep.get(known); s != 30-100 {
			t.Fatalf("score %d, want 30 earned − 100", s)
		}
		synctest.Wait()
		a.Stop()
		if r, _ := db.Peer(known); r.Score != -70 {
			t.Fatalf("stored score %d", r.Score)
		}
		if _, ok := db.Peer(unknown); ok {
			t.Fatal("a record was made for a node that never was a peer")
		}
		b := startPipeServerKey(t, pn, "127.0.7.10", key, withDB)
		if s := b.Reputation(known); s != -70 {
			t.Fatalf("score after restart %d", s)
		}
	})
}
