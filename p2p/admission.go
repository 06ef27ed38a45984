package p2p

import (
	"bytes"
	"errors"
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
	errNetRestrict   = errors.New("not in netrestrict list")
	errThrottled     = errors.New("too many attempts")
	errPendingPerIP  = errors.New("too many pending handshakes from IP")
	errNoInboundSlot = errors.New("no inbound slot free")
)

// inboundCheck is what the listener knows about a new TCP connection.
type inboundCheck struct {
	ip              netip.Addr // invalid for connections without IP (pipes)
	netRestrict     *netutil.Netlist
	recentlySeen    bool // ip was accepted less than the throttle time ago
	pendingFromIP   int  // handshakes in flight from ip, this one not counted
	maxPendingPerIP int
	snap            *admissionSnapshot
	limits          peerLimits
}

// checkInbound decides whether to start the handshakes with a new inbound
// connection. A connection without an IP skips the IP checks. LAN addresses
// are not throttled but are subject to the pending cap. Connections from the
// IP of a trusted node skip the slot check, since the node may be allowed
// past the caps once its identity is known.
func checkInbound(a inboundCheck) error {
	if a.ip.IsValid() {
		if a.netRestrict != nil && !a.netRestrict.Contains(a.ip) {
			return errNetRestrict
		}
		if a.recentlySeen && !netutil.IsLAN(a.ip) {
			return errThrottled
		}
		if a.pendingFromIP >= a.maxPendingPerIP {
			return errPendingPerIP
		}
	}
	if a.snap != nil && !a.snap.inboundSlotFree(a.limits) && !a.snap.isTrustedIP(a.ip) {
		return errNoInboundSlot
	}
	return nil
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
	counts     peerCounts
	trustedIPs map[netip.Addr]struct{} // IPs of trusted nodes that have one
}

func (s *admissionSnapshot) inboundSlotFree(l peerLimits) bool {
	return s.counts.total < l.maxPeers && s.counts.inbound < l.maxInbound
}

func (s *admissionSnapshot) isTrustedIP(ip netip.Addr) bool {
	_, ok := s.trustedIPs[ip]
	return ok && ip.IsValid()
}

// checkPostHandshake is checkpoint 1: the encryption handshake is done and
// the remote's ID is known. existing holds the flags of a connected peer
// with the same ID, or 0. It returns the disconnect reason, or nil.
// Trusted connections pass every cap; others must fit under maxPeers and
// their direction's cap, except that a static dialed connection is not
// held to maxOutbound (see peerLimits).
// Dialed connections whose key differs from the one dialed never get here:
// the encryption handshake fails.
//
// When two nodes dial each other at the same time, each sees an inbound and
// an outbound connection to the other. Refusing whichever comes second can
// leave both ends without either connection, as the order may differ on the
// two ends. So a connection that goes the other way than the existing one
// replaces it if it was dialed by the node with the lower ID, and is refused
// otherwise: both ends keep the same one (see replacesExisting).
func checkPostHandshake(self, id enode.ID, flags connFlag, existing connFlag, n peerCounts, l peerLimits) error {
	if id == self {
		return DiscSelf
	}
	if existing != 0 {
		if !replacesExisting(self, id, flags, existing) {
			return DiscAlreadyConnected
		}
		n = n.without(existing)
	}
	switch {
	case flags.is(trustedConn):
		return nil
	case n.total >= l.maxPeers:
		return DiscTooManyPeers
	case flags.is(inboundConn) && n.inbound >= l.maxInbound:
		return DiscTooManyPeers
	case flags.is(dynDialedConn) && n.outbound >= l.maxOutbound:
		return DiscTooManyPeers
	}
	return nil
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
func checkAddPeer(protos []Protocol, caps []Cap, self, id enode.ID, flags connFlag, existing connFlag, n peerCounts, l peerLimits) error {
	if len(protos) > 0 && !sharesCap(protos, caps) {
		return DiscUselessPeer
	}
	return checkPostHandshake(self, id, flags, existing, n, l)
}
