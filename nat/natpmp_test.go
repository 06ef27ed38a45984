package nat

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/devp2p-go/devp2p/nat/nattest"
)

func TestPMPExternalIP(t *testing.T) {
	gw := nattest.NewPMP(t)
	n, err := Parse("natpmp:" + gw.Addr.String())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := n.String(), "NAT-PMP("+gw.Addr.String()+")"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	ip, err := n.ExternalIP()
	if err != nil {
		t.Fatal(err)
	}
	if ip != netip.MustParseAddr("203.0.113.7") {
		t.Errorf("ExternalIP = %v", ip)
	}

	gw.Set(func(g *nattest.PMPState) { g.ExtIP = netip.IPv4Unspecified() })
	if _, err := n.ExternalIP(); err == nil || !strings.Contains(err.Error(), "no external address") {
		t.Errorf("gateway without external address: err = %v", err)
	}
}

// RFC 6886 §3.3: mapping requests, the gateway's choice of port, renewal,
// and §3.4: deletion.
func TestPMPMapping(t *testing.T) {
	gw := nattest.NewPMP(t)
	n := PMP(gw.Addr)

	port, err := n.AddMapping("TCP", 0, 30303, "devp2p", 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if port != 30303 {
		t.Errorf("granted port %d, want 30303", port)
	}
	if m, ok := gw.Mapping(pmpOpTCP, 30303); !ok || m.Ext != 30303 || m.Lifetime != 600 {
		t.Errorf("gateway holds %+v (ok=%v), want ext 30303 lifetime 600", m, ok)
	}

	// Another host holds 30304 for UDP: the gateway picks another port.
	gw.Set(func(g *nattest.PMPState) { g.Taken[30304] = true })
	port, err = n.AddMapping("udp", 30304, 30304, "devp2p", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if port == 30304 || port == 0 {
		t.Errorf("granted taken port %d", port)
	}
	// Renewal returns the mapping already held.
	again, err := n.AddMapping("udp", int(port), 30304, "devp2p", time.Minute)
	if err != nil || again != port {
		t.Errorf("renewal granted %d, %v; want %d", again, err, port)
	}

	if err := n.DeleteMapping("tcp", 30303, 30303); err != nil {
		t.Fatal(err)
	}
	if _, ok := gw.Mapping(pmpOpTCP, 30303); ok {
		t.Error("mapping still held after DeleteMapping")
	}
	if _, ok := gw.Mapping(pmpOpUDP, 30304); !ok {
		t.Error("DeleteMapping of tcp removed the udp mapping")
	}
}

func TestPMPErrors(t *testing.T) {
	gw := nattest.NewPMP(t)
	n := PMP(gw.Addr)

	// Refused before any request.
	for _, tc := range []struct {
		proto    string
		intport  int
		lifetime time.Duration
		want     string
	}{
		{"sctp", 1, time.Minute, `protocol "sctp"`},
		{"tcp", 0, time.Minute, "internal port 0"},
		{"tcp", 70000, time.Minute, "internal port 70000"},
		{"tcp", 1, 500 * time.Millisecond, "shorter than a second"},
	} {
		_, err := n.AddMapping(tc.proto, 0, tc.intport, "x", tc.lifetime)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("AddMapping(%s, %d, %v): err = %v, want %q", tc.proto, tc.intport, tc.lifetime, err, tc.want)
		}
	}
	if c := gw.Requests(); c != 0 {
		t.Errorf("%d requests sent for invalid arguments", c)
	}

	// RFC 6886 §3.5 result code 3, Network Failure.
	gw.Set(func(g *nattest.PMPState) { g.ResultCode = 3 })
	_, err := n.AddMapping("tcp", 0, 30303, "x", time.Minute)
	if err == nil || !strings.Contains(err.Error(), "Network Failure") {
		t.Errorf("result code 3: err = %v", err)
	}
	if _, err := n.ExternalIP(); err == nil {
		t.Error("result code 3: ExternalIP succeeded")
	}
}

func TestPMPDiscover(t *testing.T) {
	gw := nattest.NewPMP(t)
	silent := nattest.NewPMP(t)
	silent.Set(func(g *nattest.PMPState) { g.Silent = true })
	nobody := nattest.FreeLoopbackIP(t) // nothing listens: the probe gets ICMP port unreachable

	start := time.Now()
	n, err := discoverPMP(context.Background(), []netip.Addr{nobody, silent.Addr, gw.Addr}, 500*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := n.(*pmp); !ok || p.gw != gw.Addr {
		t.Fatalf("found %v, want NAT-PMP(%v)", n, gw.Addr)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("discovery took %v; probes are bounded by 500ms", d)
	}

	_, err = discoverPMP(context.Background(), []netip.Addr{nobody, silent.Addr}, 300*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "no answer") {
		t.Errorf("no gateway: err = %v", err)
	}
	if _, err := discoverPMP(context.Background(), nil, time.Second); err == nil {
		t.Error("no candidates: no error")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := discoverPMP(ctx, []netip.Addr{gw.Addr}, time.Second); err == nil {
		t.Error("expired context: no error")
	}
}

func TestParseProcNetRoute(t *testing.T) {
	const table = `Iface	Destination	Gateway 	Flags	RefCnt	Use	Metric	Mask		MTU	Window	IRTT
eth0	00000000	0101A8C0	0003	0	0	100	00000000	0	0	0
eth0	0001A8C0	00000000	0001	0	0	100	00FFFFFF	0	0	0
wlan0	00000000	FE01000A	0003	0	0	600	00000000	0	0	0
tun0	00000000	00000000	0001	0	0	50	00000000	0	0	0
`
	got := parseProcNetRoute(strings.NewReader(table))
	want := []netip.Addr{netip.MustParseAddr("192.168.1.1"), netip.MustParseAddr("10.0.1.254")}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("gateways = %v, want %v", got, want)
	}
}

// The candidates come from this host's routes and interfaces (no traffic).
func TestPMPCandidates(t *testing.T) {
	cands := pmpCandidates()
	for i, c := range cands {
		if !c.Is4() || c.IsUnspecified() {
			t.Errorf("candidate %v is not an IPv4 gateway address", c)
		}
		for _, d := range cands[:i] {
			if c == d {
				t.Errorf("candidate %v listed twice", c)
			}
		}
	}
	t.Logf("candidates on this host: %v", cands)
}

// Code below here is the framework for the tests above.

// NAT-PMP opcodes (RFC 6886 §3.2, §3.3).
const (
	pmpOpExternal = 0
	pmpOpUDP      = 1
	pmpOpTCP      = 2
)
