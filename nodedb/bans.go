package nodedb

import (
	"bytes"
	"errors"
	"net/netip"
	"time"

	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/rlp"
)

// BanRecord is a stored ban of a node ID or an IP address (one key each;
// PutBan of a record with both stores two bans).
type BanRecord struct {
	ID     enode.ID   // zero: not a ban of an ID
	IP     netip.Addr // invalid: not a ban of an IP address
	Until  time.Time  // wall-clock end of the ban
	Reason string     // why, for humans; "" if unknown
	Auto   bool       // set by the peer policy, not by an operator
}

// Active reports whether the ban is in force at now.
func (b *BanRecord) Active(now time.Time) bool {
	return b.Until.After(now)
}

var errBanNoKey = errors.New("nodedb: ban has neither a node ID nor an IP address")

// idBanKey and ipBanKey return the bans keys of an ID (its 32 bytes) and of
// an IP address (16 bytes, IPv4 as IPv4-mapped IPv6, zone dropped).
func idBanKey(id enode.ID) []byte { return bytes.Clone(id[:]) }

func ipBanKey(ip netip.Addr) []byte {
	ip16 := ip.As16()
	return ip16[:]
}

// PutBan stores b: the ban of b.ID if it is not zero and the ban of b.IP if
// it is valid, each replacing the stored ban of the same key. The write is
// committed before PutBan returns.
func (db *DB) PutBan(b BanRecord) error {
	var keys [][]byte
	if b.ID != (enode.ID{}) {
		keys = append(keys, idBanKey(b.ID))
	}
	if b.IP.IsValid() {
		keys = append(keys, ipBanKey(b.IP))
	}
	if len(keys) == 0 {
		return errBanNoKey
	}
	v := encodeBan(&b)
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed {
		return ErrClosed
	}
	return db.commitLocked(func(tx txn) error {
		for _, k := range keys {
			if err := tx.put(bucketBans, k, v); err != nil {
				return err
			}
		}
		return nil
	})
}

// DeleteBan removes the stored ban of id (if not zero) and that of ip (if
// valid). It is committed before DeleteBan returns.
func (db *DB) DeleteBan(id enode.ID, ip netip.Addr) error {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed {
		return ErrClosed
	}
	return db.commitLocked(func(tx txn) error {
		if id != (enode.ID{}) {
			if err := tx.del(bucketBans, idBanKey(id)); err != nil {
				return err
			}
		}
		if ip.IsValid() {
			return tx.del(bucketBans, ipBanKey(ip))
		}
		return nil
	})
}

// Bans returns the stored bans in force now. It is BansAt with the current
// time.
func (db *DB) Bans() []BanRecord {
	return db.BansAt(time.Now())
}

// BansAt returns the stored bans in force at now, one per key: bans of IDs
// first, in ID order, then bans of IP addresses in address order (IPv4
// addresses unmapped). Expired bans and values that do not decode are
// skipped; Expire deletes them.
func (db *DB) BansAt(now time.Time) []BanRecord {
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.closed {
		return nil
	}
	var ids, ips []BanRecord
	db.store.view(func(tx txn) error {
		tx.scan(bucketBans, nil, func(k, v []byte) bool {
			b, err := decodeBan(k, v)
			if err != nil || !b.Active(now) {
				return true
			}
			if b.IP.IsValid() {
				ips = append(ips, b)
			} else {
				ids = append(ids, b)
			}
			return true
		})
		return nil
	})
	return append(ids, ips...)
}

// idBannedInTx reports whether a ban of id in force at now is stored.
func idBannedInTx(tx txn, id enode.ID, now time.Time) bool {
	v := tx.get(bucketBans, id[:])
	if v == nil {
		return false
	}
	b, err := decodeBan(id[:], v)
	return err == nil && b.Active(now)
}

// expireBans deletes the bans not in force at now and those that do not
// decode. It runs within Expire's transaction.
func expireBans(tx txn, now time.Time) error {
	var dead [][]byte
	tx.scan(bucketBans, nil, func(k, v []byte) bool {
		if b, err := decodeBan(k, v); err != nil || !b.Active(now) {
			dead = append(dead, bytes.Clone(k))
		}
		return true
	})
	for _, k := range dead {
		if err := tx.del(bucketBans, k); err != nil {
			return err
		}
	}
	return nil
}

// encodeBan encodes the value of a ban: [until, reason, auto].
func encodeBan(b *BanRecord) []byte {
	buf, mark := rlp.StartList(make([]byte, 0, 16+len(b.Reason)))
	buf = rlp.AppendUint64(buf, encodeTime(b.Until))
	buf = rlp.AppendString(buf, b.Reason)
	buf = rlp.AppendBool(buf, b.Auto)
	return rlp.EndList(buf, mark)
}

// decodeBan decodes the ban stored under key k with value v.
func decodeBan(k, v []byte) (BanRecord, error) {
	var b BanRecord
	switch len(k) {
	case len(enode.ID{}):
		b.ID = enode.ID(k)
	case 16:
		b.IP = netip.AddrFrom16([16]byte(k)).Unmap()
	default:
		return BanRecord{}, corrupt("ban", errors.New("key of wrong length"))
	}
	lr := newListReader(v, "ban")
	b.Until = lr.time()
	b.Reason = lr.string()
	b.Auto = lr.bool()
	if err := lr.done(); err != nil {
		return BanRecord{}, err
	}
	return b, nil
}

// The migration from schema version 1: bans of IDs were the tenth element
// of the peer value (ban until); they move to the bans bucket, without a
// reason, and the element is set to 0 (it is unused since).

func init() {
	migrations[1] = migrateBansFromPeers
}

// peerBanElem is the index of the former ban-until element of a peer value.
const peerBanElem = 9

// migrateBansFromPeers moves the bans of peer values into the bans bucket.
func migrateBansFromPeers(tx txn) error {
	type rewrite struct{ k, v []byte }
	var rewrites []rewrite
	var bans []BanRecord
	tx.scan(bucketPeers, nil, func(k, v []byte) bool {
		if len(k) != len(enode.ID{}) {
			return true
		}
		until, nv, ok := takePeerBan(v)
		if !ok || until.IsZero() {
			return true // left to the readers, which skip what does not decode
		}
		bans = append(bans, BanRecord{ID: enode.ID(k), Until: until})
		rewrites = append(rewrites, rewrite{bytes.Clone(k), nv})
		return true
	})
	for _, b := range bans {
		if err := tx.put(bucketBans, idBanKey(b.ID), encodeBan(&b)); err != nil {
			return err
		}
	}
	for _, r := range rewrites {
		if err := tx.put(bucketPeers, r.k, r.v); err != nil {
			return err
		}
	}
	return nil
}

// takePeerBan returns the ban end held by peer value v and v with that
// element set to 0. ok is false if v is not a list of at least ten
// well-formed elements whose tenth is an integer.
func takePeerBan(v []byte) (until time.Time, nv []byte, ok bool) {
	content, rest, err := rlp.SplitList(v)
	if err != nil || len(rest) != 0 {
		return time.Time{}, nil, false
	}
	var start, end int // bounds of the element in content
	for i, off := 0, 0; off < len(content); i++ {
		_, _, r, err := rlp.Split(content[off:])
		if err != nil {
			return time.Time{}, nil, false
		}
		next := len(content) - len(r)
		if i == peerBanElem {
			start, end = off, next
		}
		off = next
	}
	if end == 0 {
		return time.Time{}, nil, false
	}
	x, r, err := rlp.SplitUint64(content[start:end])
	if err != nil || len(r) != 0 {
		return time.Time{}, nil, false
	}
	if until, err = decodeTime(x); err != nil {
		return time.Time{}, nil, false
	}
	c := make([]byte, 0, len(content))
	c = append(c, content[:start]...)
	c = rlp.AppendUint64(c, 0)
	c = append(c, content[end:]...)
	return until, append(rlp.AppendListHeader(nil, len(c)), c...), true
}
