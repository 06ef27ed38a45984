package nodedb

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/devp2p-go/devp2p/enode"
)

// Reputation bounds. PutPeer clamps PeerRecord.Score to them.
const (
	MinScore = -1000
	MaxScore = 1000
)

// PeerRecord is what the peer store keeps about a peer we were connected to.
// The daemon and the peer policy update it on connect and disconnect.
type PeerRecord struct {
	ID   enode.ID
	Node *enode.Node // last known record or address; nil if unknown

	FirstSeen        time.Time     // first connection
	LastConnected    time.Time     // start of the last session
	LastDisconnected time.Time     // end of the last session
	TotalConnected   time.Duration // summed length of all sessions
	Sessions         int           // number of sessions
	LastOutbound     bool          // whether we dialed the last session
	LastReason       string        // why the last session ended (disconnect reason text)

	Score  int32 // reputation, MinScore…MaxScore
	Anchor bool  // long-lived outbound peer to dial first after a restart

	// storedNode is the encoded node of a record read by PeerWithoutNode:
	// PutPeer writes it back unless Node is set.
	storedNode []byte
}

var errPeerIDMismatch = errors.New("nodedb: peer record ID differs from its node's ID")

// PutPeer stores r, replacing the record with the same ID. r.Node, if set,
// must have the ID r.ID. Score is clamped to MinScore…MaxScore. The write is
// committed, with the buffered writes, before PutPeer returns.
func (db *DB) PutPeer(r *PeerRecord) error {
	if r == nil {
		return errors.New("nodedb: nil peer record")
	}
	if r.Node != nil {
		if r.Node.ID() != r.ID {
			return fmt.Errorf("%w: %v, node %v", errPeerIDMismatch, r.ID, r.Node.ID())
		}
		if err := db.checkRestorable(r.Node); err != nil {
			return err
		}
	}
	cpy := *r
	cpy.Score = min(max(cpy.Score, MinScore), MaxScore)
	v, err := encodePeer(&cpy)
	if err != nil {
		return err
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed {
		return ErrClosed
	}
	return db.commitLocked(func(tx txn) error { return tx.put(bucketPeers, r.ID[:], v) })
}

// Peer returns the stored record of the peer with the given ID. A record that
// does not decode reads as absent; a stored node that does not verify
// leaves Node nil.
func (db *DB) Peer(id enode.ID) (*PeerRecord, bool) {
	return db.peer(id, true)
}

// PeerWithoutNode is Peer without decoding the stored node record, which
// is most of the work (the record's signature key is decompressed and its
// identity checked): Node is nil. Writing the record back with PutPeer
// keeps the stored node unless Node has been set. For callers that need
// the counters or the score only, or replace the node anyway.
func (db *DB) PeerWithoutNode(id enode.ID) (*PeerRecord, bool) {
	return db.peer(id, false)
}

func (db *DB) peer(id enode.ID, withNode bool) (*PeerRecord, bool) {
	v := db.get(bucketPeers, id[:])
	if v == nil {
		return nil, false
	}
	r, err := decodePeer(v, id, db.cfg.Schemes, withNode)
	if err != nil {
		return nil, false
	}
	return r, true
}

// Peers returns all stored peer records in ID order, skipping any that do
// not decode.
func (db *DB) Peers() []*PeerRecord {
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.closed {
		return nil
	}
	var out []*PeerRecord
	db.store.view(func(tx txn) error {
		tx.scan(bucketPeers, nil, func(k, v []byte) bool {
			if len(k) != len(enode.ID{}) {
				return true
			}
			if r, err := decodePeer(v, enode.ID(k), db.cfg.Schemes, true); err == nil {
				out = append(out, r)
			}
			return true
		})
		return nil
	})
	return out
}

// DeletePeer removes the record of the peer with the given ID. It is
// committed before DeletePeer returns.
func (db *DB) DeletePeer(id enode.ID) error {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed {
		return ErrClosed
	}
	return db.commitLocked(func(tx txn) error { return tx.del(bucketPeers, id[:]) })
}

// ExpirePeers deletes the records of peers that are neither anchors nor
// banned at now (a ban of their ID stored by PutBan) and whose last session ended (or, if none ended, started)
// more than maxAge before now, and records that do not decode. It returns
// the number deleted.
func (db *DB) ExpirePeers(now time.Time, maxAge time.Duration) (removed int, err error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed {
		return 0, ErrClosed
	}
	threshold := now.Add(-maxAge)
	err = db.commitLocked(func(tx txn) error {
		var dead [][]byte
		tx.scan(bucketPeers, nil, func(k, v []byte) bool {
			var r *PeerRecord
			var err error
			if len(k) == len(enode.ID{}) {
				r, err = decodePeer(v, enode.ID(k), db.cfg.Schemes, true)
			}
			if r == nil || err != nil {
				dead = append(dead, append([]byte(nil), k...))
				return true
			}
			last := r.LastDisconnected
			if r.LastConnected.After(last) {
				last = r.LastConnected
			}
			if !r.Anchor && last.Before(threshold) && !idBannedInTx(tx, r.ID, now) {
				dead = append(dead, append([]byte(nil), k...))
			}
			return true
		})
		for _, k := range dead {
			if err := tx.del(bucketPeers, k); err != nil {
				return err
			}
		}
		removed = len(dead)
		return nil
	})
	return removed, err
}

// BestOutboundPeers returns up to n peers to dial first after a restart. It
// is BestOutboundPeersAt with the current time.
func (db *DB) BestOutboundPeers(n int) []*PeerRecord {
	return db.BestOutboundPeersAt(time.Now(), n)
}

// BestOutboundPeersAt returns up to n peers to dial first after a restart:
// anchors first, then the other peers whose last session we dialed, each
// group ordered by RestartScore, best first (ties by ID). Peers are left out
// if they have no stored node, have a ban of their ID or their node's IP
// address in force at now (PutBan), have a negative
// reputation, or ended their last session with a reason that says they will
// not work with us (see RestartScore).
func (db *DB) BestOutboundPeersAt(now time.Time, n int) []*PeerRecord {
	if n <= 0 {
		return nil
	}
	type cand struct {
		r     *PeerRecord
		score float64
	}
	var cands []cand
	bannedIDs := make(map[enode.ID]bool)
	bannedIPs := make(map[netip.Addr]bool)
	for _, b := range db.BansAt(now) {
		if b.IP.IsValid() {
			bannedIPs[b.IP] = true
		} else {
			bannedIDs[b.ID] = true
		}
	}
	for _, r := range db.Peers() {
		if r.Node == nil || r.Score < 0 || bannedIDs[r.ID] || bannedIPs[r.Node.IPAddr().Unmap()] {
			continue
		}
		if !r.Anchor && (!r.LastOutbound || r.Sessions == 0) {
			continue
		}
		s, ok := RestartScore(r, now)
		if !ok {
			continue
		}
		cands = append(cands, cand{r, s})
	}
	slices.SortFunc(cands, func(a, b cand) int {
		if a.r.Anchor != b.r.Anchor {
			if a.r.Anchor {
				return -1
			}
			return 1
		}
		if c := cmp.Compare(b.score, a.score); c != 0 {
			return c
		}
		return strings.Compare(string(a.r.ID[:]), string(b.r.ID[:]))
	})
	out := make([]*PeerRecord, 0, min(n, len(cands)))
	for _, c := range cands[:min(n, len(cands))] {
		out = append(out, c.r)
	}
	return out
}

// Disconnect reason texts (as p2p.DiscReason prints them) by what they say
// about a peer. Reasons are matched by prefix, so "client quitting: detail"
// counts as "client quitting".
var (
	cleanReasons = []string{"client quitting", "disconnect requested"}
	badReasons   = []string{
		"breach of protocol", "useless peer", "incompatible p2p protocol version",
		"invalid node identity", "unexpected identity", "connected to self",
		"subprotocol error",
	}
)

// RestartScore rates a peer as a dial target after a restart; higher is
// better. ok is false for peers whose last session ended with a reason that
// says the connection will not work (a protocol breach, a useless or
// incompatible peer, a wrong identity, ourselves). The score adds:
//
//   - 10·log2(1 + average session length in minutes): long sessions count,
//     with diminishing returns (a 1 h average gives ≈ 59, a day ≈ 105);
//   - +20 if the last session ended cleanly ("client quitting",
//     "disconnect requested", or no reason: still connected when we
//     stopped), 0 for other reasons (network errors, timeouts, too many
//     peers);
//   - 20·Score/MaxScore: reputation, −20…+20;
//   - −5·log2(1 + days since the last session started): recent peers are
//     likelier to be up.
func RestartScore(r *PeerRecord, now time.Time) (score float64, ok bool) {
	reason := strings.ToLower(r.LastReason)
	for _, bad := range badReasons {
		if strings.HasPrefix(reason, bad) {
			return 0, false
		}
	}
	if r.Sessions > 0 && r.TotalConnected > 0 {
		avg := r.TotalConnected.Minutes() / float64(r.Sessions)
		score += 10 * math.Log2(1+avg)
	}
	clean := reason == ""
	for _, c := range cleanReasons {
		clean = clean || strings.HasPrefix(reason, c)
	}
	if clean {
		score += 20
	}
	score += 20 * float64(min(max(r.Score, MinScore), MaxScore)) / MaxScore
	if !r.LastConnected.IsZero() {
		if days := now.Sub(r.LastConnected).Hours() / 24; days > 0 {
			score -= 5 * math.Log2(1+days)
		}
	}
	return score, true
}
