package main

import (
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/devp2p-go/devp2p/admin"
	"github.com/devp2p-go/devp2p/enode"
)

// The node maps its TCP port and the UDP port discovery will use on a
// NAT-PMP gateway, puts the gateway's external address into its record
// before it prints its enode URL, reports the mappings over admin RPC and
// deletes them when it stops.
func TestNodeNATPMP(t *testing.T) {
	gw := newFakePMP(t)
	n := startNode(t, nodeArgs(t, "--nat", "pmp:"+gw.addr.String(), "--http", "--http.port", "0")...)
	self := n.d.srv.Self()
	port := uint16(self.TCP())
	if ip := self.IPAddr(); ip != fakeExtIP {
		t.Fatalf("record IP %v, want the gateway's external address %v", ip, fakeExtIP)
	}
	want := "@" + fakeExtIP.String() + ":" + itoa(int(port))
	if !strings.Contains(n.stdout.String(), want+"\n") {
		t.Errorf("printed enode URL lacks %q:\n%s", want, n.stdout)
	}
	// The record is what go-ethereum would read: ip and tcp entries.
	rec, err := enode.Parse(enode.ValidSchemes, self.String())
	if err != nil || rec.IPAddr() != fakeExtIP || rec.TCP() != int(port) || rec.UDP() != int(port) {
		t.Errorf("ENR %s: ip %v tcp %d udp %d, err %v", self.String(), rec.IPAddr(), rec.TCP(), rec.UDP(), err)
	}
	for _, op := range []byte{pmpOpTCP, pmpOpUDP} {
		if m, ok := gw.mapping(op, port); !ok || m.ext != port || m.lifetime == 0 {
			t.Errorf("gateway holds %+v (ok=%v) for op %d port %d", m, ok, op, port)
		}
	}

	var st admin.NATInfo
	rpcCall(t, n.d.url("http"), &st, "admin_natStatus")
	if st.Spec != "pmp:"+gw.addr.String() || st.Mechanism != "NAT-PMP("+gw.addr.String()+")" || st.ExternalIP != fakeExtIP.String() {
		t.Errorf("admin_natStatus = %+v", st)
	}
	if len(st.Mappings) != 2 || st.Mappings[0].Protocol != "tcp" || st.Mappings[1].Protocol != "udp" {
		t.Fatalf("admin_natStatus mappings = %+v", st.Mappings)
	}
	for _, m := range st.Mappings {
		if !m.Mapped || m.InternalPort != int(port) || m.External != netip.AddrPortFrom(fakeExtIP, port).String() ||
			m.ExpiresInSeconds < 500 || m.NextAttemptInSeconds < 60 || m.Failures != 0 || m.LastError != "" {
			t.Errorf("mapping %+v", m)
		}
	}

	if err := n.stop(t); err != nil {
		t.Fatal(err)
	}
	for _, op := range []byte{pmpOpTCP, pmpOpUDP} {
		if m, ok := gw.mapping(op, port); ok {
			t.Errorf("gateway still holds %+v for op %d after the node stopped", m, op)
		}
	}
	if !strings.Contains(n.stderr.String(), "Port mapping deleted") {
		t.Errorf("logs do not show the mappings deleted:\n%s", n.stderr)
	}
}

// A gateway that grants other external ports: the record carries them.
func TestNodeNATPMPAlternativePort(t *testing.T) {
	gw := newFakePMP(t)
	port := freePort(t)
	p, _ := strconv.Atoi(port)
	gw.set(func(g *fakePMP) { g.taken[uint16(p)] = true })
	n := startNode(t, nodeArgs(t, "--nat", "natpmp:"+gw.addr.String(), "--port", port)...)
	tcp, ok1 := gw.mapping(pmpOpTCP, uint16(p))
	udp, ok2 := gw.mapping(pmpOpUDP, uint16(p))
	if !ok1 || !ok2 || tcp.ext == uint16(p) || udp.ext == uint16(p) {
		t.Fatalf("gateway mappings tcp %+v udp %+v (ok=%v,%v), want other ports than %d", tcp, udp, ok1, ok2, p)
	}
	self := n.d.srv.Self()
	if self.IPAddr() != fakeExtIP || self.TCP() != int(tcp.ext) || self.UDP() != int(udp.ext) {
		t.Errorf("record endpoint %v tcp %d udp %d, want %v tcp %d udp %d", self.IPAddr(), self.TCP(), self.UDP(), fakeExtIP, tcp.ext, udp.ext)
	}
	if addr := n.d.srv.NodeInfo().ListenAddr; !strings.HasSuffix(addr, ":"+port) {
		t.Errorf("listening on %s, want the internal port %s", addr, port)
	}
	n.stop(t)
	for _, op := range []byte{pmpOpTCP, pmpOpUDP} {
		if _, ok := gw.mapping(op, uint16(p)); ok {
			t.Errorf("mapping for op %d not deleted at stop", op)
		}
	}
}

// A gateway that does not answer: the node starts after the first attempt
// failed, keeps its local address and reports the failure. With
// --nodiscover only the TCP port is mapped.
func TestNodeNATPMPNoAnswer(t *testing.T) {
	gw := newFakePMP(t)
	gw.set(func(g *fakePMP) { g.silent = true })
	start := time.Now()
	n := startNode(t, nodeArgs(t, "--nat", "pmp:"+gw.addr.String(), "--nodiscover", "--http", "--http.port", "0")...)
	if d := time.Since(start); d > natStartWait+5*time.Second {
		t.Errorf("start took %v", d)
	}
	if ip := n.d.srv.Self().IPAddr(); ip == fakeExtIP {
		t.Errorf("record IP %v without an answer from the gateway", ip)
	}
	var st admin.NATInfo
	rpcCall(t, n.d.url("http"), &st, "admin_natStatus")
	if len(st.Mappings) != 1 || st.Mappings[0].Mapped || st.Mappings[0].Failures == 0 || st.Mappings[0].LastError == "" || st.ExternalIP != "" {
		t.Errorf("admin_natStatus = %+v", st)
	}
	if !strings.Contains(n.stderr.String(), "Port mapping failed") {
		t.Errorf("logs do not show the failure:\n%s", n.stderr)
	}
}

// Without --nat, admin_natStatus says so; extip has no mappings.
func TestNodeNATStatusNoneAndExtIP(t *testing.T) {
	for _, tc := range []struct{ spec, mech, ip string }{
		{"none", "none", ""},
		{"extip:203.0.113.9", "ExtIP(203.0.113.9)", "203.0.113.9"},
	} {
		n := startNode(t, nodeArgs(t, "--nat", tc.spec, "--http", "--http.port", "0")...)
		var st admin.NATInfo
		rpcCall(t, n.d.url("http"), &st, "admin_natStatus")
		if st.Spec != tc.spec || st.Mechanism != tc.mech || st.ExternalIP != tc.ip || st.Mappings == nil || len(st.Mappings) != 0 {
			t.Errorf("--nat %s: admin_natStatus = %+v", tc.spec, st)
		}
		n.stop(t)
	}
}

// Code below here is the framework for the tests above.

// fakeExtIP is the fake gateway's external address.
var fakeExtIP = netip.MustParseAddr("203.0.113.7")

// NAT-PMP opcodes (RFC 6886 §3.2, §3.3).
const (
	pmpOpExternal = 0
	pmpOpUDP      = 1
	pmpOpTCP      = 2
)

// fakePMP is a NAT-PMP gateway (RFC 6886) on a loopback address, after the
// one in the nat package's tests. The client library always sends to port
// 5351, so each fake listens on port 5351 of its own address in
// 127.0.0.0/8 (all of which reach the loopback interface on Linux); the
// address goes into --nat pmp:<IP>.
type fakePMP struct {
	t    *testing.T
	conn *net.UDPConn
	addr netip.Addr
	done chan struct{}

	mu       sync.Mutex // guards following
	silent   bool       // drop every request
	mappings map[pmpKey]pmpMapping
	taken    map[uint16]bool // external ports held by other hosts
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
		done:     make(chan struct{}),
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
// 127.0.0.1. It skips the test if it cannot.
func listenPMP(t *testing.T) *net.UDPConn {
	var lastErr error
	for range 20 {
		ip := netip.AddrFrom4([4]byte{127, byte(1 + rand.IntN(254)), byte(rand.IntN(256)), byte(2 + rand.IntN(253))})
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
	if g.silent || len(req) < 2 {
		return nil
	}
	op := req[1]
	header := func(size int, code uint16) []byte {
		resp := make([]byte, size)
		resp[1] = 128 + op
		binary.BigEndian.PutUint16(resp[2:], code)
		binary.BigEndian.PutUint32(resp[4:], 1000) // seconds since the gateway started
		return resp
	}
	switch {
	case req[0] != 0:
		return header(8, 1) // §3.5: Unsupported Version
	case op == pmpOpExternal && len(req) == 2:
		resp := header(12, 0)
		ip := fakeExtIP.As4()
		copy(resp[8:], ip[:])
		return resp
	case (op == pmpOpUDP || op == pmpOpTCP) && len(req) == 12:
		resp := header(16, 0)
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
