package p2p

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/netutil"
)

func TestCheckInbound(t *testing.T) {
	t.Parallel()
	var (
		public  = netip.MustParseAddr("8.8.8.8")
		lan     = netip.MustParseAddr("192.168.1.2")
		trusted = netip.MustParseAddr("9.9.9.9")
		sub     = netip.MustParsePrefix("8.8.8.0/24")
		tsub    = netip.MustParsePrefix("9.9.9.0/24")
		lim     = peerLimits{maxPeers: 10, maxInbound: 6, maxOutbound: 4}
		tIPs    = map[netip.Addr]struct{}{trusted: {}}
		room    = &admissionSnapshot{counts: peerCounts{total: 5, inbound: 3, outbound: 2}, trustedIPs: tIPs}
		full    = &admissionSnapshot{counts: peerCounts{total: 10, inbound: 6, outbound: 4}, trustedIPs: tIPs}
		inFull  = &admissionSnapshot{counts: peerCounts{total: 6, inbound: 6}}
		subFull = &admissionSnapshot{counts: peerCounts{total: 5, inbound: 3, outbound: 2}, trustedIPs: tIPs,
			inbound: map[netip.Prefix]int{sub: 2, tsub: 2}}
		noIPTrusted = &admissionSnapshot{counts: room.counts, trustedIPs: tIPs, trustedNoIP: true}
	)
	restrict := netutil.MustParseNetlist("8.8.0.0/16")
	tests := []struct {
		name string
		in   inboundCheck
		want error
	}{
		{"ok", inboundCheck{ip: public, snap: room}, nil},
		{"no IP (pipe)", inboundCheck{snap: room}, nil},
		{"no IP, full", inboundCheck{snap: full}, errNoInboundSlot},
		{"netrestrict ok", inboundCheck{ip: public, netRestrict: restrict, snap: room}, nil},
		{"netrestrict", inboundCheck{ip: lan, netRestrict: restrict, snap: room}, errNetRestrict},
		{"throttled", inboundCheck{ip: public, recentlySeen: true, snap: room}, errThrottled},
		{"LAN not throttled", inboundCheck{ip: lan, recentlySeen: true, snap: room}, nil},
		{"pending cap", inboundCheck{ip: public, pendingFromIP: 4, snap: room}, errPendingPerIP},
		{"pending cap on LAN too", inboundCheck{ip: lan, pendingFromIP: 4, snap: room}, errPendingPerIP},
		{"pending cap, trusted IP too", inboundCheck{ip: trusted, pendingFromIP: 4, snap: room}, errPendingPerIP},
		{"below pending cap", inboundCheck{ip: lan, pendingFromIP: 3, snap: room}, nil},
		{"full", inboundCheck{ip: public, snap: full}, errNoInboundSlot},
		{"inbound full", inboundCheck{ip: public, snap: inFull}, errNoInboundSlot},
		{"full, trusted IP", inboundCheck{ip: trusted, snap: full}, nil},
		{"netrestrict before slot check", inboundCheck{ip: lan, netRestrict: restrict, snap: full}, errNetRestrict},

		{"banned", inboundCheck{ip: public, banned: true, snap: room}, errBanned},
		{"banned, trusted IP", inboundCheck{ip: trusted, banned: true, snap: room}, errBanned},
		{"netrestrict before ban", inboundCheck{ip: lan, banned: true, netRestrict: restrict, snap: room}, errNetRestrict},
		{"ban before throttle", inboundCheck{ip: public, banned: true, recentlySeen: true, snap: room}, errBanned},
		{"trusted-only", inboundCheck{ip: public, trustedOnly: true, snap: room}, errNotTrusted},
		{"trusted-only, trusted IP", inboundCheck{ip: trusted, trustedOnly: true, snap: room}, nil},
		{"trusted-only, a trusted node without IP", inboundCheck{ip: public, trustedOnly: true, snap: noIPTrusted}, nil},
		{"trusted-only, no IP (pipe)", inboundCheck{trustedOnly: true, snap: room}, nil},
		{"ban before trusted-only", inboundCheck{ip: public, banned: true, trustedOnly: true, snap: room}, errBanned},
		{"trusted-only before throttle", inboundCheck{ip: public, trustedOnly: true, recentlySeen: true, snap: room}, errNotTrusted},
		{"pending per subnet", inboundCheck{ip: public, subnet: sub, pendingFromSubnet: 8, snap: room}, errPendingPerSubnet},
		{"below pending per subnet", inboundCheck{ip: public, subnet: sub, pendingFromSubnet: 7, snap: room}, nil},
		{"pending per subnet, exempt", inboundCheck{ip: lan, pendingFromSubnet: 8, snap: room}, nil},
		{"pending per subnet, trusted IP", inboundCheck{ip: trusted, subnet: tsub, pendingFromSubnet: 8, snap: room}, nil},
		{"pending per IP before per subnet", inboundCheck{ip: public, subnet: sub, pendingFromIP: 4, pendingFromSubnet: 8, snap: room}, errPendingPerIP},
		{"pending per subnet before slot", inboundCheck{ip: public, subnet: sub, pendingFromSubnet: 8, snap: full}, errPendingPerSubnet},
		{"inbound subnet full", inboundCheck{ip: public, subnet: sub, snap: subFull}, errInboundSubnetFull},
		{"inbound subnet full, exempt", inboundCheck{ip: lan, snap: subFull}, nil},
		{"inbound subnet full, trusted IP", inboundCheck{ip: trusted, subnet: tsub, snap: subFull}, nil},
		{"slot before inbound subnet", inboundCheck{ip: public, subnet: sub, snap: &admissionSnapshot{counts: full.counts, inbound: subFull.inbound}}, errNoInboundSlot},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.limits = lim
			if tc.in.maxPendingPerIP == 0 {
				tc.in.maxPendingPerIP = 4
			}
			tc.in.maxPendingPerSubnet = 8
			tc.in.maxInboundPerSubnet = 2
			if err := checkInbound(tc.in); !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestMayEvict(t *testing.T) {
	t.Parallel()
	g1, g2 := netip.MustParsePrefix("8.8.8.0/24"), netip.MustParsePrefix("8.8.9.0/24")
	snap := &admissionSnapshot{evictable: true, inbound: map[netip.Prefix]int{g1: 1}}
	tests := []struct {
		name string
		in   inboundCheck
		want bool
	}{
		{"new group", inboundCheck{evictOn: true, group: g2, snap: snap}, true},
		{"group has an inbound peer", inboundCheck{evictOn: true, group: g1, snap: snap}, false},
		{"eviction off", inboundCheck{group: g2, snap: snap}, false},
		{"nothing evictable", inboundCheck{evictOn: true, group: g2, snap: &admissionSnapshot{}}, false},
		{"no snapshot", inboundCheck{evictOn: true, group: g2}, false},
	}
	for _, tc := range tests {
		if got := mayEvict(tc.in); got != tc.want {
			t.Errorf("%s: got %t", tc.name, got)
		}
	}
}

func TestCheckpoints(t *testing.T) {
	t.Parallel()
	var (
		self  = enode.ID{1}
		other = enode.ID{2}
		lim   = peerLimits{maxPeers: 10, maxInbound: 6, maxOutbound: 4}
		room  = peerCounts{total: 5, inbound: 3, outbound: 2}
		full  = peerCounts{total: 10, inbound: 6, outbound: 4}
		inMax = peerCounts{total: 6, inbound: 6}
		outMx = peerCounts{total: 4, outbound: 4}
	)
	tests := []struct {
		name     string
		id       enode.ID
		flags    connFlag
		existing connFlag
		n        peerCounts
		want     error
	}{
		{"inbound ok", other, inboundConn, 0, room, nil},
		{"dialed ok", other, dynDialedConn, 0, room, nil},
		{"self", self, inboundConn, 0, room, DiscSelf},
		{"self even if trusted", self, inboundConn | trustedConn, 0, room, DiscSelf},
		{"already connected", other, inboundConn, inboundConn, room, DiscAlreadyConnected},
		{"already connected before full", other, inboundConn, inboundConn, full, DiscAlreadyConnected},
		{"already connected, trusted", other, inboundConn | trustedConn, inboundConn, room, DiscAlreadyConnected},
		{"already connected, both dialed", other, dynDialedConn, staticDialedConn, room, DiscAlreadyConnected},
		// Opposite directions: the connection dialed by the lower ID (self) wins.
		{"lower ID dialed: replaces inbound", other, dynDialedConn, inboundConn, room, nil},
		{"lower ID dialed: replaces inbound at the cap", other, dynDialedConn, inboundConn, outMx, DiscTooManyPeers},
		{"lower ID dialed: replaces inbound when full", other, dynDialedConn, inboundConn, peerCounts{10, 7, 3}, nil},
		{"lower ID dialed: outbound cap", other, dynDialedConn, inboundConn, full, DiscTooManyPeers},
		{"lower ID dialed static: replaces inbound at the outbound cap", other, staticDialedConn, inboundConn, outMx, nil},
		{"higher ID dialed: refused", other, inboundConn, dynDialedConn, room, DiscAlreadyConnected},
		{"higher ID dialed: refused, trusted", other, inboundConn | trustedConn, dynDialedConn, room, DiscAlreadyConnected},
		{"full", other, inboundConn, 0, full, DiscTooManyPeers},
		{"full, dialed", other, staticDialedConn, 0, full, DiscTooManyPeers},
		{"full, trusted", other, inboundConn | trustedConn, 0, full, nil},
		{"inbound cap", other, inboundConn, 0, inMax, DiscTooManyPeers},
		{"inbound cap, dialed ok", other, dynDialedConn, 0, inMax, nil},
		{"outbound cap", other, dynDialedConn, 0, outMx, DiscTooManyPeers},
		{"outbound cap, static exempt", other, staticDialedConn, 0, outMx, nil},
		{"beyond outbound cap, static exempt", other, staticDialedConn, 0, peerCounts{total: 7, outbound: 7}, nil},
		{"beyond outbound cap, dynamic", other, dynDialedConn, 0, peerCounts{total: 7, outbound: 7}, DiscTooManyPeers},
		{"static still counts toward MaxPeers", other, staticDialedConn, 0, peerCounts{total: 10, inbound: 5, outbound: 5}, DiscTooManyPeers},
		{"full with static peers, trusted", other, staticDialedConn | trustedConn, 0, peerCounts{total: 10, outbound: 10}, nil},
		{"outbound cap, inbound ok", other, inboundConn, 0, outMx, nil},
		{"outbound cap, trusted", other, dynDialedConn | trustedConn, 0, outMx, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := peerCheck{self: self, id: tc.id, flags: tc.flags, existing: tc.existing, counts: tc.n, limits: lim}
			if _, err := checkPostHandshake(c); err != tc.want {
				t.Errorf("checkPostHandshake = %v, want %v", err, tc.want)
			}
			caps := []Cap{{"a", 1}}
			if _, err := checkAddPeer([]Protocol{{Name: "a", Version: 1}}, caps, c); err != tc.want {
				t.Errorf("checkAddPeer = %v, want %v", err, tc.want)
			}
		})
	}

	// Checkpoint 2 refuses peers without a shared capability first.
	protos := []Protocol{{Name: "a", Version: 2}}
	fullIn := peerCheck{self: self, id: other, flags: inboundConn, counts: full, limits: lim}
	if _, err := checkAddPeer(protos, []Cap{{"a", 1}}, fullIn); err != DiscUselessPeer {
		t.Errorf("no shared cap: %v", err)
	}
	trustedIn := peerCheck{self: self, id: other, flags: inboundConn | trustedConn, counts: room, limits: lim}
	if _, err := checkAddPeer(protos, nil, trustedIn); err != DiscUselessPeer {
		t.Errorf("no caps, trusted: %v", err)
	}
	if _, err := checkAddPeer(nil, nil, peerCheck{self: self, id: other, flags: inboundConn, counts: room, limits: lim}); err != nil {
		t.Errorf("no protocols at all: %v", err)
	}
}

// The checks the limit model adds at the checkpoints: bans, trusted-only
// mode, per-subnet caps and eviction.
func TestCheckpointLimits(t *testing.T) {
	t.Parallel()
	var (
		self  = enode.ID{1}
		other = enode.ID{2}
		lim   = peerLimits{maxPeers: 10, maxInbound: 6, maxOutbound: 4}
		room  = peerCounts{total: 5, inbound: 3, outbound: 2}
		full  = peerCounts{total: 10, inbound: 6, outbound: 4}
		inMax = peerCounts{total: 6, inbound: 6}
	)
	tests := []struct {
		name      string
		c         peerCheck
		wantEvict bool
		want      error
	}{
		{"banned", peerCheck{flags: inboundConn, banned: true, counts: room}, false, DiscUselessPeer},
		{"banned, trusted", peerCheck{flags: inboundConn | trustedConn, banned: true, counts: room}, false, DiscUselessPeer},
		{"banned, dialed", peerCheck{flags: staticDialedConn, banned: true, counts: room}, false, DiscUselessPeer},
		{"self before ban", peerCheck{id: self, flags: inboundConn, banned: true, counts: room}, false, DiscSelf},
		{"ban before already connected", peerCheck{flags: inboundConn, existing: inboundConn, banned: true, counts: room}, false, DiscUselessPeer},
		{"trusted-only", peerCheck{flags: inboundConn, trustedOnly: true, counts: room}, false, DiscTooManyPeers},
		{"trusted-only, dialed", peerCheck{flags: staticDialedConn, trustedOnly: true, counts: room}, false, DiscTooManyPeers},
		{"trusted-only, trusted", peerCheck{flags: inboundConn | trustedConn, trustedOnly: true, counts: full}, false, nil},
		{"inbound subnet full", peerCheck{flags: inboundConn, subnetPeers: 2, maxPerSubnet: 2, counts: room}, false, DiscTooManyPeers},
		{"inbound subnet not full", peerCheck{flags: inboundConn, subnetPeers: 1, maxPerSubnet: 2, counts: room}, false, nil},
		{"inbound subnet full, trusted", peerCheck{flags: inboundConn | trustedConn, subnetPeers: 2, maxPerSubnet: 2, counts: room}, false, nil},
		{"exempt subnet", peerCheck{flags: inboundConn, subnetPeers: 5, counts: room}, false, nil},
		{"outbound subnet full", peerCheck{flags: dynDialedConn, subnetPeers: 2, maxPerSubnet: 2, counts: room}, false, DiscTooManyPeers},
		{"outbound subnet full, static exempt", peerCheck{flags: staticDialedConn, subnetPeers: 2, maxPerSubnet: 2, counts: room}, false, nil},
		{"subnet full, no eviction", peerCheck{flags: inboundConn, subnetPeers: 2, maxPerSubnet: 2, counts: inMax, canEvict: true}, false, DiscTooManyPeers},
		{"inbound full, evict", peerCheck{flags: inboundConn, counts: inMax, canEvict: true}, true, nil},
		{"full, evict", peerCheck{flags: inboundConn, counts: full, canEvict: true}, true, nil},
		{"inbound full, nothing to evict", peerCheck{flags: inboundConn, counts: inMax}, false, DiscTooManyPeers},
		{"over the total even after eviction", peerCheck{flags: inboundConn, counts: peerCounts{total: 11, inbound: 6, outbound: 5}, canEvict: true}, false, DiscTooManyPeers},
		{"room: no eviction", peerCheck{flags: inboundConn, counts: room, canEvict: true}, false, nil},
		{"dialed never evicts", peerCheck{flags: dynDialedConn, counts: full, canEvict: true}, false, DiscTooManyPeers},
		{"already connected before eviction", peerCheck{flags: inboundConn, existing: inboundConn, counts: inMax, canEvict: true}, false, DiscAlreadyConnected},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.c.self, tc.c.limits = self, lim
			if tc.c.id == (enode.ID{}) {
				tc.c.id = other
			}
			evict, err := checkPostHandshake(tc.c)
			if err != tc.want || evict != tc.wantEvict {
				t.Errorf("checkPostHandshake = %t, %v; want %t, %v", evict, err, tc.wantEvict, tc.want)
			}
			evict, err = checkAddPeer([]Protocol{{Name: "a", Version: 1}}, []Cap{{"a", 1}}, tc.c)
			if err != tc.want || evict != tc.wantEvict {
				t.Errorf("checkAddPeer = %t, %v; want %t, %v", evict, err, tc.wantEvict, tc.want)
			}
		})
	}
}

// Both ends of two connections going opposite ways keep the same one.
func TestReplacesExistingAgrees(t *testing.T) {
	t.Parallel()
	a, b := enode.ID{1}, enode.ID{2}
	// X is dialed by a, Y by b. On a: X is dialed, Y inbound; on b the reverse.
	for _, order := range []string{"X first", "Y first"} {
		var keepA, keepB string
		if order == "X first" {
			keepA = pick(replacesExisting(a, b, inboundConn, dynDialedConn), "Y", "X")
			keepB = pick(replacesExisting(b, a, dynDialedConn, inboundConn), "Y", "X")
		} else {
			keepA = pick(replacesExisting(a, b, dynDialedConn, inboundConn), "X", "Y")
			keepB = pick(replacesExisting(b, a, inboundConn, dynDialedConn), "X", "Y")
		}
		if keepA != "X" || keepB != "X" {
			t.Errorf("%s: a keeps %s, b keeps %s; want X (dialed by the lower ID) on both", order, keepA, keepB)
		}
	}
}

func pick(cond bool, yes, no string) string {
	if cond {
		return yes
	}
	return no
}

func TestConfigLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cfg             Config
		wantIn, wantOut int
	}{
		{Config{MaxPeers: 50}, 34, 16},
		{Config{MaxPeers: 50, DialRatio: 2}, 25, 25},
		{Config{MaxPeers: 2}, 1, 1}, // at least one dial slot
		{Config{MaxPeers: 1}, 0, 1},
		{Config{MaxPeers: 0}, 0, 0},
		{Config{MaxPeers: 50, NoDial: true}, 50, 0},
		{Config{MaxPeers: 50, MaxOutbound: 10}, 40, 10},
		{Config{MaxPeers: 50, MaxInbound: 10}, 10, 16},
		{Config{MaxPeers: 20, MaxInbound: 30, MaxOutbound: 30}, 20, 20},
	}
	for _, tc := range tests {
		cfg := tc.cfg.withDefaults()
		if in, out := cfg.maxInbound(), cfg.maxOutbound(); in != tc.wantIn || out != tc.wantOut {
			t.Errorf("%+v: in/out %d/%d, want %d/%d", tc.cfg, in, out, tc.wantIn, tc.wantOut)
		}
	}
	if err := (&Config{}).validate(); err != errNoPrivateKey {
		t.Errorf("validate without key: %v", err)
	}
	key := newTestKey(t)
	bad := []Config{
		{PrivateKey: key, MaxPeers: -1},
		{PrivateKey: key, Protocols: []Protocol{{Name: "a", Version: 1, Length: 1}}},
		{PrivateKey: key, Protocols: []Protocol{{Name: "", Version: 1, Length: 1, Run: nopRun}}},
		{PrivateKey: key, Protocols: []Protocol{{Name: "a", Version: 1, Run: nopRun}}},
		{PrivateKey: key, Protocols: []Protocol{{Name: "a", Version: 1, Length: 1, Run: nopRun}, {Name: "a", Version: 1, Length: 1, Run: nopRun}}},
	}
	for i, cfg := range bad {
		if err := cfg.validate(); err == nil {
			t.Errorf("bad config %d accepted", i)
		}
	}
}

func nopRun(*Peer, MsgReadWriter) error { return nil }
