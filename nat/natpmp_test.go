package nat

import (
	"context"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestPMPExternalIP(t *testing.T) {
	gw := newFakePMP(t)
	n, err := Parse("natpmp:" + gw.addr.String())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := n.String(), "NAT-PMP("+gw.addr.String()+")"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	ip, err := n.ExternalIP()
	if err != nil {
		t.Fatal(err)
	}
	if ip != netip.MustParseAddr("203.0.113.7") {
		t.Errorf("ExternalIP = %v", ip)
	}

	gw.set(func(g *fakePMP) { g.extIP = netip.IPv4Unspecified() })
	if _, err := n.ExternalIP(); err == nil || !strings.Contains(err.Error(), "no external address") {
		t.Errorf("gateway without external address: err = %v", err)
	}
}

// RFC 6886 §3.3: mapping requests, the gateway's choice of port, renewal,
// and §3.4: deletion.
func TestPMPMapping(t *testing.T) {
	gw := newFakePMP(t)
	n := PMP(gw.addr)

	port, err := n.AddMapping("TCP", 0, 30303, "devp2p", 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if port != 30303 {
		t.Errorf("granted port %d, want 30303", port)
	}
	if m, ok := gw.mapping(pmpOpTCP, 30303); !ok || m.ext != 30303 || m.lifetime != 600 {
		t.Errorf("gateway holds %+v (ok=%v), want ext 30303 lifetime 600", m, ok)
	}

	// Another host holds 30304 for UDP: the gateway picks another port.
	gw.set(func(g *fakePMP) { g.taken[30304] = true })
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
	if _, ok := gw.mapping(pmpOpTCP, 30303); ok {
		t.Error("mapping still held after DeleteMapping")
	}
	if _, ok := gw.mapping(pmpOpUDP, 30304); !ok {
		t.Error("DeleteMapping of tcp removed the udp mapping")
	}
}

func TestPMPErrors(t *testing.T) {
	gw := newFakePMP(t)
	n := PMP(gw.addr)

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
	if c := gw.requestCount(); c != 0 {
		t.Errorf("%d requests sent for invalid arguments", c)
	}

	// RFC 6886 §3.5 result code 3, Network Failure.
	gw.set(func(g *fakePMP) { g.resultCode = 3 })
	_, err := n.AddMapping("tcp", 0, 30303, "x", time.Minute)
	if err == nil || !strings.Contains(err.Error(), "Network Failure") {
		t.Errorf("result code 3: err = %v", err)
	}
	if _, err := n.ExternalIP(); err == nil {
		t.Error("result code 3: ExternalIP succeeded")
	}
}

func TestPMPDiscover(t *testing.T) {
	gw := newFakePMP(t)
	silent := newFakePMP(t)
	silent.set(func(g *fakePMP) { g.silent = true })
	nobody := freeLoopbackIP(t) // nothing listens: the probe gets ICMP port unreachable

	start := time.Now()
	n, err := discoverPMP(context.Background(), []netip.Addr{nobody, silent.addr, gw.addr}, 500*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := n.(*pmp); !ok || p.gw != gw.addr {
		t.Fatalf("found %v, want NAT-PMP(%v)", n, gw.addr)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("discovery took %v; probes are bounded by 500ms", d)
	}

	_, err = discoverPMP(context.Background(), []netip.Addr{nobody, silent.addr}, 300*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "no answer") {
		t.Errorf("no gateway: err = %v", err)
	}
	if _, err := discoverPMP(context.Background(), nil, time.Second); err == nil {
		t.Error("no candidates: no error")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := discoverPMP(ctx, []netip.Addr{gw.addr}, time.Second); err == nil {
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

// fakePMP is a NAT-PMP gateway (RFC 6886) on a loopback address. The
// client library always sends to port 5351, so each fake listens on port
// 5351 of its own address in 127.0.0.0/8 (any of which reaches the
// loopback interface on Linux); the address is what tests inject, as
// "pmp:<IP>" or PMP(ip).
type fakePMP struct {
	t     *testing.T
	conn  *net.UDPConn
	addr  netip.Addr
	start time.Time
	done  chan struct{}

	mu         sync.Mutex // guards following
	extIP      netip.Addr
	resultCode uint16 // non-zero: every request fails with it
	silent     bool   // drop every request
	mappings   map[pmpKey]pmpMapping
	taken      map[uint16]bool // external ports held by other hosts
	requests   int
}

type pmpKey struct {
	op      byte
	intPort uint16
}

type pmpMapping struct {
	ext      uint16
	lifetime uint32
}

func newFakePMP(t *testing.T) *fakePMP {
	t.Helper()
	conn := listenPMP(t)
	g := &fakePMP{
		t:        t,
		conn:     conn,
		addr:     conn.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap(),
		start:    time.Now(),
		done:     make(chan struct{}),
		extIP:    netip.MustParseAddr("203.0.113.7"),
		mappings: make(map[pmpKey]pmpMapping),
		taken:    make(map[uint16]bool),
	}
	go g.serve()
	t.Cleanup(func() {
		conn.Close()
		<-g.done
	})
	return g
}

// listenPMP binds UDP port 5351 on a random 127.0.0.0/8 address, or on
// 127.0.0.1 where only that one is configured. It skips the test if the
// port is in use everywhere it tries.
func listenPMP(t *testing.T) *net.UDPConn {
	var lastErr error
	for range 20 {
		ip := randomLoopbackIP()
		conn, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, 5351)))
		if err == nil {
			return conn
		}
		lastErr = err
	}
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5351})
	if err != nil {
		t.Skipf("cannot bind a fake NAT-PMP gateway on loopback port 5351: %v; %v", lastErr, err)
	}
	return conn
}

func randomLoopbackIP() netip.Addr {
	return netip.AddrFrom4([4]byte{127, byte(1 + rand.IntN(254)), byte(rand.IntN(256)), byte(2 + rand.IntN(253))})
}

// freeLoopbackIP returns a loopback address where nothing listens on 5351.
func freeLoopbackIP(t *testing.T) netip.Addr {
	conn := listenPMP(t)
	ip := conn.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap()
	conn.Close()
	return ip
}

func (g *fakePMP) set(fn func(*fakePMP)) {
	g.mu.Lock()
	defer g.mu.Unlock()
	fn(g)
}

func (g *fakePMP) mapping(op byte, intPort uint16) (pmpMapping, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	m, ok := g.mappings[pmpKey{op, intPort}]
	return m, ok
}

func (g *fakePMP) requestCount() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.requests
}

func (g *fakePMP) serve() {
	defer close(g.done)
	buf := make([]byte, 64)
	for {
		n, from, err := g.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				g.t.Errorf("fake NAT-PMP gateway: %v", err)
			}
			return
		}
		if resp := g.handle(buf[:n]); resp != nil {
			g.conn.WriteToUDPAddrPort(resp, from)
		}
	}
}

// handle answers one request as RFC 6886 §3 says.
func (g *fakePMP) handle(req []byte) []byte {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.requests++
	if g.silent || len(req) < 2 {
		return nil
	}
	op := req[1]
	epoch := uint32(time.Since(g.start) / time.Second)
	header := func(size int, code uint16) []byte {
		resp := make([]byte, size)
		resp[1] = 128 + op
		binary.BigEndian.PutUint16(resp[2:], code)
		binary.BigEndian.PutUint32(resp[4:], epoch)
		return resp
	}
	switch {
	case req[0] != 0:
		return header(8, 1) // §3.5: Unsupported Version
	case op == pmpOpExternal && len(req) == 2:
		resp := header(12, g.resultCode)
		if g.resultCode == 0 {
			ip := g.extIP.As4()
			copy(resp[8:], ip[:])
		}
		return resp
	case (op == pmpOpUDP || op == pmpOpTCP) && len(req) == 12:
		resp := header(16, g.resultCode)
		if g.resultCode != 0 {
			return resp
		}
		intPort := binary.BigEndian.Uint16(req[4:])
		suggested := binary.BigEndian.Uint16(req[6:])
		lifetime := binary.BigEndian.Uint32(req[8:])
		key := pmpKey{op, intPort}
		binary.BigEndian.PutUint16(resp[8:], intPort)
		if lifetime == 0 { // §3.4: delete
			delete(g.mappings, key)
			return resp
		}
		m, ok := g.mappings[key]
		if !ok {
			m.ext = g.freePortLocked(op, suggested)
		}
		m.lifetime = lifetime
		g.mappings[key] = m
		binary.BigEndian.PutUint16(resp[10:], m.ext)
		binary.BigEndian.PutUint32(resp[12:], m.lifetime)
		return resp
	default:
		return header(8, 5) // §3.5: Unsupported opcode
	}
}

// freePortLocked returns the suggested port if no one holds it, else the
// first free port from 40000.
func (g *fakePMP) freePortLocked(op byte, suggested uint16) uint16 {
	used := func(p uint16) bool {
		if g.taken[p] {
			return true
		}
		for k, m := range g.mappings {
			if k.op == op && m.ext == p {
				return true
			}
		}
		return false
	}
	if suggested != 0 && !used(suggested) {
		return suggested
	}
	p := uint16(40000)
	for used(p) {
		p++
	}
	return p
}
