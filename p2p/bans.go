package p2p

import (
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/internal/mclock"
	"github.com/devp2p-go/devp2p/netutil"
	"github.com/devp2p-go/devp2p/nodedb"
)

// Bans: a banned node ID is refused at checkpoint 1 and never dialed; a
// banned IP address is closed by the listener before any cryptography and
// never dialed. Every ban ends at its expiry. The listener, the run loop and
// the dial scheduler read the list concurrently.
//
// Every ban is persisted: the peer store's goroutine writes it (end,
// reason, Auto) into the node database's bans (nodedb.DB.PutBan), Unban
// deletes it there, and Start loads the bans still in force, so that they
// survive a restart with the same node database. The policy's automatic
// bans (Ban.Auto) go through the same list.

// maxBans bounds the number of bans held. When it is reached, the ban that
// ends first is replaced.
const maxBans = 65536

// Ban is one ban, of a node ID, an IP address or both.
type Ban struct {
	ID     enode.ID    `json:"id"`     // zero: no ID ban
	IP     netip.Addr  `json:"ip"`     // invalid: no IP ban
	Until  time.Time   `json:"until"`  // wall-clock end
	Reason string      `json:"reason"` // why, for humans
	Auto   bool        `json:"auto"`   // set by the policy, not by the operator
	Node   *enode.Node `json:"-"`      // the record, when known
}

// banKey identifies a ban: an ID or an IP.
type banKey struct {
	id enode.ID
	ip netip.Addr
}

type banEntry struct {
	Ban
	end mclock.AbsTime // on the server's clock
}

// banList holds the bans. It is safe for concurrent use.
type banList struct {
	clock mclock.Clock

	mu   sync.RWMutex
	bans map[banKey]*banEntry
}

func newBanList(clock mclock.Clock) *banList {
	return &banList{clock: clock, bans: make(map[banKey]*banEntry)}
}

// add bans b.ID (if not zero) and b.IP (if valid) for ttl. A longer ban
// already in place is kept. It returns the wall-clock end of the ban and
// which of the two it set.
func (l *banList) add(b Ban, ttl time.Duration) (until time.Time, setID, setIP bool) {
	now := l.clock.Now()
	end := now.Add(ttl)
	b.Until = time.Now().Add(ttl)
	l.mu.Lock()
	defer l.mu.Unlock()
	put := func(k banKey) bool {
		if e, ok := l.bans[k]; ok && e.end >= end {
			return false
		}
		if len(l.bans) >= maxBans {
			l.evictLocked(now)
		}
		l.bans[k] = &banEntry{Ban: b, end: end}
		return true
	}
	if b.ID != (enode.ID{}) {
		setID = put(banKey{id: b.ID})
	}
	if ip := b.IP.Unmap(); ip.IsValid() {
		setIP = put(banKey{ip: ip})
	}
	return b.Until, setID, setIP
}

// evictLocked removes expired bans, or if there are none the one ending
// first.
func (l *banList) evictLocked(now mclock.AbsTime) {
	var first banKey
	var firstEnd mclock.AbsTime
	found := false
	for k, e := range l.bans {
		if e.end <= now {
			delete(l.bans, k)
			continue
		}
		if !found || e.end < firstEnd {
			first, firstEnd, found = k, e.end, true
		}
	}
	if len(l.bans) >= maxBans && found {
		delete(l.bans, first)
	}
}

// remove lifts the bans of id (if not zero) and ip (if valid). It reports
// whether any was in place.
func (l *banList) remove(id enode.ID, ip netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(l.bans)
	if id != (enode.ID{}) {
		delete(l.bans, banKey{id: id})
	}
	if ip = ip.Unmap(); ip.IsValid() {
		delete(l.bans, banKey{ip: ip})
	}
	return len(l.bans) < n
}

func (l *banList) active(k banKey) bool {
	l.mu.RLock()
	e, ok := l.bans[k]
	l.mu.RUnlock()
	return ok && e.end > l.clock.Now()
}

// idBanned reports whether id is banned now.
func (l *banList) idBanned(id enode.ID) bool { return l.active(banKey{id: id}) }

// ipBanned reports whether ip is banned now.
func (l *banList) ipBanned(ip netip.Addr) bool {
	ip = ip.Unmap()
	return ip.IsValid() && l.active(banKey{ip: ip})
}

// list returns the bans in force, ID bans first, each sorted.
func (l *banList) list() []Ban {
	now := l.clock.Now()
	l.mu.RLock()
	out := make([]Ban, 0, len(l.bans))
	keys := make([]banKey, 0, len(l.bans))
	for k, e := range l.bans {
		if e.end > now {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b banKey) int {
		if c := a.ip.Compare(b.ip); c != 0 {
			return c
		}
		return slices.Compare(a.id[:], b.id[:])
	})
	for _, k := range keys {
		b := l.bans[k].Ban
		// Each entry shows what it bans.
		b.ID, b.IP = k.id, k.ip
		out = append(out, b)
	}
	l.mu.RUnlock()
	return out
}

// count returns the number of bans in force.
func (l *banList) count() int {
	now := l.clock.Now()
	l.mu.RLock()
	defer l.mu.RUnlock()
	n := 0
	for _, e := range l.bans {
		if e.end > now {
			n++
		}
	}
	return n
}

// BanNode bans, for ttl, the node ID id (unless zero) and the IP address ip
// (if valid), and disconnects connected peers with that ID or from that IP
// with DiscUselessPeer. reason is shown by Bans. It does nothing before
// Start.
//
// The ban is written to the node database (by the peer store's goroutine:
// BanNode does not wait for the disk) and survives a restart with the same
// node database.
func (srv *Server) BanNode(id enode.ID, ip netip.Addr, ttl time.Duration, reason string) {
	if srv.bans == nil || ttl <= 0 {
		return
	}
	srv.addBan(Ban{ID: id, IP: ip, Reason: reason}, ttl)
	ip = ip.Unmap()
	srv.doPeerOp(func(peers map[enode.ID]*Peer) {
		for _, p := range peers {
			pip := netutil.AddrFromNetAddr(p.RemoteAddr()).Unmap()
			if (id != enode.ID{} && p.ID() == id) || (ip.IsValid() && pip == ip) {
				p.Disconnect(DiscUselessPeer)
			}
		}
	})
}

// Unban lifts the bans of id (if not zero) and ip (if valid) and reports
// whether there were any in force. The stored bans of id and ip are deleted
// from the node database too (by the peer store's goroutine), and the dial
// backoff of id is cleared, so it may be dialed again at once.
func (srv *Server) Unban(id enode.ID, ip netip.Addr) bool {
	if srv.bans == nil {
		return false
	}
	ip = ip.Unmap()
	if id == (enode.ID{}) && !ip.IsValid() {
		return false
	}
	removed := srv.bans.remove(id, ip)
	if ds := srv.scheduler(); ds != nil && id != (enode.ID{}) {
		// The failures that led to the ban backed the node off too.
		ds.ForgetFailures(id)
	}
	if st := srv.pol.store.Load(); st != nil {
		st.banLifted(id, ip)
	} else if srv.nodedb != nil {
		srv.nodedb.DeleteBan(id, ip)
	}
	return removed
}

// addBan adds b for ttl and persists what it set. It does not disconnect
// anyone and does not wait for the disk, so the run loop and the listener
// may call it.
func (srv *Server) addBan(b Ban, ttl time.Duration) {
	until, setID, setIP := srv.bans.add(b, ttl)
	if !setID && !setIP {
		return // longer bans are in place
	}
	rec := nodedb.BanRecord{Until: until, Reason: b.Reason, Auto: b.Auto}
	if setID {
		rec.ID = b.ID
	}
	if setIP {
		rec.IP = b.IP.Unmap()
	}
	if st := srv.pol.store.Load(); st != nil {
		st.banChanged(rec)
	} else if srv.nodedb != nil {
		// Before the peer store runs (a ban during Start).
		if err := srv.nodedb.PutBan(rec); err != nil {
			srv.log.Debug("Storing a ban failed", "err", err)
		}
	}
	srv.log.Debug("Banned node", "id", b.ID, "ip", b.IP, "ttl", ttl, "reason", b.Reason, "auto", b.Auto)
}

// restoredBanReason is the reason shown for a restored ban that was stored
// without one (by a version that did not keep reasons).
const restoredBanReason = "restored from the node database"

// loadBans adds the bans in force in the node database, of IDs and of IP
// addresses, with their reason and Auto flag. It runs at Start.
func (srv *Server) loadBans() {
	now := time.Now()
	bans := srv.nodedb.BansAt(now)
	for _, r := range bans {
		b := Ban{ID: r.ID, IP: r.IP, Reason: r.Reason, Auto: r.Auto}
		if b.Reason == "" {
			b.Reason = restoredBanReason
		}
		if r.ID != (enode.ID{}) {
			if pr, ok := srv.nodedb.Peer(r.ID); ok && pr.Node != nil {
				b.Node = pr.Node
			} else {
				b.Node = srv.nodedb.Node(r.ID)
			}
		}
		srv.bans.add(b, r.Until.Sub(now))
	}
	if len(bans) > 0 {
		srv.log.Debug("Restored bans", "count", len(bans))
	}
}

// Bans returns the bans in force, one entry per banned ID or IP.
func (srv *Server) Bans() []Ban {
	if srv.bans == nil {
		return nil
	}
	return srv.bans.list()
}
