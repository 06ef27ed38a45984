package enode

import (
	"net/netip"
	"slices"
	"sync"
	"testing"

	"github.com/devp2p-go/devp2p/enr"
)

func TestLocalNodeSeq(t *testing.T) {
	t.Parallel()
	ln := NewLocalNode(newKey(t), 41)
	var persisted []uint64
	ln.SetSeqListener(func(seq uint64) { persisted = append(persisted, seq) })
	if ln.Seq() != 41 {
		t.Fatalf("initial Seq = %d", ln.Seq())
	}
	n1 := ln.Node()
	if n1.Seq() != 42 || ln.Seq() != 42 {
		t.Errorf("first record seq %d, LocalNode.Seq %d; want 42", n1.Seq(), ln.Seq())
	}
	if ln.Node() != n1 {
		t.Error("Node re-signed without changes")
	}
	// Setting an identical entry changes nothing.
	ln.Set(enr.WithEntry("x", uint(1)))
	n2 := ln.Node()
	if n2.Seq() != 43 {
		t.Errorf("seq after Set = %d, want 43", n2.Seq())
	}
	ln.Set(enr.WithEntry("x", uint(1)))
	if ln.Node() != n2 {
		t.Error("identical Set invalidated the record")
	}
	ln.Delete(enr.WithEntry("x", nil))
	n3 := ln.Node()
	if n3.Seq() != 44 || n3.Record().Has("x") {
		t.Errorf("after Delete: seq %d, has x %t", n3.Seq(), n3.Record().Has("x"))
	}
	ln.Delete(enr.WithEntry("x", nil))
	if ln.Node() != n3 {
		t.Error("Delete of missing key invalidated the record")
	}
	// Several changes between two calls to Node make one new record.
	ln.Set(enr.TCP(1))
	ln.Set(enr.TCP(2))
	ln.Set(enr.WithEntry("y", "z"))
	if n := ln.Node(); n.Seq() != 45 || n.TCP() != 2 {
		t.Errorf("after batch: seq %d tcp %d", n.Seq(), n.TCP())
	}
	if want := []uint64{42, 43, 44, 45}; !slices.Equal(persisted, want) {
		t.Errorf("persisted seqs %v, want %v", persisted, want)
	}
	n := ln.Node()
	if n.ID() != ln.ID() || n.Record().IdentityScheme() != "v4" {
		t.Errorf("node ID %v, LocalNode ID %v", n.ID(), ln.ID())
	}
	if err := n.Record().VerifySignature(ValidSchemes); err != nil {
		t.Errorf("local record does not verify: %v", err)
	}
}

func TestLocalNodeEndpoint(t *testing.T) {
	t.Parallel()
	ln := NewLocalNode(newKey(t), 0)
	var (
		fallback  = netip.MustParseAddr("127.0.0.1")
		static    = netip.MustParseAddr("10.0.0.1")
		predicted = netip.MustParseAddrPort("80.90.100.110:30308")
	)
	check := func(step string, ip netip.Addr, udp int) {
		t.Helper()
		n := ln.Node()
		if n.IPAddr() != ip || n.UDP() != udp {
			t.Errorf("%s: endpoint %v:%d, want %v:%d", step, n.IPAddr(), n.UDP(), ip, udp)
		}
	}
	check("initial", netip.Addr{}, 0)
	ln.SetFallbackIP(fallback)
	ln.SetFallbackUDP(30303)
	check("fallback", fallback, 30303)

	// Nine statements are not enough for a prediction.
	for i := range iptrackMinStatements - 1 {
		from := netip.AddrPortFrom(netip.AddrFrom4([4]byte{1, 2, 3, byte(i)}), 30303)
		ln.UDPContact(from)
		ln.UDPEndpointStatement(from, predicted)
	}
	check("9 statements", fallback, 30303)
	ln.UDPEndpointStatement(netip.MustParseAddrPort("1.2.3.200:30303"), predicted)
	check("10 statements", predicted.Addr(), int(predicted.Port()))

	// A static IP wins over the prediction; the port comes from the fallback.
	ln.SetStaticIP(static)
	check("static", static, 30303)

	// IPv6 is tracked separately; a different UDP port becomes "udp6".
	ln.SetStaticIP(netip.MustParseAddr("fd00::1"))
	n := ln.Node()
	if !n.Record().Has("ip6") || n.Record().Has("udp6") {
		t.Error("static IPv6 not set, or udp6 set with the same port")
	}
	if n.IPAddr() != static {
		t.Errorf("IPv4 static no longer preferred for equal locality: %v", n.IPAddr())
	}
	ln.SetStaticIP(netip.MustParseAddr("2a00:1450::1")) // public IPv6 beats private IPv4
	if ln.Node().IPAddr() != netip.MustParseAddr("2a00:1450::1") {
		t.Errorf("endpoint %v, want the public IPv6", ln.Node().IPAddr())
	}
	// Unspecified addresses are not published.
	var r enr.Record
	ln2 := NewLocalNode(newKey(t), 0)
	ln2.SetFallbackIP(netip.MustParseAddr("0.0.0.0"))
	r = *ln2.Node().Record()
	if r.Has("ip") {
		t.Error("unspecified fallback IP published")
	}
}

func TestLocalNodeConcurrent(t *testing.T) {
	t.Parallel()
	ln := NewLocalNode(newKey(t), 0)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for j := range 50 {
				ln.Set(enr.WithEntry("k", uint(i*1000+j)))
				ln.SetFallbackUDP(j + 1)
			}
		}()
		go func() {
			defer wg.Done()
			prev := uint64(0)
			for range 50 {
				n := ln.Node()
				if n.Seq() < prev {
					t.Errorf("seq went back from %d to %d", prev, n.Seq())
				}
				prev = n.Seq()
			}
		}()
	}
	wg.Wait()
	n := ln.Node()
	if n.Seq() != ln.Seq() {
		t.Errorf("node seq %d, LocalNode seq %d", n.Seq(), ln.Seq())
	}
	if err := n.Record().VerifySignature(ValidSchemes); err != nil {
		t.Error(err)
	}
}

func TestLocalNodeTooBig(t *testing.T) {
	t.Parallel()
	ln := NewLocalNode(newKey(t), 0)
	ln.Set(enr.WithEntry("big", make([]byte, 300)))
	defer func() {
		if recover() == nil {
			t.Error("Node did not panic for a record over the size limit")
		}
		if ln.Seq() != 0 {
			t.Errorf("seq advanced to %d by a failed signing", ln.Seq())
		}
	}()
	ln.Node()
}
