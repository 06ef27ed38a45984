package main

import (
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/devp2p-go/devp2p/admin"
	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/nat/nattest"
)

// The node maps its TCP port and the UDP port discovery will use on a
// NAT-PMP gateway, puts the gateway's external address into its record
// before it prints its enode URL, reports the mappings over admin RPC and
// deletes them when it stops.
func TestNodeNATPMP(t *testing.T) {
	gw := nattest.NewPMP(t)
	n := startNode(t, nodeArgs(t, "--nat", "pmp:"+gw.Addr.String(), "--http", "--http.port", "0")...)
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
	for _, op := range []byte{nattest.OpTCP, nattest.OpUDP} {
		if m, ok := gw.Mapping(op, port); !ok || m.Ext != port || m.Lifetime == 0 {
			t.Errorf("gateway holds %+v (ok=%v) for op %d port %d", m, ok, op, port)
		}
	}

	var st admin.NATInfo
	rpcCall(t, n.d.url("http"), &st, "admin_natStatus")
	if st.Spec != "pmp:"+gw.Addr.String() || st.Mechanism != "NAT-PMP("+gw.Addr.String()+")" || st.ExternalIP != fakeExtIP.String() {
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
	for _, op := range []byte{nattest.OpTCP, nattest.OpUDP} {
		if m, ok := gw.Mapping(op, port); ok {
			t.Errorf("gateway still holds %+v for op %d after the node stopped", m, op)
		}
	}
	if !strings.Contains(n.stderr.String(), "Port mapping deleted") {
		t.Errorf("logs do not show the mappings deleted:\n%s", n.stderr)
	}
}

// A gateway that grants other external ports: the record carries them.
func TestNodeNATPMPAlternativePort(t *testing.T) {
	gw := nattest.NewPMP(t)
	port := freePort(t)
	p, _ := strconv.Atoi(port)
	gw.Set(func(g *nattest.PMPState) { g.Taken[uint16(p)] = true })
	n := startNode(t, nodeArgs(t, "--nat", "natpmp:"+gw.Addr.String(), "--port", port)...)
	tcp, ok1 := gw.Mapping(nattest.OpTCP, uint16(p))
	udp, ok2 := gw.Mapping(nattest.OpUDP, uint16(p))
	if !ok1 || !ok2 || tcp.Ext == uint16(p) || udp.Ext == uint16(p) {
		t.Fatalf("gateway mappings tcp %+v udp %+v (ok=%v,%v), want other ports than %d", tcp, udp, ok1, ok2, p)
	}
	self := n.d.srv.Self()
	if self.IPAddr() != fakeExtIP || self.TCP() != int(tcp.Ext) || self.UDP() != int(udp.Ext) {
		t.Errorf("record endpoint %v tcp %d udp %d, want %v tcp %d udp %d", self.IPAddr(), self.TCP(), self.UDP(), fakeExtIP, tcp.Ext, udp.Ext)
	}
	if addr := n.d.srv.NodeInfo().ListenAddr; !strings.HasSuffix(addr, ":"+port) {
		t.Errorf("listening on %s, want the internal port %s", addr, port)
	}
	n.stop(t)
	for _, op := range []byte{nattest.OpTCP, nattest.OpUDP} {
		if _, ok := gw.Mapping(op, uint16(p)); ok {
			t.Errorf("mapping for op %d not deleted at stop", op)
		}
	}
}

// A gateway that does not answer: the node starts after the first attempt
// failed, keeps its local address and reports the failure. With
// --nodiscover only the TCP port is mapped.
func TestNodeNATPMPNoAnswer(t *testing.T) {
	gw := nattest.NewPMP(t)
	gw.Set(func(g *nattest.PMPState) { g.Silent = true })
	start := time.Now()
	n := startNode(t, nodeArgs(t, "--nat", "pmp:"+gw.Addr.String(), "--nodiscover", "--http", "--http.port", "0")...)
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
var fakeExtIP = nattest.DefaultExtIP
