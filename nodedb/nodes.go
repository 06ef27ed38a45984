package nodedb

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/enr"
)

var (
	errInvalidIP = errors.New("nodedb: invalid IP address")
	errNilNode   = errors.New("nodedb: nil node")
)

// ErrUnknownScheme is returned by UpdateNode for a node whose record uses an
// identity scheme that the DB's Config.Schemes does not verify, so that it
// could not be read back.
var ErrUnknownScheme = errors.New("nodedb: identity scheme of record not accepted by this database")

// Node returns the stored node with the given ID, or nil if there is none or
// its stored record does not decode or verify.
func (db *DB) Node(id enode.ID) *enode.Node {
	v := db.get(bucketNodes, id[:])
	if v == nil {
		return nil
	}
	n, _, err := decodeNode(v, id, db.cfg.Schemes)
	if err != nil {
		return nil
	}
	return n
}

// UpdateNode stores n, replacing the node stored under its ID: its signed
// record, or for a node made from an enode:// URL (no signature) its record
// without signature, and its hostname if it has one. The write is buffered
// (see Config.FlushInterval).
func (db *DB) UpdateNode(n *enode.Node) error {
	if n == nil {
		return errNilNode
	}
	if err := db.checkRestorable(n); err != nil {
		return err
	}
	v, err := appendNode(nil, n, 0)
	if err != nil {
		return err
	}
	id := n.ID()
	db.mu.Lock()
	defer db.mu.Unlock()
	return db.writeBuffered(bucketNodes, id[:], v)
}

// checkRestorable reports whether Node could decode n after it is stored.
func (db *DB) checkRestorable(n *enode.Node) error {
	r := n.Record()
	if isURLRecord(r) {
		if n.Pubkey() == nil {
			return fmt.Errorf("nodedb: node %v has neither signature nor public key", n.ID())
		}
		return nil
	}
	if m, ok := db.cfg.Schemes.(enr.SchemeMap); ok && m[r.IdentityScheme()] == nil {
		return fmt.Errorf("%w: %q (node %v)", ErrUnknownScheme, r.IdentityScheme(), n.ID())
	}
	return nil
}

// DeleteNode removes the node with the given ID and all data kept per IP
// address for it (last ping, last pong, findnode failures). The peer store
// and the local sequence number are separate and not touched. The deletion is
// committed before DeleteNode returns, with the buffered writes.
func (db *DB) DeleteNode(id enode.ID) error {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed {
		return ErrClosed
	}
	for k := range db.dirty {
		b := bucket(k[0])
		if (b == bucketNodes || b == bucketNodeIP) && bytes.HasPrefix([]byte(k[1:]), id[:]) {
			delete(db.dirty, k)
		}
	}
	return db.commitLocked(func(tx txn) error {
		if err := tx.del(bucketNodes, id[:]); err != nil {
			return err
		}
		return deletePrefix(tx, bucketNodeIP, id[:])
	})
}

// deletePrefix deletes the keys of b that start with prefix.
func deletePrefix(tx txn, b bucket, prefix []byte) error {
	var keys [][]byte
	scanPrefix(tx, b, prefix, func(k, _ []byte) bool {
		keys = append(keys, bytes.Clone(k))
		return true
	})
	for _, k := range keys {
		if err := tx.del(b, k); err != nil {
			return err
		}
	}
	return nil
}

// ipEntryLocked returns the per-IP entry of key k. A corrupt entry reads as
// empty. The caller holds mu.
func (db *DB) ipEntryLocked(k []byte) ipEntry {
	v := db.getLocked(bucketNodeIP, k)
	if v == nil {
		return ipEntry{}
	}
	e, err := decodeIPEntry(v)
	if err != nil {
		return ipEntry{}
	}
	return e
}

// ipEntry returns the per-IP entry of (id, ip).
func (db *DB) ipEntry(id enode.ID, ip netip.Addr) ipEntry {
	if !ip.IsValid() {
		return ipEntry{}
	}
	db.mu.RLock()
	defer db.mu.RUnlock()
	return db.ipEntryLocked(ipKey(id, ip))
}

// updateIPEntry changes the per-IP entry of (id, ip) with fn; the write is
// buffered.
func (db *DB) updateIPEntry(id enode.ID, ip netip.Addr, fn func(*ipEntry)) error {
	if !ip.IsValid() {
		return errInvalidIP
	}
	k := ipKey(id, ip)
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed {
		return ErrClosed
	}
	e := db.ipEntryLocked(k)
	fn(&e)
	return db.writeBuffered(bucketNodeIP, k, encodeIPEntry(e))
}

// LastPingReceived returns when the node last pinged us from ip, or the zero
// Time if it never did (or not within the expiry period). Times are kept to
// the nanosecond.
func (db *DB) LastPingReceived(id enode.ID, ip netip.Addr) time.Time {
	return db.ipEntry(id, ip).ping
}

// UpdateLastPingReceived records when the node last pinged us from ip. The
// write is buffered.
func (db *DB) UpdateLastPingReceived(id enode.ID, ip netip.Addr, t time.Time) error {
	return db.updateIPEntry(id, ip, func(e *ipEntry) { e.ping = t })
}

// LastPongReceived returns when the node last answered our ping from ip, or
// the zero Time if it never did.
func (db *DB) LastPongReceived(id enode.ID, ip netip.Addr) time.Time {
	return db.ipEntry(id, ip).pong
}

// UpdateLastPongReceived records when the node last answered our ping from
// ip. The write is buffered.
func (db *DB) UpdateLastPongReceived(id enode.ID, ip netip.Addr, t time.Time) error {
	return db.updateIPEntry(id, ip, func(e *ipEntry) { e.pong = t })
}

// FindFails returns the number of failed findnode requests to the node at ip.
func (db *DB) FindFails(id enode.ID, ip netip.Addr) int {
	return db.ipEntry(id, ip).fails
}

// UpdateFindFails stores the number of failed findnode requests to the node
// at ip; negative numbers are stored as 0. The write is buffered.
func (db *DB) UpdateFindFails(id enode.ID, ip netip.Addr, fails int) error {
	return db.updateIPEntry(id, ip, func(e *ipEntry) { e.fails = max(fails, 0) })
}

// LocalSeq returns the stored sequence number of our own record for the
// given node ID (so that it keeps growing across restarts), or 0.
func (db *DB) LocalSeq(id enode.ID) uint64 {
	v := db.get(bucketLocal, id[:])
	if v == nil {
		return 0
	}
	seq, err := decodeUintValue(v, "local seq")
	if err != nil {
		return 0
	}
	return seq
}

// StoreLocalSeq stores the sequence number of our own record. It is
// committed, with the buffered writes, before StoreLocalSeq returns: a
// record must not be published with a number that a restart could reuse.
func (db *DB) StoreLocalSeq(id enode.ID, seq uint64) error {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed {
		return ErrClosed
	}
	v := encodeUintValue(seq)
	return db.commitLocked(func(tx txn) error { return tx.put(bucketLocal, id[:], v) })
}
