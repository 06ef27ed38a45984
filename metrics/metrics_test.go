package metrics

import (
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"
	"go.uber.org/goleak"

	"github.com/devp2p-go/devp2p/crypto"
	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/netutil"
	"github.com/devp2p-go/devp2p/p2p"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestNilRegisterer(t *testing.T) {
	c, err := New(&p2p.Server{}, nil)
	if c != nil || err != nil {
		t.Fatalf("New(nil registerer) = %v, %v", c, err)
	}
	c.Close() // no-op on nil
}

func TestCollectorSeries(t *testing.T) {
	srv1, srv2 := startServer(t), startServer(t)
	reg := prometheus.NewPedanticRegistry()
	c, err := New(srv1, reg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	// Before any peer, the gauges are there at zero.
	expectSeries(t, reg, `
p2p_peers 0
p2p_peers_inbound 0
p2p_peers_outbound 0
p2p_connected_peers{class="static",direction="outbound"} 0
p2p_ingress 0
`)

	// srv1 dials srv2 as a static node; srv2 is trusted by srv1.
	srv1.AddTrustedPeer(srv2.Self())
	srv1.AddPeer(srv2.Self())
	waitFor(t, "peer added", func() bool {
		return testutil.ToFloat64(c.added.WithLabelValues("outbound")) == 1
	})
	expectSeries(t, reg, `
p2p_peers 1
p2p_peers_outbound 1
p2p_connected_peers{class="trusted",direction="outbound"} 1
p2p_connected_peers{class="static",direction="outbound"} 0
p2p_peers_added_total{direction="outbound"} 1
`)
	if v := gather(t, reg)["p2p_ingress"]; v <= 0 {
		t.Errorf("p2p_ingress = %v with a connected peer", v)
	}

	// A drop we ask for: counted with its reason, direction and side, and
	// the peer's traffic stays in the totals.
	before := gather(t, reg)
	srv1.RemovePeer(srv2.Self())
	waitFor(t, "drop counted", func() bool {
		return testutil.ToFloat64(c.drops.WithLabelValues("outbound", "disconnect requested", "local")) == 1
	})
	after := gather(t, reg)
	for _, name := range []string{"p2p_ingress", "p2p_egress", "p2p_ingress_messages_total", "p2p_egress_messages_total"} {
		if after[name] < before[name] {
			t.Errorf("%s went down from %v to %v", name, before[name], after[name])
		}
	}
	expectSeries(t, reg, `
p2p_peers 0
p2p_peer_lifetime_seconds_count{direction="outbound"} 1
`)
	// The only lint findings allowed are go-ethereum's counter names
	// without _total.
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if p.Metric != "p2p_ingress" && p.Metric != "p2p_egress" {
			t.Errorf("lint: %s: %s", p.Metric, p.Text)
		}
	}
}

func TestCollectorInbound(t *testing.T) {
	srv1, srv2 := startServer(t), startServer(t)
	reg := prometheus.NewRegistry()
	c, err := New(srv2, reg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	srv1.AddPeer(srv2.Self())
	waitFor(t, "inbound peer", func() bool {
		return testutil.ToFloat64(c.added.WithLabelValues("inbound")) == 1
	})
	expectSeries(t, reg, `
p2p_peers_inbound 1
p2p_connected_peers{class="dynamic",direction="inbound"} 1
`)
	// The remote asks to disconnect: requested_by is "remote".
	srv1.RemovePeer(srv2.Self())
	waitFor(t, "remote drop", func() bool {
		return testutil.ToFloat64(c.drops.WithLabelValues("inbound", "disconnect requested", "remote")) == 1
	})
}

// The series of p2p.Server.Stats: dials by kind and result, failed dials
// by class, handshake failures by phase, discovery packets and table.
func TestCollectorStats(t *testing.T) {
	srv1, srv2 := startServer(t), startServer(t)
	reg := prometheus.NewPedanticRegistry()
	c, err := New(srv1, reg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	expectSeries(t, reg, `
p2p_pending_handshakes{direction="inbound"} 0
p2p_dials_total{kind="static",result="succeeded"} 0
p2p_dials_in_flight 0
p2p_discovery_table_nodes{list="live"} 0
p2p_discovery_timeouts_total 0
p2p_peerstore_writes_total{result="written"} 0
`)

	// A static dial that succeeds, one to a port where nothing listens.
	srv1.AddPeer(srv2.Self())
	dead := deadNode(t)
	srv1.AddPeer(dead)
	waitFor(t, "dials counted", func() bool {
		st := srv1.Stats()
		return st.Dials.Static.Succeeded == 1 && st.Dials.Failures["connect"] >= 1
	})
	expectSeries(t, reg, `
p2p_dials_total{kind="static",result="succeeded"} 1
`)
	waitFor(t, "dead node backed off", func() bool { return srv1.Stats().Dials.BackedOffByClass["connect"] >= 1 })
	if v := gatherLabeled(t, reg, "p2p_dial_backoff_nodes", "class", "connect"); v < 1 {
		t.Errorf("p2p_dial_backoff_nodes{class=\"connect\"} = %v after a refused dial", v)
	}
	if v := gatherLabeled(t, reg, "p2p_dial_failures_total", "class", "connect"); v < 1 {
		t.Errorf("p2p_dial_failures_total{class=\"connect\"} = %v", v)
	}

	// Garbage instead of an RLPx handshake.
	conn, err := net.Dial("tcp", srv1.NodeInfo().ListenAddr)
	if err != nil {
		t.Fatal(err)
	}
	conn.Write(make([]byte, 400))
	conn.Close()
	waitFor(t, "handshake failure counted", func() bool {
		return len(srv1.Stats().HandshakeFailures["rlpx"]) > 0
	})
	var rlpx float64
	for _, reason := range []string{"invalid", "network", "timeout"} {
		rlpx += gatherLabeled(t, reg, "p2p_handshake_failures_total", "reason", reason)
	}
	if rlpx < 1 {
		t.Errorf("no rlpx handshake failure in the series")
	}
	// The policy's counters: the dead node's TCP connect, the garbage
	// handshake.
	if v := gatherLabeled(t, reg, "p2p_failures_total", "phase", "tcp"); v < 1 {
		t.Errorf("p2p_failures_total{phase=\"tcp\"} = %v", v)
	}
	if v := gatherLabeled(t, reg, "p2p_failures_total", "phase", "ecies"); v < 1 {
		t.Errorf("p2p_failures_total{phase=\"ecies\"} = %v", v)
	}
	expectSeries(t, reg, `
p2p_bans 0
`)

	// A discovery ping from srv2.
	if _, err := srv2.DiscoveryV4().Ping(srv1.Self()); err != nil {
		t.Fatal(err)
	}
	if v := gatherLabeled(t, reg, "p2p_discovery_packets_total", "type", "ping"); v < 1 {
		t.Errorf("p2p_discovery_packets_total{type=\"ping\"} = %v after a ping", v)
	}
	if v := gatherLabeled(t, reg, "p2p_discovery_bytes_total", "direction", "inbound"); v <= 0 {
		t.Errorf("p2p_discovery_bytes_total{direction=\"inbound\"} = %v", v)
	}
}

// The listener's series: a connection from outside NetRestrict is closed
// before any cryptography and counted by reason.
func TestCollectorListener(t *testing.T) {
	srv := startServerWith(t, func(cfg *p2p.Config) { cfg.NetRestrict = netutil.MustParseNetlist("10.0.0.0/8") })
	reg := prometheus.NewPedanticRegistry()
	c, err := New(srv, reg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	expectSeries(t, reg, `
p2p_listener_courtesy_total 0
p2p_listener_eviction_handshakes_total 0
p2p_inbound_evictions_total 0
p2p_stalled_setups_closed_total 0
p2p_stalled_hello_closed_total 0
p2p_dial_backoff_nodes{class="connect"} 0
`)
	if v := gatherLabeled(t, reg, "p2p_listener_rejected_total", "reason", "not in netrestrict list"); v != 0 {
		t.Errorf("rejections before any connection: %v", v)
	}
	conn, err := net.Dial("tcp", srv.NodeInfo().ListenAddr)
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	waitFor(t, "rejection counted", func() bool { return srv.Stats().Listener.Rejected["not in netrestrict list"] == 1 })
	expectSeries(t, reg, `
p2p_listener_rejected_total{reason="not in netrestrict list"} 1
`)
}

// statsOnly exports the series of one fixed Stats snapshot.
type statsOnly struct{ st p2p.ServerStats }

func (s statsOnly) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range statsDescs {
		ch <- d
	}
}

func (s statsOnly) Collect(ch chan<- prometheus.Metric) { collectStats(ch, s.st) }

// Every listener counter and the backed-off nodes by class go to their
// series; classes without backed-off nodes read zero.
func TestCollectStatsListener(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(statsOnly{p2p.ServerStats{
		Dials: p2p.DialStats{BackedOff: 5, BackedOffByClass: map[string]int{"busy": 3, "handshake": 1, "future": 1}},
		Listener: p2p.ListenerStats{
			Rejected:      map[string]uint64{"too many attempts": 7, "no inbound slot free": 2},
			Courtesy:      4,
			EvictTries:    6,
			Evicted:       3,
			StalledClosed: 9,
			StalledHello:  5,
		},
	}})
	expectSeries(t, reg, `
p2p_listener_rejected_total{reason="no inbound slot free"} 2
p2p_listener_rejected_total{reason="too many attempts"} 7
p2p_listener_courtesy_total 4
p2p_listener_eviction_handshakes_total 6
p2p_inbound_evictions_total 3
p2p_stalled_setups_closed_total 9
p2p_stalled_hello_closed_total 5
p2p_dial_backoff_nodes{class="busy"} 3
p2p_dial_backoff_nodes{class="connect"} 0
p2p_dial_backoff_nodes{class="future"} 1
p2p_dial_backoff_nodes{class="handshake"} 1
p2p_dial_backoff_nodes{class="protocol"} 0
p2p_dial_backoff_nodes{class="self"} 0
`)
}

// deadNode returns a node whose TCP port refuses connections.
func deadNode(t *testing.T) *enode.Node {
	t.Helper()
	key, err := crypto.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return enode.NewV4(key.Public(), netip.MustParseAddr("127.0.0.1"), port, 0)
}

// Close unregisters the collector and stops its goroutine (goleak checks).
func TestCollectorClose(t *testing.T) {
	srv := startServer(t)
	reg := prometheus.NewRegistry()
	c, err := New(srv, reg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(srv, reg); err == nil {
		t.Error("second registration of the same series accepted")
	}
	c.Close()
	if mfs, _ := reg.Gather(); len(mfs) != 0 {
		t.Errorf("%d metric families left after Close", len(mfs))
	}
	// A collector whose server stops ends on its own.
	c2, _ := New(srv, reg)
	srv.Stop()
	c2.Close()
}

// Code below here is the framework for the tests above.

func startServer(t testing.TB) *p2p.Server {
	t.Helper()
	return startServerWith(t, nil)
}

// startServerWith is startServer with a change to the config.
func startServerWith(t testing.TB, mod func(*p2p.Config)) *p2p.Server {
	t.Helper()
	key, err := crypto.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := &p2p.Server{Config: p2p.Config{
		PrivateKey: key,
		ListenAddr: "127.0.0.1:0",
		MaxPeers:   10,
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
	}}
	if mod != nil {
		mod(&srv.Config)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	return srv
}

// gather returns the value of every unlabelled series (and histogram
// counts under name_count).
func gather(t testing.TB, reg prometheus.Gatherer) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	vals := make(map[string]float64)
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) > 0 {
				continue
			}
			switch {
			case m.Gauge != nil:
				vals[mf.GetName()] = m.GetGauge().GetValue()
			case m.Counter != nil:
				vals[mf.GetName()] = m.GetCounter().GetValue()
			}
		}
	}
	return vals
}

// expectSeries checks that the text exposition of reg contains each line
// of want.
func expectSeries(t testing.TB, reg *prometheus.Registry, want string) {
	t.Helper()
	var sb strings.Builder
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		expfmt.MetricFamilyToText(&sb, mf)
	}
	text := sb.String()
	for _, line := range strings.Split(strings.TrimSpace(want), "\n") {
		if !strings.Contains(text, line+"\n") {
			t.Errorf("exposition lacks %q:\n%s", line, text)
		}
	}
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// gatherLabeled returns the sum of the series of name whose label has value.
func gatherLabeled(t testing.TB, reg prometheus.Gatherer, name, label, value string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
				}
			}
		}
	}
	return sum
}

// Per-protocol traffic: every message of a sub-protocol counts once in
// p2p_protocol_messages_total and its payload in p2p_protocol_bytes_total,
// by protocol name and direction.
func TestCollectorProtocolTraffic(t *testing.T) {
	// Each side sends "hi" (3 bytes of RLP) once, then reads.
	demo := p2p.Protocol{Name: "demo", Version: 1, Length: 1, Run: func(p *p2p.Peer, rw p2p.MsgReadWriter) error {
		if err := p2p.Send(rw, 0, "hi"); err != nil {
			return err
		}
		for {
			msg, err := rw.ReadMsg()
			if err != nil {
				return err
			}
			msg.Discard()
		}
	}}
	withDemo := func(c *p2p.Config) { c.Protocols = []p2p.Protocol{demo} }
	srv1, srv2 := startServerWith(t, withDemo), startServerWith(t, withDemo)
	reg := prometheus.NewPedanticRegistry()
	c, err := New(srv1, reg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	expectSeries(t, reg, `
p2p_protocol_messages_total{direction="inbound",protocol="demo"} 0
p2p_protocol_bytes_total{direction="outbound",protocol="demo"} 0
`)
	srv1.AddPeer(srv2.Self())
	waitFor(t, "demo messages", func() bool {
		d := srv1.Stats().Protocols["demo"]
		return d.MsgsIn == 1 && d.MsgsOut == 1
	})
	expectSeries(t, reg, `
p2p_protocol_messages_total{direction="inbound",protocol="demo"} 1
p2p_protocol_messages_total{direction="outbound",protocol="demo"} 1
p2p_protocol_bytes_total{direction="inbound",protocol="demo"} 3
p2p_protocol_bytes_total{direction="outbound",protocol="demo"} 3
`)
}
