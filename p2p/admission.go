package p2p

import (
	"bytes"
	"errors"
	"hash/maphash"
	"net/netip"

	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/netutil"
)

// Admission decisions, as pure functions of explicit arguments so that a
// table test can cover them. The listener calls checkInbound before any
// cryptography; the run loop calls checkPostHandshake at checkpoint 1 (the
// remote ID is known) and checkAddPeer at checkpoint 2 (its Hello is known).

// checkInbound errors. They are never sent: the connection is closed before
// the encryption handshake.
var (
	errNetRestrict       = errors.New("not in netrestrict list")
	errBanned            = errors.New("banned IP")
	errNotTrusted        = errors.New("not a trusted node's IP")
	errThrottled         = errors.New("too many attempts")
	errPendingPerIP      = errors.New("too many pending handshakes from IP")
	errPendingPerSubnet  = errors.New("too many pending handshakes from subnet")
	errNoInboundSlot     = errors.New("no inbound slot free")
	errInboundSubnetFull = errors.New("subnet has its share of inbound peers")
)

// inboundRejections lists the checkInbound errors, in the order of the
// checks; the listener counts each.
var inboundRejections = [...]error{errNetRestrict, errBanned, errNotTrusted, errThrottled,
	errPendingPerIP, errPendingPerSubnet, errNoInboundSlot, errInboundSubnetFull}

// inboundCheck is what the listener knows about a new TCP connection.
type inboundCheck struct {
	ip                  netip.Addr // invalid for connections without IP (pipes)
	netRestrict         *netutil.Netlist
	banned              bool // ip is banned
	trustedOnly         bool // Limits.TrustedOnly
	recentlySeen        bool // ip was accepted less than the throttle time ago
	pendingFromIP       int  // handshakes in flight from ip, this one not counted
	maxPendingPerIP     int
	subnet              netip.Prefix // Limits.subnet of ip; invalid if exempt
	pendingFromSubnet   int          // handshakes in flight from subnet, this one not counted
	maxPendingPerSubnet int
	maxInboundPerSubnet int
	group               netip.Prefix // Limits.group of ip, for eviction
	evictOn             bool         // Limits.EvictInbound
	snap                *admissionSnapshot
	limits              peerLimits
}

// checkInbound decides whether to start the handshakes with a new inbound
// connection, in this order: NetRestrict, IP ban, trusted-only mode,
// throttle, pending handshakes per IP and per subnet, inbound slot, inbound
// peers of the subnet. A connection without an IP skips the IP checks. LAN
// addresses are not throttled but are subject to the pending caps (the
// per-subnet ones only outside Limits.SubnetExempt). Connections from the IP
// of a trusted node skip the per-subnet checks and the slot check, since
// the node may be allowed past the caps once its identity is known; in
// trusted-only mode the others are closed here, unless some trusted node
// has no IP (then checkpoint 1 decides).
func checkInbound(a inboundCheck) error {
	trusted := a.snap != nil && a.snap.isTrustedIP(a.ip)
	if a.ip.IsValid() {
		if a.netRestrict != nil && !a.netRestrict.Contains(a.ip) {
			return errNetRestrict
		}
		if a.banned {
			return errBanned
		}
		if a.trustedOnly && !trusted && (a.snap == nil || !a.snap.trustedNoIP) {
			return errNotTrusted
		}
		if a.recentlySeen && !netutil.IsLAN(a.ip) {
			return errThrottled
		}
		if a.pendingFromIP >= a.maxPendingPerIP {
			return errPendingPerIP
		}
		if a.subnet.IsValid() && !trusted && a.pendingFromSubnet >= a.maxPendingPerSubnet {
			return errPendingPerSubnet
		}
	}
	if a.snap == nil || trusted {
		return nil
	}
	if !a.snap.inboundSlotFree(a.limits) {
		return errNoInboundSlot
	}
	if a.subnet.IsValid() && a.snap.inbound[a.subnet] >= a.maxInboundPerSubnet {
		return errInboundSubnetFull
	}
	return nil
}

// mayEvict reports whether a connection refused with errNoInboundSlot
// could take an inbound peer's place (see selectVictim): eviction is on,
// some inbound peer was unprotected when the snapshot was made, and the
// newcomer's group has no inbound peer yet.
func mayEvict(a inboundCheck) bool {
	return a.evictOn && a.snap != nil && a.snap.evictable && a.snap.inbound[a.group] == 0
}

// peerLimits are the peer caps of a server, trusted peers exempt. Static
// dialed peers are exempt from maxOutbound only: it is the target of
// dynamic dialing, which static peers reduce (outbound counts them), but
// they are dialed and admitted beyond it, up to maxPeers.
type peerLimits struct {
	maxPeers, maxInbound, maxOutbound int
}

// peerCounts are the connected peers by direction, trusted and static
// ones included.
type peerCounts struct {
	total, inbound, outbound int
}

// admissionSnapshot is what the run loop publishes for the listener after
// every change of the peer set. It is immutable.
type admissionSnapshot struct {
	counts      peerCounts
	trustedIPs  map[netip.Addr]struct{} // IPs of trusted nodes that have one
	trustedNoIP bool                    // some trusted node has no IP

	// Connected peers per group (Limits.group: the subnet, or the address
	// for one exempt from subnet caps), inbound and dialed.
	inbound, outbound map[netip.Prefix]int

	// evictable: inbound is full and some inbound peer is unprotected
	// (selectVictim), so an inbound newcomer may take its place.
	evictable bool
}

func (s *admissionSnapshot) inboundSlotFree(l peerLimits) bool {
	return s.counts.total < l.maxPeers && s.counts.inbound < l.maxInbound
}

func (s *admissionSnapshot) isTrustedIP(ip netip.Addr) bool {
	_, ok := s.trustedIPs[ip]
	return ok && ip.IsValid()
}

// peerCheck is what the run loop knows about a connection at a checkpoint.
type peerCheck struct {
	self, id enode.ID
	flags    connFlag
	existing connFlag // flags of a connected peer with the same ID, or 0
	counts   peerCounts
	limits   peerLimits

	banned      bool // the ID is banned
	trustedOnly bool // Limits.TrustedOnly

	// subnetPeers are the connected peers of the remote's subnet that went
	// the same way (inbound, or dialed); maxPerSubnet is the direction's
	// cap. Both are 0 for addresses exempt from subnet caps.
	subnetPeers, maxPerSubnet int

	// canEvict: an inbound peer may be evicted to make room for this one
	// (inbound, not trusted, eviction on, its group without inbound peers,
	// and selectVictim found a victim).
	canEvict bool
}

// Checkpoint reasons. A banned ID gets DiscUselessPeer, as connected peers
// get from Server.BanNode. In trusted-only mode a node that is not trusted
// gets DiscTooManyPeers, which is what go-ethereum sends when it has no
// room: it tells nothing about the policy and makes the remote back off as
// from any full node.
const (
	discBanned     = DiscUselessPeer
	discNotTrusted = DiscTooManyPeers
)

// checkPostHandshake is checkpoint 1: the encryption handshake is done and
// the remote's ID is known. It returns the disconnect reason, or nil, and
// whether an inbound peer must be evicted first. The checks, in order:
// self, ID ban (trusted nodes too: a ban is the operator's word),
// trusted-only mode, a connection to the same node, then the caps, which
// trusted connections skip: the remote's subnet must be under its
// direction's per-subnet cap (static dialed connections are exempt from
// the outbound one), and the connection must fit under maxPeers and its
// direction's cap, except that a static dialed connection is not held to
// maxOutbound (see peerLimits). An inbound connection that does not fit
// only because inbound (or the total) is full passes with evict set when
// canEvict holds.
// Dialed connections whose key differs from the one dialed never get here:
// the encryption handshake fails.
//
// When two nodes dial each other at the same time, each sees an inbound and
// an outbound connection to the other. Refusing whichever comes second can
// leave both ends without either connection, as the order may differ on the
// two ends. So a connection that goes the other way than the existing one
// replaces it if it was dialed by the node with the lower ID, and is refused
// otherwise: both ends keep the same one (see replacesExisting).
func checkPostHandshake(c peerCheck) (evict bool, err error) {
	switch {
	case c.id == c.self:
		return false, DiscSelf
	case c.banned:
		return false, discBanned
	case c.trustedOnly && !c.flags.is(trustedConn):
		return false, discNotTrusted
	}
	n, l := c.counts, c.limits
	if c.existing != 0 {
		if !replacesExisting(c.self, c.id, c.flags, c.existing) {
			return false, DiscAlreadyConnected
		}
		n = n.without(c.existing)
	}
	if c.flags.is(trustedConn) {
		return false, nil
	}
	if c.maxPerSubnet > 0 && c.subnetPeers >= c.maxPerSubnet && !c.flags.is(staticDialedConn) {
		return false, DiscTooManyPeers
	}
	switch {
	case c.flags.is(inboundConn) && (n.total >= l.maxPeers || n.inbound >= l.maxInbound):
		if c.canEvict && n.total-1 < l.maxPeers && n.inbound-1 < l.maxInbound {
			return true, nil
		}
		return false, DiscTooManyPeers
	case n.total >= l.maxPeers:
		return false, DiscTooManyPeers
	case c.flags.is(dynDialedConn) && n.outbound >= l.maxOutbound:
		return false, DiscTooManyPeers
	}
	return false, nil
}

// replacesExisting reports whether a new connection with flags should
// replace a connected peer's connection with flags old: only when they go
// opposite ways, and then the connection dialed by the lower node ID wins.
// Both ends come to the same answer. A second connection the same way as
// the existing one is refused, as go-ethereum does.
func replacesExisting(self, id enode.ID, flags, old connFlag) bool {
	if flags.dialed() == old.dialed() {
		return false
	}
	selfLower := bytes.Compare(self[:], id[:]) < 0
	return flags.dialed() == selfLower
}

// without returns the counts with one peer of the given flags removed.
func (n peerCounts) without(f connFlag) peerCounts {
	n.total--
	if f.is(inboundConn) {
		n.inbound--
	}
	if f.dialed() {
		n.outbound--
	}
	return n
}

// checkAddPeer is checkpoint 2: the Hello exchange is done. A peer must
// share a capability with us (unless we run no protocols); then the checks
// of checkpoint 1 are repeated, as the peer set may have changed.
func checkAddPeer(protos []Protocol, caps []Cap, c peerCheck) (evict bool, err error) {
	if len(protos) > 0 && !sharesCap(protos, caps) {
		return false, DiscUselessPeer
	}
	return checkPostHandshake(c)
}

// groupCounts counts the connected peers per group (Limits.group),
// inbound and dialed.
func groupCounts(peers map[enode.ID]*Peer, l *Limits) (inbound, outbound map[netip.Prefix]int) {
	inbound, outbound = make(map[netip.Prefix]int), make(map[netip.Prefix]int)
	for _, p := range peers {
		g := l.group(netutil.AddrFromNetAddr(p.RemoteAddr()))
		if p.connFlags().is(inboundConn) {
			inbound[g]++
		} else {
			outbound[g]++
		}
	}
	return inbound, outbound
}

// peerCheck gathers the run loop's knowledge of c for a checkpoint. snap
// must be the run loop's latest snapshot; evictOK tells whether the
// eviction rate allows one now. When c may evict an inbound peer
// (peerCheck.canEvict), the victim is returned too.
func (srv *Server) peerCheck(c *conn, existing connFlag, n peerCounts, snap *admissionSnapshot, peers map[enode.ID]*Peer, seed maphash.Seed, evictOK bool) (peerCheck, enode.ID) {
	l := &srv.cfg.Limits
	ip := netutil.AddrFromNetAddr(c.fd.RemoteAddr())
	pc := peerCheck{
		self:        srv.localnode.ID(),
		id:          c.id,
		flags:       c.flags,
		existing:    existing,
		counts:      n,
		limits:      srv.limits,
		banned:      srv.bans.idBanned(c.id),
		trustedOnly: l.TrustedOnly,
	}
	if sub, ok := l.subnet(ip); ok {
		if c.flags.is(inboundConn) {
			pc.subnetPeers, pc.maxPerSubnet = snap.inbound[sub], l.MaxInboundPerSubnet
		} else {
			pc.subnetPeers, pc.maxPerSubnet = snap.outbound[sub], l.MaxOutboundPerSubnet
		}
	}
	var victim enode.ID
	full := n.total >= srv.limits.maxPeers || n.inbound >= srv.limits.maxInbound
	if full && evictOK && c.flags.is(inboundConn) && !c.flags.is(trustedConn) && l.evictOn() && snap.inbound[l.group(ip)] == 0 {
		victim, pc.canEvict = selectVictim(evictCandidates(peers, l, seed))
	}
	return pc, victim
}
