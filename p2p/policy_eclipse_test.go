package p2p

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/netutil"
)

// startListener starts a real TCP server at ip that only accepts: no
// dialing, no discovery.
func startListener(t *testing.T, ip string) *Server {
	t.Helper()
	srv := &Server{Config: Config{
		PrivateKey:  newTestKey(t),
		Name:        "listener/" + ip,
		ListenAddr:  ip + ":0",
		MaxPeers:    10,
		NoDial:      true,
		NoDiscovery: true,
		Logger:      testLogger(t),
	}}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	return srv
}

// An eclipse attempt on the dialer: the dial candidates of a node (fed
// through the nodeSource hook, in place of discovery) are 40 attacker nodes
// from two /24 subnets, 127.66.0.0/24 and 127.66.1.0/24, and 8 honest nodes
// each in a /24 of its own; the attackers come first and make up 83 % of
// the stream. All are real servers on loopback TCP, and loopback is not
// exempt from the subnet caps here. With the outbound diversity of the
// dialer (two dialed peers per /24, the default for an outbound target of
// 8) the node's 8 outbound peers span at least 6 subnets, 4 of them honest.
// Without it, the attackers take every slot.
func TestEclipseOutboundDiversity(t *testing.T) {
	if testing.Short() {
		t.Skip("network test")
	}
	const (
		attackers = 40
		honest    = 8
		target    = 8
		minNets   = 6
	)
	var attack, good []*enode.Node
	for i := range attackers {
		srv := startListener(t, fmt.Sprintf("127.66.%d.%d", i%2, 1+i/2))
		attack = append(attack, srv.Self())
	}
	for i := range honest {
		srv := startListener(t, fmt.Sprintf("127.%d.%d.1", 70+i, 10+i))
		good = append(good, srv.Self())
	}
	// The stream: 20 attackers, then the other 20 interleaved 5:2 with the
	// honest nodes.
	stream := slices.Clone(attack[:20])
	rest := attack[20:]
	for i := 0; i < honest; i += 2 {
		stream = append(stream, rest[:5]...)
		rest = rest[5:]
		stream = append(stream, good[i], good[i+1])
	}
	if n := len(stream); n != attackers+honest || attackers*100/n < 80 {
		t.Fatalf("stream of %d nodes", n)
	}

	run := func(t *testing.T, perSubnet int) *Server {
		victim := &Server{Config: Config{
			PrivateKey:  newTestKey(t),
			Name:        "victim",
			ListenAddr:  "127.65.0.1:0",
			MaxPeers:    3 * target,
			NoDiscovery: true,
			Logger:      testLogger(t),
			Limits: Limits{
				SubnetExempt:         new(netutil.Netlist), // loopback is not exempt
				MaxOutboundPerSubnet: perSubnet,
			},
			nodeSource: enode.IterNodes(stream),
		}}
		if err := victim.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(victim.Stop)
		waitFor(t, 20*time.Second, "outbound target", func() bool { return len(outbound(victim)) >= target })
		return victim
	}
	subnets := func(srv *Server) map[netip.Prefix]int {
		m := make(map[netip.Prefix]int)
		for _, p := range srv.Peers() {
			if p.connFlags().dialed() {
				ip := netutil.AddrFromNetAddr(p.RemoteAddr()).Unmap()
				m[netip.PrefixFrom(ip, 24).Masked()]++
			}
		}
		return m
	}

	t.Run("diversity", func(t *testing.T) {
		victim := run(t, 0) // the default: 2 per /24 for a target of 8
		nets := subnets(victim)
		t.Logf("outbound peers by /24: %v; dial stats %+v", nets, victim.Stats().Dials)
		if len(nets) < minNets {
			t.Errorf("outbound peers from %d subnets, want at least %d: %v", len(nets), minNets, nets)
		}
		for p, n := range nets {
			if n > 2 {
				t.Errorf("%d outbound peers from %v, cap 2", n, p)
			}
		}
		if st := victim.Stats().Dials; st.SkippedSubnet == 0 {
			t.Error("no candidate skipped for its subnet")
		}
	})
	t.Run("no cap", func(t *testing.T) {
		victim := run(t, -1)
		nets := subnets(victim)
		t.Logf("without the cap, outbound peers by /24: %v", nets)
		if len(nets) > 2 {
			t.Errorf("without the subnet cap the first %d candidates (attackers) should fill the slots: %v", target, nets)
		}
	})
}
