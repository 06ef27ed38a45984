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
		name      string
		id        enode.ID
		flags     connFlag
		connected bool
		n         peerCounts
		want      error
	}{
		{"inbound ok", other, inboundConn, false, room, nil},
		{"dialed ok", other, dynDialedConn, false, room, nil},
		{"self", self, inboundConn, false, room, DiscSelf},
		{"self even if trusted", self, inboundConn | trustedConn, false, room, DiscSelf},
		{"already connected", other, inboundConn, true, room, DiscAlreadyConnected},
		{"already connected before full", other, inboundConn, true, full, DiscAlreadyConnected},
		{"already connected, trusted", other, inboundConn | trustedConn, true, room, DiscAlreadyConnected},
		{"full", other, inboundConn, false, full, DiscTooManyPeers},
		{"full, dialed", other, staticDialedConn, false, full, DiscTooManyPeers},
		{"full, trusted", other, inboundConn | trustedConn, false, full, nil},
		{"inbound cap", other, inboundConn, false, inMax, DiscTooManyPeers},
		{"inbound cap, dialed ok", other, dynDialedConn, false, inMax, nil},
		{"outbound cap", other, dynDialedConn, false, outMx, DiscTooManyPeers},
		{"outbound cap, static too", other, staticDialedConn, false, outMx, DiscTooManyPeers},
		{"outbound cap, inbound ok", other, inboundConn, false, outMx, nil},
		{"outbound cap, trusted", other, dynDialedConn | trustedConn, false, outMx, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := checkPostHandshake(self, tc.id, tc.flags, tc.connected, tc.n, lim); err != tc.want {
				t.Errorf("checkPostHandshake = %v, want %v", err, tc.want)
			}
			caps := []Cap{{"a", 1}}
			if err := checkAddPeer([]Protocol{{Name: "a", Version: 1}}, caps, self, tc.id, tc.flags, tc.connected, tc.n, lim); err != tc.want {
				t.Errorf("checkAddPeer = %v, want %v", err, tc.want)
			}
		})
	}

	// Checkpoint 2 refuses peers without a shared capability first.
	protos := []Protocol{{Name: "a", Version: 2}}
	if err := checkAddPeer(protos, []Cap{{"a", 1}}, self, other, inboundConn, false, full, lim); err != DiscUselessPeer {
		t.Errorf("no shared cap: %v", err)
	}
	if err := checkAddPeer(protos, nil, self, other, inboundConn|trustedConn, false, room, lim); err != DiscUselessPeer {
		t.Errorf("no caps, trusted: %v", err)
	}
	if err := checkAddPeer(nil, nil, self, other, inboundConn, false, room, lim); err != nil {
		t.Errorf("no protocols at all: %v", err)
	}
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
