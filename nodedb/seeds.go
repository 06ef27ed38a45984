package nodedb

import (
	"math/rand/v2"
	"time"

	"github.com/devp2p-go/devp2p/enode"
)

// QuerySeeds returns up to n random stored nodes whose last pong, from the
// IP address in their record, is at most maxAge old. It is QuerySeedsAt
// with the current time.
func (db *DB) QuerySeeds(n int, maxAge time.Duration) []*enode.Node {
	return db.QuerySeedsAt(time.Now(), n, maxAge)
}

// QuerySeedsAt is QuerySeeds at time now.
//
// It first picks nodes at up to 5n random positions of the ID space, which
// spreads them over the table's buckets; if that finds fewer than n, it
// picks uniformly among all the remaining nodes with a recent pong. So it
// returns n nodes whenever n qualify, and different ones from call to call.
// Nodes whose record does not decode or verify are skipped.
func (db *DB) QuerySeedsAt(now time.Time, n int, maxAge time.Duration) []*enode.Node {
	if n <= 0 {
		return nil
	}
	db.Flush() // so that all nodes are in the store for the scans
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.closed {
		return nil
	}
	threshold := now.Add(-maxAge)
	var (
		nodes []*enode.Node
		tried = make(map[enode.ID]bool)
	)
	db.store.view(func(tx txn) error {
		// fresh reports whether the node with key k has any recent pong.
		fresh := func(k []byte) bool {
			ok := false
			scanPrefix(tx, bucketNodeIP, k, func(_, v []byte) bool {
				e, err := decodeIPEntry(v)
				ok = err == nil && !e.pong.IsZero() && !e.pong.Before(threshold)
				return !ok
			})
			return ok
		}
		// try adds the node stored under k if it qualifies.
		try := func(k, v []byte) {
			if len(k) != len(enode.ID{}) {
				return // a corrupt key; Expire removes it
			}
			id := enode.ID(k)
			if tried[id] {
				return
			}
			tried[id] = true
			if !fresh(k) {
				return
			}
			node, _, err := decodeNode(v, id, db.cfg.Schemes)
			if err != nil || !node.IPAddr().IsValid() {
				return
			}
			e, err := decodeIPEntry(tx.get(bucketNodeIP, ipKey(id, node.IPAddr())))
			if err != nil || e.pong.IsZero() || e.pong.Before(threshold) {
				return
			}
			nodes = append(nodes, node)
		}
		for range 5 * n {
			if len(nodes) >= n {
				return nil
			}
			var pos enode.ID
			for i := 0; i < len(pos); i += 8 {
				v := rand.Uint64()
				for j := range 8 {
					pos[i+j] = byte(v >> (8 * j))
				}
			}
			found := false
			first := func(k, v []byte) bool { try(k, v); found = true; return false }
			if tx.scan(bucketNodes, pos[:], first); !found {
				tx.scan(bucketNodes, nil, first) // wrap around
			}
			if !found {
				return nil // no nodes at all
			}
		}
		// Too few: choose uniformly among the nodes not tried yet.
		var rest [][]byte
		tx.scan(bucketNodes, nil, func(k, _ []byte) bool {
			if len(k) == len(enode.ID{}) && !tried[enode.ID(k)] && fresh(k) {
				rest = append(rest, k)
			}
			return true
		})
		rand.Shuffle(len(rest), func(i, j int) { rest[i], rest[j] = rest[j], rest[i] })
		for _, k := range rest {
			if len(nodes) >= n {
				break
			}
			try(k, tx.get(bucketNodes, k))
		}
		return nil
	})
	return nodes
}
