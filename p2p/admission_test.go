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
		lim     = peerLimits{maxPeers: 10, maxInbound: 6, maxOutbound: 4}
		room    = &admissionSnapshot{counts: peerCounts{total: 5, inbound: 3, outbound: 2}}
		full    = &admissionSnapshot{counts: peerCounts{total: 10, inbound: 6, outbound: 4}, trustedIPs: map[netip.Addr]struct{}{trusted: {}}}
		inFull  = &admissionSnapshot{counts: peerCounts{total: 6, inbound: 6}}
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
		{"below pending cap", inboundCheck{ip: lan, pendingFromIP: 3, snap: room}, nil},
		{"full", inboundCheck{ip: public, snap: full}, errNoInboundSlot},
		{"inbound full", inboundCheck{ip: public, snap: inFull}, errNoInboundSlot},
		{"full, trusted IP", inboundCheck{ip: trusted, snap: full}, nil},
		{"netrestrict before slot check", inboundCheck{ip: lan, netRestrict: restrict, snap: full}, errNetRestrict},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.limits = lim
			if tc.in.maxPendingPerIP == 0 {
				tc.in.maxPendingPerIP = 4
			}
			if err := checkInbound(tc.in); !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
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
			if err := checkPostHandshake(self, tc.id, tc.flags, tc.existing, tc.n, lim); err != tc.want {
				t.Errorf("checkPostHandshake = %v, want %v", err, tc.want)
			}
			caps := []Cap{{"a", 1}}
			if err := checkAddPeer([]Protocol{{Name: "a", Version: 1}}, caps, self, tc.id, tc.flags, tc.existing, tc.n, lim); err != tc.want {
				t.Errorf("checkAddPeer = %v, want %v", err, tc.want)
			}
		})
	}

	// Checkpoint 2 refuses peers without a shared capability first.
	protos := []Protocol{{Name: "a", Version: 2}}
	if err := checkAddPeer(protos, []Cap{{"a", 1}}, self, other, inboundConn, 0, full, lim); err != DiscUselessPeer {
		t.Errorf("no shared cap: %v", err)
	}
	if err := checkAddPeer(protos, nil, self, other, inboundConn|trustedConn, 0, room, lim); err != DiscUselessPeer {
		t.Errorf("no caps, trusted: %v", err)
	}
	if err := checkAddPeer(nil, nil, self, other, inboundConn, 0, room, lim); err != nil {
		t.Errorf("no protocols at all: %v", err)
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
