package p2p

import (
	"container/list"
	"sync"

	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/nodedb"
)

// Reputation: every node has a score, nodedb.MinScore…nodedb.MaxScore,
// starting at 0. The policy table's deltas lower it; connection time
// raises it by one point per Policy.RecoveryInterval, up to MaxEarnedScore
// (credited when the session ends). A node at or below Policy.BanThreshold
// is banned by ID for Policy.ReputationBanTTL, and its score is then set to
// half the threshold. Penalties of trusted and static nodes are capped at
// protectedPenalty, and they are never banned automatically. The dialer
// prefers candidates with a better score and drops those below
// Policy.DialThreshold.
//
// Scores are held in memory in a bounded LRU; a node not in it is read from
// its peer record (nodedb.PeerRecord.Score), and changes are written back
// through the peer store for nodes that have a record (were peers, or were
// banned), so that they survive restarts. Nodes that only ever failed to
// connect keep their score in memory only.

// reputation holds the scores of recently seen nodes. It is safe for
// concurrent use.
type reputation struct {
	db  *nodedb.DB // nil: memory only
	max int

	mu      sync.Mutex
	entries map[enode.ID]*list.Element
	lru     list.List // of *repEntry, front: most recently used
}

type repEntry struct {
	id    enode.ID
	score int
}

func newReputation(db *nodedb.DB, max int) *reputation {
	return &reputation{db: db, max: max, entries: make(map[enode.ID]*list.Element)}
}

// get returns id's score.
func (r *reputation) get(id enode.ID) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.entryLocked(id).score
}

// update credits earned points of connection time (raising the score up to
// MaxEarnedScore at most, never lowering it) and then adds delta, clamped
// to the bounds. It returns the new score and whether it changed.
func (r *reputation) update(id enode.ID, earned, delta int) (score int, changed bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.entryLocked(id)
	old := e.score
	s := e.score
	if earned > 0 && s < MaxEarnedScore {
		s = min(s+earned, MaxEarnedScore)
	}
	s = min(max(s+delta, nodedb.MinScore), nodedb.MaxScore)
	e.score = s
	return s, s != old
}

// entryLocked returns id's entry, loading it from the peer store or making
// it, and marks it used.
func (r *reputation) entryLocked(id enode.ID) *repEntry {
	if el, ok := r.entries[id]; ok {
		r.lru.MoveToFront(el)
		return el.Value.(*repEntry)
	}
	e := &repEntry{id: id}
	if r.db != nil {
		if rec, ok := r.db.PeerWithoutNode(id); ok {
			e.score = int(rec.Score)
		}
	}
	r.entries[id] = r.lru.PushFront(e)
	if r.lru.Len() > r.max {
		old := r.lru.Remove(r.lru.Back()).(*repEntry)
		delete(r.entries, old.id)
	}
	return e
}

// len returns the number of scores held in memory.
func (r *reputation) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lru.Len()
}

// Reputation returns the reputation of the node with the given ID
// (nodedb.MinScore…nodedb.MaxScore, 0 for a node never seen), or 0 before
// Start. See docs/peer-policy.md.
func (srv *Server) Reputation(id enode.ID) int {
	srv.mu.Lock()
	running := srv.running
	srv.mu.Unlock()
	if !running || srv.pol.rep == nil {
		return 0
	}
	return srv.pol.rep.get(id)
}
