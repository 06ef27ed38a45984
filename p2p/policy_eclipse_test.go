package p2p

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/devp2p-go/devp2p/crypto"
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

// An eclipse attempt through discovery v4. 30 attacker nodes in two /24
// subnets (127.66.0.0/24 and 127.66.1.0/24) and 6 honest nodes, each in a
// /24 of its own, are real servers with discovery that accept connections
// (none of them dials) and know one bootnode, whose table they flood (about
// 20 of its 25 entries are attackers). The attackers talk to no honest node
// (their NetRestrict holds only the attacker subnets, the bootnode and the
// victim), so they answer every Findnode with attackers only, and their
// node IDs are ground so that each attacker /24 has 2 nodes at every log
// distance 250–256 from the victim and one at 249: the closest nodes to the
// victim, 15 per /24 over 8 buckets, which the per-bucket limit (2 per /24)
// alone would all let in.
//
// The victim has an outbound target of 8, the bootnode only, and loopback
// exempt from nothing (Limits.SubnetExempt is empty, which also reaches
// discovery's table as IPLimitExempt):
//
//   - its discovery table fills up to the table's limit of 10 nodes of an
//     attacker /24, never more, and at most 2 per bucket;
//   - its 8 outbound peers come from at least 6 subnets, at most 2 from
//     each attacker subnet (the dialer's cap for a target of 8), so at
//     least 4 are honest.
//
// Then the same node (key and address) restarts with the default limits,
// which exempt loopback as they exempt the LAN: its table takes more than
// 10 nodes of an attacker /24, so the limit above did the work. Its
// outbound peers are logged, not asserted: without the caps they are
// whatever discovery offered first.
func TestEclipseDiscovery(t *testing.T) {
	if testing.Short() {
		t.Skip("network test")
	}
	const (
		honest    = 6
		target    = 8
		perSubnet = 2  // the default MaxOutboundPerSubnet for a target of 8
		minNets   = 6  // 2 attacker subnets and at least 4 honest ones
		tableMax  = 10 // discovery's per-/24 table limit
		bucketMax = 2  // and per bucket
	)
	victimKey := newTestKey(t)
	victimID := enode.PubkeyToIDV4(victimKey.Public())
	attackKeys := grindAttackKeys(t, victimID)
	attackers := len(attackKeys)

	bootNode, boot := newBootnode(t, "127.64.0.1", 0)
	t.Cleanup(boot.Close)
	boots := []*enode.Node{bootNode}
	attackNets := []netip.Prefix{netip.MustParsePrefix("127.66.0.0/24"), netip.MustParsePrefix("127.66.1.0/24")}
	restrict := netutil.MustParseNetlist("127.66.0.0/23, 127.64.0.1/32, 127.65.0.1/32")
	start := time.Now()
	var nodes []*discNode
	for i, key := range attackKeys {
		nodes = append(nodes, startDiscNode(t, key, fmt.Sprintf("127.66.%d.%d", i%2, 1+i/2), "", "", boots, func(c *Config) {
			c.NoDial = true
			c.MaxPeers = 4
			c.NetRestrict = restrict
		}))
	}
	for i := range honest {
		nodes = append(nodes, startDiscNode(t, newTestKey(t), fmt.Sprintf("127.%d.%d.1", 70+i, 10+i), "", "", boots, func(c *Config) {
			c.NoDial = true
			c.MaxPeers = 4
		}))
	}
	// Settled when every node has bonded with the bootnode and learned of
	// another node from it. (The bootnode cannot hold every attacker: their
	// IDs, ground close to the victim's, share its buckets.)
	for _, nd := range nodes {
		waitFor(t, 15*time.Second, nd.Name+" knows the network", func() bool {
			st := nd.Stats().Discovery
			return st != nil && st.TableNodes >= 2
		})
	}
	bootTable := make(map[bool]int)
	for _, b := range boot.TableBuckets() {
		for _, e := range b {
			bootTable[attackNets[0].Contains(e.Node.IPAddr()) || attackNets[1].Contains(e.Node.IPAddr())]++
		}
	}
	t.Logf("network of %d attackers and %d honest nodes up after %v; the bootnode's table holds %d attackers and %d others",
		attackers, honest, time.Since(start).Round(time.Millisecond), bootTable[true], bootTable[false])

	// tableNets counts the table entries of srv per /24, in all and at
	// most in one bucket.
	tableNets := func(srv *Server) (total, inBucket map[netip.Prefix]int) {
		total, inBucket = make(map[netip.Prefix]int), make(map[netip.Prefix]int)
		for _, b := range srv.DiscoveryV4().TableBuckets() {
			in := make(map[netip.Prefix]int)
			for _, e := range b {
				p := netip.PrefixFrom(e.Node.IPAddr(), 24).Masked()
				total[p]++
				in[p]++
				inBucket[p] = max(inBucket[p], in[p])
			}
		}
		return total, inBucket
	}
	flooded := func(srv *Server, n int) func() bool {
		return func() bool {
			total, _ := tableNets(srv)
			return total[attackNets[0]] >= n || total[attackNets[1]] >= n
		}
	}
	outNets := func(srv *Server) map[netip.Prefix]int {
		m := make(map[netip.Prefix]int)
		for _, p := range srv.Peers() {
			if p.connFlags().dialed() {
				ip := netutil.AddrFromNetAddr(p.RemoteAddr()).Unmap()
				m[netip.PrefixFrom(ip, 24).Masked()]++
			}
		}
		return m
	}

	start = time.Now()
	victim := startDiscNode(t, victimKey, "127.65.0.1", "", "", boots, func(c *Config) {
		c.MaxPeers = 3 * target
		c.MaxOutbound = target
		c.Limits.SubnetExempt = new(netutil.Netlist)
	})
	waitFor(t, 20*time.Second, "the victim's outbound target", func() bool { return len(outbound(victim.Server)) >= target })
	took := time.Since(start)
	waitFor(t, 15*time.Second, "the victim's table at the limit for an attacker /24", flooded(victim.Server, tableMax))
	nets := outNets(victim.Server)
	total, inBucket := tableNets(victim.Server)
	st := victim.Stats()
	t.Logf("victim at its target of %d after %v: outbound peers by /24 %v", target, took.Round(time.Millisecond), nets)
	t.Logf("victim's table: %d nodes, by /24 %v; most of a /24 in one bucket %v", st.Discovery.TableNodes, total, inBucket)
	t.Logf("victim's dials: %d started, %d skipped for their subnet", st.Dials.Dynamic.Started, st.Dials.SkippedSubnet)
	for _, p := range attackNets {
		if total[p] > tableMax || inBucket[p] > bucketMax {
			t.Errorf("victim's table holds %d nodes of %v, up to %d in one bucket; limits %d and %d", total[p], p, inBucket[p], tableMax, bucketMax)
		}
	}
	if len(nets) < minNets {
		t.Errorf("outbound peers from %d subnets, want at least %d: %v", len(nets), minNets, nets)
	}
	for p, n := range nets {
		if n > perSubnet {
			t.Errorf("%d outbound peers from %v, cap %d", n, p, perSubnet)
		}
	}
	addr := victim.listenAddr
	victim.Stop()

	// The control: the same node with the default limits.
	control := startDiscNode(t, victimKey, "127.65.0.1", addr, "", boots, func(c *Config) {
		c.MaxPeers = 3 * target
		c.MaxOutbound = target
	})
	waitFor(t, 15*time.Second, "the control's table past the limit", flooded(control.Server, tableMax+1))
	total, inBucket = tableNets(control.Server)
	t.Logf("control's table without limits: %d nodes, by /24 %v; most of a /24 in one bucket %v",
		control.Stats().Discovery.TableNodes, total, inBucket)
	waitFor(t, 20*time.Second, "the control's outbound target", func() bool { return len(outbound(control.Server)) >= target })
	t.Logf("control's outbound peers by /24 %v", outNets(control.Server))
}

// grindAttackKeys returns 30 keys whose node IDs lie at log distance 250 to
// 256 from target, 4 at each, and 2 at distance 249, ordered so that the
// even and the odd indices each hold 2 per distance from 250 (and one at
// 249): the placement an attacker who knows the victim's ID chooses, the
// closest nodes to the victim spread over its buckets.
func grindAttackKeys(t *testing.T, target enode.ID) []*crypto.PrivateKey {
	t.Helper()
	const minDist, maxDist = 249, 256
	need := func(d int) int {
		if d == minDist {
			return 2
		}
		return 4
	}
	byDist := make(map[int][]*crypto.PrivateKey)
	missing := 0
	for d := minDist; d <= maxDist; d++ {
		missing += need(d)
	}
	for tries := 0; missing > 0; tries++ {
		if tries > 100000 {
			t.Fatalf("no keys found for every distance after %d tries", tries)
		}
		key := newTestKey(t)
		d := enode.LogDist(target, enode.PubkeyToIDV4(key.Public()))
		if d >= minDist && len(byDist[d]) < need(d) {
			byDist[d] = append(byDist[d], key)
			missing--
		}
	}
	var keys []*crypto.PrivateKey
	for d := maxDist; d >= minDist; d-- {
		keys = append(keys, byDist[d]...) // alternating: 2 to each /24
	}
	return keys
}
