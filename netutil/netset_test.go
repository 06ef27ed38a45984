package netutil

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

func TestDistinctNetSet(t *testing.T) {
	t.Parallel()
	ops := []struct {
		add, remove string
		fails       bool
	}{
		{add: "127.0.0.1"},
		{add: "127.0.0.2"},
		{add: "127.0.0.3", fails: true},
		{add: "127.32.0.1"},
		{add: "127.32.0.2"},
		{add: "127.32.0.3", fails: true},
		{add: "127.33.0.1", fails: true},
		{add: "127.34.0.1"},
		{add: "127.34.0.2"},
		{add: "127.34.0.3", fails: true},
		// Make room for an address, then add again.
		{remove: "127.0.0.1"},
		{add: "127.0.0.3"},
		{add: "127.0.0.3", fails: true},
	}
	set := DistinctNetSet{Subnet: 15, Limit: 2}
	for _, op := range ops {
		if op.add != "" {
			if ok := set.Add(netip.MustParseAddr(op.add)); ok != !op.fails {
				t.Errorf("Add(%s) = %t, want %t (set %v)", op.add, ok, !op.fails, &set)
			}
		} else {
			set.Remove(netip.MustParseAddr(op.remove))
		}
	}
	if set.Len() != 6 {
		t.Errorf("Len = %d, want 6", set.Len())
	}
	if want := "{127.0.0.0/15×2 127.32.0.0/15×2 127.34.0.0/15×2}"; set.String() != want {
		t.Errorf("String = %q, want %q", set.String(), want)
	}
}

func TestDistinctNetSetTotal(t *testing.T) {
	t.Parallel()
	set := DistinctNetSet{Subnet: 24, Limit: 2, Total: 3}
	steps := []struct {
		ip   string
		want bool
	}{
		{"10.0.0.1", true},
		{"10.0.0.2", true},
		{"10.0.0.3", false}, // subnet full
		{"10.0.1.1", true},
		{"10.0.2.1", false}, // total reached
	}
	for _, s := range steps {
		if got := set.Add(netip.MustParseAddr(s.ip)); got != s.want {
			t.Errorf("Add(%s) = %t, want %t", s.ip, got, s.want)
		}
	}
	set.Remove(netip.MustParseAddr("10.0.0.9")) // same subnet as .1 and .2
	if !set.Add(netip.MustParseAddr("10.0.2.1")) {
		t.Error("Add after Remove failed")
	}
	if set.Count(netip.MustParseAddr("10.0.0.77")) != 1 {
		t.Errorf("Count(10.0.0.0/24) = %d, want 1", set.Count(netip.MustParseAddr("10.0.0.77")))
	}
}

func TestDistinctNetSetFamilies(t *testing.T) {
	t.Parallel()
	// Like go-ethereum, Subnet applies to IPv6 too.
	set := DistinctNetSet{Subnet: 24, Limit: 1}
	if !set.Add(netip.MustParseAddr("2001:4860::1")) {
		t.Fatal("first IPv6 add failed")
	}
	if set.Add(netip.MustParseAddr("2001:48ff::1")) {
		t.Error("second address in the same IPv6 /24 was added")
	}
	// Mapped addresses count as IPv4.
	if !set.Add(netip.MustParseAddr("::ffff:10.0.0.1")) {
		t.Error("add of mapped address failed")
	}
	if !set.Contains(netip.MustParseAddr("10.0.0.200")) {
		t.Error("Contains(10.0.0.200) = false after adding ::ffff:10.0.0.1")
	}
	if set.Add(netip.MustParseAddr("10.0.0.2")) {
		t.Error("10.0.0.2 added to full subnet")
	}
	if set.Add(netip.Addr{}) {
		t.Error("zero Addr added")
	}
	set.Remove(netip.Addr{})
	if set.Contains(netip.Addr{}) {
		t.Error("set contains the zero Addr")
	}

	// Subnet6 overrides the IPv6 prefix length.
	set6 := DistinctNetSet{Subnet: 24, Subnet6: 64, Limit: 1}
	set6.Add(netip.MustParseAddr("2001:4860::1"))
	if !set6.Add(netip.MustParseAddr("2001:48ff::1")) {
		t.Error("address in a different /64 not added")
	}
	if set6.Add(netip.MustParseAddr("2001:4860::2")) {
		t.Error("address in the same /64 added")
	}

	// Subnet larger than an IPv4 address is clamped.
	set32 := DistinctNetSet{Subnet: 64, Limit: 1}
	if !set32.Add(netip.MustParseAddr("1.2.3.4")) || !set32.Add(netip.MustParseAddr("1.2.3.5")) {
		t.Error("distinct addresses with Subnet 64 not added")
	}
}

func TestDistinctNetSetAddRemove(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		s := DistinctNetSet{Limit: 3, Subnet: 2, Total: 40}
		ips := make([]netip.Addr, 1+rng.IntN(50))
		for i := range ips {
			ips[i] = randomAddr(rng)
			s.Add(ips[i])
		}
		if s.Len() > 40 {
			t.Fatalf("Len %d exceeds total limit", s.Len())
		}
		for _, ip := range ips {
			s.Remove(ip)
		}
		if s.Len() != 0 || len(s.members) != 0 {
			t.Fatalf("set not empty after removing all: %v", &s)
		}
	}
}

func randomAddr(rng *rand.Rand) netip.Addr {
	if rng.IntN(2) == 0 {
		var b [4]byte
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return netip.AddrFrom4(b)
	}
	var b [16]byte
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return netip.AddrFrom16(b)
}
