package p2p

import (
	"bytes"
	"cmp"
	"hash/maphash"
	"net/netip"
	"slices"
	"time"

	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/internal/mclock"
	"github.com/devp2p-go/devp2p/netutil"
)

// Inbound eviction. When inbound is full and a new inbound peer passes its
// Hello, the run loop may disconnect the weakest inbound peer that is not
// protected and admit the newcomer in its place, so that idle peers that
// took every inbound slot cannot keep everyone else out.
//
// The protections are applied one after the other, each to the peers the
// earlier ones left:
//
//  1. trusted and static peers;
//  2. one peer from each of evictKeepGroups subnets, the subnets chosen by
//     a keyed hash whose key is secret and random per server, so that an
//     attacker cannot tell which subnets to come from;
//  3. the evictKeepRTT peers with the lowest minimum ping RTT (peers whose
//     RTT is not known yet are not protected by it);
//  4. the evictKeepUseful peers that were most recently useful
//     (Peer.MarkUseful);
//  5. the evictKeepAge longest-connected peers.
//
// Among the rest, the victim is the youngest peer of the subnet that has
// the most of them. An attacker cheaply gets a low RTT from close by, or a
// long connection by connecting early, but not all of these at once, and
// not the hash-chosen subnets. A flood of newcomers from one subnet mostly
// evicts its own peers, and a newcomer from a subnet that already has an
// inbound peer does not evict at all (see the run loop), which bounds the
// churn an attacker with few subnets can cause.
const (
	evictKeepGroups = 4
	evictKeepRTT    = 4
	evictKeepUseful = 4
	evictKeepAge    = 4
)

// Evictions happen at most evictBurst at once and one per evictInterval on
// average (a token bucket of the run loop), so that newcomers from many
// subnets cannot churn the inbound peers quickly. The listener has a token
// bucket of the same size for the connections it lets go on to the
// handshakes, when inbound is full, because a peer could be evicted for
// them; the rest are refused before any cryptography (or get a courtesy
// refusal), so a flood still costs almost nothing.
const (
	evictBurst    = 2
	evictInterval = 3 * time.Second
)

// evictCandidate is what eviction knows about one inbound peer.
type evictCandidate struct {
	id         enode.ID
	group      netip.Prefix   // Limits.group of its IP
	groupHash  uint64         // keyed hash of group
	connected  mclock.AbsTime // when it was added
	rtt        int64          // minimum ping RTT in ns; 0: unknown
	lastUseful mclock.AbsTime // last MarkUseful; valid if useful
	useful     bool           // MarkUseful was called
	protected  bool           // trusted or static
}

// selectVictim returns the peer to evict among cands, and false if every
// candidate is protected. It is deterministic given its input; it reorders
// and overwrites cands.
func selectVictim(cands []evictCandidate) (enode.ID, bool) {
	rest := slices.DeleteFunc(cands, func(c evictCandidate) bool { return c.protected })

	// Hash-chosen subnets: sorted by the keyed hash, the oldest peer of
	// each of the first evictKeepGroups subnets.
	slices.SortFunc(rest, func(a, b evictCandidate) int {
		if c := cmp.Compare(a.groupHash, b.groupHash); c != 0 {
			return c
		}
		if a.group != b.group {
			if c := a.group.Addr().Compare(b.group.Addr()); c != 0 {
				return c
			}
			return cmp.Compare(a.group.Bits(), b.group.Bits())
		}
		return olderFirst(a, b)
	})
	for i, n := 0, 0; i < len(rest) && n < evictKeepGroups; i++ {
		if i == 0 || rest[i].group != rest[i-1].group {
			rest[i].protected = true
			n++
		}
	}
	rest = slices.DeleteFunc(rest, func(c evictCandidate) bool { return c.protected })

	// Lowest RTT, among those with a known RTT.
	slices.SortFunc(rest, func(a, b evictCandidate) int {
		if c := cmp.Compare(rttKey(a), rttKey(b)); c != 0 {
			return c
		}
		return olderFirst(a, b)
	})
	rest = protectFirst(rest, evictKeepRTT, func(c evictCandidate) bool { return c.rtt > 0 })

	// Most recently useful.
	slices.SortFunc(rest, func(a, b evictCandidate) int {
		if c := cmp.Compare(usefulKey(b), usefulKey(a)); c != 0 {
			return c
		}
		return olderFirst(a, b)
	})
	rest = protectFirst(rest, evictKeepUseful, func(c evictCandidate) bool { return c.useful })

	// Longest connected.
	slices.SortFunc(rest, olderFirst)
	rest = protectFirst(rest, evictKeepAge, func(evictCandidate) bool { return true })

	if len(rest) == 0 {
		return enode.ID{}, false
	}
	// The subnet with the most peers left; among equals, the one whose
	// youngest peer is youngest. Its youngest peer goes.
	type groupInfo struct {
		n        int
		youngest evictCandidate
	}
	groups := make(map[netip.Prefix]*groupInfo, len(rest))
	var best *groupInfo
	for _, c := range rest {
		g := groups[c.group]
		if g == nil {
			g = &groupInfo{youngest: c}
			groups[c.group] = g
		}
		g.n++
		if olderFirst(c, g.youngest) > 0 {
			g.youngest = c
		}
	}
	for _, c := range rest { // in a fixed order, for determinism
		g := groups[c.group]
		if best == nil || g.n > best.n || (g.n == best.n && olderFirst(g.youngest, best.youngest) > 0) {
			best = g
		}
	}
	return best.youngest.id, true
}

// protectFirst removes from sorted the first n elements for which ok holds,
// stopping at the first for which it does not (they sort last).
func protectFirst(sorted []evictCandidate, n int, ok func(evictCandidate) bool) []evictCandidate {
	i := 0
	for i < n && i < len(sorted) && ok(sorted[i]) {
		i++
	}
	return slices.Delete(sorted, 0, i)
}

// olderFirst orders by connection time, oldest first, then by ID.
func olderFirst(a, b evictCandidate) int {
	if c := cmp.Compare(a.connected, b.connected); c != 0 {
		return c
	}
	return bytes.Compare(a.id[:], b.id[:])
}

// rttKey sorts unknown RTTs last.
func rttKey(c evictCandidate) int64 {
	if c.rtt <= 0 {
		return 1<<63 - 1
	}
	return c.rtt
}

// usefulKey sorts peers never marked useful last (with a descending sort).
func usefulKey(c evictCandidate) int64 {
	if !c.useful {
		return -1 << 63
	}
	return int64(c.lastUseful)
}

// evictCandidates lists the inbound peers for selectVictim.
func evictCandidates(peers map[enode.ID]*Peer, l *Limits, seed maphash.Seed) []evictCandidate {
	cands := make([]evictCandidate, 0, len(peers))
	for _, p := range peers {
		flags := p.connFlags()
		if !flags.is(inboundConn) {
			continue
		}
		g := l.group(netutil.AddrFromNetAddr(p.RemoteAddr()))
		c := evictCandidate{
			id:        p.ID(),
			group:     g,
			groupHash: maphash.Comparable(seed, g),
			connected: p.created,
			rtt:       p.minRTT.Load(),
			protected: flags.is(trustedConn) || flags.is(staticDialedConn),
		}
		c.lastUseful, c.useful = p.lastUseful()
		cands = append(cands, c)
	}
	return cands
}

// evictable reports whether an inbound newcomer could take an inbound
// peer's place now: eviction is on, inbound (or the total) is full and
// some inbound peer is unprotected. The run loop publishes it for the
// listener.
func (srv *Server) evictable(peers map[enode.ID]*Peer, n peerCounts, seed maphash.Seed) bool {
	l := srv.limits
	if !srv.cfg.Limits.evictOn() || (n.total < l.maxPeers && n.inbound < l.maxInbound) || n.inbound == 0 {
		return false
	}
	_, ok := selectVictim(evictCandidates(peers, &srv.cfg.Limits, seed))
	return ok
}
