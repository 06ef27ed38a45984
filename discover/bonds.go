package discover

import (
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/devp2p-go/devp2p/enode"
)

const (
	// maxBondEntries bounds the bond cache. Senders of pings can make up
	// IDs freely, so the cache must not grow with them.
	maxBondEntries = 20000
	// bondWriteInterval throttles DB writes of ping and pong times: a time
	// is written when the stored one is older than this. Bonds last 24 h
	// and seeds need a pong within days, so minutes of lag cost nothing,
	// while a disk write per packet would.
	bondWriteInterval = 10 * time.Minute
)

type bondKey struct {
	id enode.ID
	ip netip.Addr
}

type bondEntry struct {
	lastPing, lastPong time.Time // latest known
	fails              int
	storedPing         time.Time // last written to the DB
	storedPong         time.Time
}

// bonds caches endpoint proofs (last ping, last pong) and findnode failure
// counts per node and IP, in front of the optional DB. Without a DB it is
// the only store. It is safe for concurrent use.
type bonds struct {
	db  DB // may be nil
	log *slog.Logger
	now func() time.Time // wall clock

	mu sync.Mutex // guards following
	m  map[bondKey]*bondEntry
}

func newBonds(db DB, log *slog.Logger, now func() time.Time) *bonds {
	return &bonds{db: db, log: log, now: now, m: make(map[bondKey]*bondEntry)}
}

// get returns a copy of the entry of id at ip, loading it from the DB on a
// cache miss.
func (b *bonds) get(id enode.ID, ip netip.Addr) bondEntry {
	k := bondKey{id, ip.Unmap()}
	b.mu.Lock()
	e, ok := b.m[k]
	if ok {
		defer b.mu.Unlock()
		return *e
	}
	b.mu.Unlock()
	if b.db == nil {
		return bondEntry{}
	}
	// Load outside the lock: DB reads may be slow.
	loaded := bondEntry{
		lastPing: b.db.LastPingReceived(k.id, k.ip),
		lastPong: b.db.LastPongReceived(k.id, k.ip),
		fails:    b.db.FindFails(k.id, k.ip),
	}
	loaded.storedPing, loaded.storedPong = loaded.lastPing, loaded.lastPong
	if loaded == (bondEntry{}) {
		return loaded // nothing known: don't fill the cache with strangers
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if e, ok := b.m[k]; ok { // updated meanwhile
		return *e
	}
	b.insertLocked(k, &loaded)
	return loaded
}

func (b *bonds) insertLocked(k bondKey, e *bondEntry) {
	if len(b.m) >= maxBondEntries {
		b.evictLocked(b.now())
	}
	b.m[k] = e
}

// evictLocked makes room: first entries with no live bond, then arbitrary
// ones (map order is random) down to 7/8 of the limit. With a DB nothing
// is lost; without one, an evicted node just bonds again.
func (b *bonds) evictLocked(now time.Time) {
	for k, e := range b.m {
		if now.Sub(e.lastPing) > bondExpiration && now.Sub(e.lastPong) > bondExpiration {
			delete(b.m, k)
		}
	}
	for k := range b.m {
		if len(b.m) < maxBondEntries*7/8 {
			break
		}
		delete(b.m, k)
	}
}

// entryLocked returns the cached entry, creating an empty one. Callers must
// have called get before if the DB may hold data.
func (b *bonds) entryLocked(k bondKey) *bondEntry {
	e, ok := b.m[k]
	if !ok {
		e = new(bondEntry)
		b.insertLocked(k, e)
	}
	return e
}

func (b *bonds) lastPong(id enode.ID, ip netip.Addr) time.Time { return b.get(id, ip).lastPong }

// hasBond reports whether the node at ip proved its endpoint (sent us a
// Pong) within bondExpiration before now.
func (b *bonds) hasBond(id enode.ID, ip netip.Addr, now time.Time) bool {
	return now.Sub(b.lastPong(id, ip)) < bondExpiration
}

func (b *bonds) setPing(id enode.ID, ip netip.Addr, t time.Time) {
	b.get(id, ip)
	k := bondKey{id, ip.Unmap()}
	b.mu.Lock()
	e := b.entryLocked(k)
	e.lastPing = t
	write := b.db != nil && t.Sub(e.storedPing) >= bondWriteInterval
	if write {
		e.storedPing = t
	}
	b.mu.Unlock()
	if write {
		b.logErr("ping time", b.db.UpdateLastPingReceived(k.id, k.ip, t))
	}
}

func (b *bonds) setPong(id enode.ID, ip netip.Addr, t time.Time) {
	b.get(id, ip)
	k := bondKey{id, ip.Unmap()}
	b.mu.Lock()
	e := b.entryLocked(k)
	e.lastPong = t
	write := b.db != nil && t.Sub(e.storedPong) >= bondWriteInterval
	if write {
		e.storedPong = t
	}
	b.mu.Unlock()
	if write {
		b.logErr("pong time", b.db.UpdateLastPongReceived(k.id, k.ip, t))
	}
}

// trackFindnode counts a failed Findnode request (or resets the count on
// success) and returns the new count.
func (b *bonds) trackFindnode(id enode.ID, ip netip.Addr, success bool) int {
	b.get(id, ip)
	k := bondKey{id, ip.Unmap()}
	b.mu.Lock()
	e := b.entryLocked(k)
	old := e.fails
	if success {
		e.fails = 0
	} else {
		e.fails++
	}
	fails := e.fails
	b.mu.Unlock()
	if b.db != nil && fails != old {
		b.logErr("findnode failures", b.db.UpdateFindFails(k.id, k.ip, fails))
	}
	return fails
}

func (b *bonds) logErr(what string, err error) {
	if err != nil {
		b.log.Warn("Can't store discovery data", "what", what, "err", err)
	}
}
