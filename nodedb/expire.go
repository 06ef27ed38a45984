package nodedb

import (
	"bytes"
	"time"

	"github.com/devp2p-go/devp2p/enode"
)

// Expire drops what was not seen for maxAge before now and returns the
// number of nodes removed. Callers run it periodically, for example every
// DefaultExpireInterval with maxAge DefaultNodeExpiration; the DB never
// runs it by itself. It commits the buffered writes first, and the whole
// expiry is one transaction.
//
// A node counts as seen at the latest ping or pong received from it, from
// any IP address:
//
//   - the data kept for one of its addresses is deleted when neither a ping
//     nor a pong came from that address since now-maxAge;
//   - the node is deleted with all its per-IP data when nothing came from
//     any of its addresses since then, including when all that is left of
//     it is old per-IP data;
//   - a node stored by UpdateNode that has no per-IP data at all was never
//     seen: the first Expire that finds it so marks it, and it is deleted
//     by the first Expire at least maxAge after the mark, unless a ping or
//     pong arrived meanwhile or UpdateNode stored it again (which clears the
//     mark).
//
// Bans (PutBan) that are no longer in force at now are deleted as well.
// Entries that do not decode are deleted too. The peer store and the local
// sequence numbers are not touched; see ExpirePeers.
func (db *DB) Expire(now time.Time, maxAge time.Duration) (removed int, err error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed {
		return 0, ErrClosed
	}
	threshold := now.Add(-maxAge)
	nowMark := encodeTime(now)
	if nowMark == 0 {
		nowMark = 1
	}
	type status struct{ hasEntries, seen bool }
	err = db.commitLocked(func(tx txn) error {
		removed = 0
		// Pass 1: per-IP entries.
		nodes := make(map[enode.ID]status)
		var deadIP [][]byte
		tx.scan(bucketNodeIP, nil, func(k, v []byte) bool {
			var id enode.ID
			if len(k) != len(id)+16 {
				deadIP = append(deadIP, bytes.Clone(k))
				return true
			}
			id = enode.ID(k[:len(id)])
			st := nodes[id]
			st.hasEntries = true
			e, err := decodeIPEntry(v)
			last := e.pong
			if e.ping.After(last) {
				last = e.ping
			}
			if err != nil || last.IsZero() || last.Before(threshold) {
				deadIP = append(deadIP, bytes.Clone(k))
			} else {
				st.seen = true
			}
			nodes[id] = st
			return true
		})
		// Pass 2: nodes.
		var deadNodes [][]byte
		type remark struct {
			k, v []byte
		}
		var remarks []remark
		tx.scan(bucketNodes, nil, func(k, v []byte) bool {
			var id enode.ID
			if len(k) != len(id) {
				deadNodes = append(deadNodes, bytes.Clone(k))
				return true
			}
			id = enode.ID(k)
			st := nodes[id]
			if st.seen {
				return true
			}
			if st.hasEntries {
				deadNodes = append(deadNodes, bytes.Clone(k))
				return true
			}
			// Never seen: mark it, or delete it once the mark is old.
			// Records are not verified here; Node does that on read.
			mark, ok := orphanMark(v)
			switch {
			case !ok:
				deadNodes = append(deadNodes, bytes.Clone(k))
			case mark == 0:
				if nv, ok := withOrphanMark(v, nowMark); ok {
					remarks = append(remarks, remark{bytes.Clone(k), nv})
				} else {
					deadNodes = append(deadNodes, bytes.Clone(k))
				}
			default:
				if t, err := decodeTime(mark); err != nil || t.Before(threshold) {
					deadNodes = append(deadNodes, bytes.Clone(k))
				}
			}
			return true
		})
		for _, k := range deadIP {
			if err := tx.del(bucketNodeIP, k); err != nil {
				return err
			}
		}
		for _, k := range deadNodes {
			if err := tx.del(bucketNodes, k); err != nil {
				return err
			}
			if len(k) == len(enode.ID{}) {
				if err := deletePrefix(tx, bucketNodeIP, k); err != nil {
					return err
				}
			}
		}
		for _, r := range remarks {
			if err := tx.put(bucketNodes, r.k, r.v); err != nil {
				return err
			}
		}
		removed = len(deadNodes)
		return expireBans(tx, now)
	})
	return removed, err
}

// orphanMark returns the orphan mark of a node value; ok is false if the
// value does not have the shape of one.
func orphanMark(v []byte) (mark uint64, ok bool) {
	lr := newListReader(v, "node")
	lr.raw()
	lr.string()
	mark = lr.optUint()
	return mark, lr.done() == nil
}

// withOrphanMark returns a node value like v with the orphan mark set.
func withOrphanMark(v []byte, mark uint64) ([]byte, bool) {
	lr := newListReader(v, "node")
	rec := lr.raw()
	host := lr.string()
	lr.optUint()
	extra := lr.rest
	if lr.done() != nil {
		return nil, false
	}
	return appendNodeParts(nil, rec, host, mark, extra), true
}

// Maintain does the periodic upkeep that is due at now, without a goroutine
// of its own: callers call it from a loop they already run, every few
// seconds or at least once per DefaultExpireInterval. It commits buffered
// writes older than Config.FlushInterval, and runs Expire(now,
// DefaultNodeExpiration) once DefaultExpireInterval has passed since the
// last expiry. The first call only starts that clock, like go-ethereum's
// hourly expirer: a node restarted after a long pause first seeds its table
// from the old nodes (QuerySeeds) and expires them an interval later.
// It returns the number of nodes removed.
func (db *DB) Maintain(now time.Time) (removed int, err error) {
	db.mu.Lock()
	if db.closed {
		db.mu.Unlock()
		return 0, ErrClosed
	}
	due := !db.lastExpire.IsZero() && now.Sub(db.lastExpire) >= DefaultExpireInterval
	if db.lastExpire.IsZero() || due {
		db.lastExpire = now
	}
	if !due {
		var ferr error
		if len(db.dirty) > 0 && db.now().Sub(db.dirtySince) >= db.cfg.FlushInterval {
			ferr = db.flushLocked()
		}
		db.mu.Unlock()
		return 0, ferr
	}
	db.mu.Unlock()
	return db.Expire(now, DefaultNodeExpiration)
}
