package enode

import (
	"context"
	"errors"
	"net/netip"
	"testing"

	"github.com/devp2p-go/devp2p/enr"
)

// fakeResolver answers from a map.
type fakeResolver map[string][]netip.Addr

func (r fakeResolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	if network != "ip" {
		return nil, errors.New("wrong network " + network)
	}
	ips, ok := r[host]
	if !ok {
		return nil, errors.New("no such host")
	}
	return ips, nil
}

func TestResolve(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	res := fakeResolver{
		"a.example":    {netip.MustParseAddr("::ffff:8.8.4.4"), netip.MustParseAddr("8.8.8.8"), netip.MustParseAddr("2001:db8::1")},
		"v6.example":   {netip.MustParseAddr("2001:db8::2")},
		"none.example": {},
	}
	n := MustParseV4("enode://" + testKeyHex + "@a.example:30303?discport=30301")

	r, err := Resolve(ctx, n, res)
	if err != nil {
		t.Fatal(err)
	}
	if r.IPAddr() != netip.MustParseAddr("8.8.4.4") || r.TCP() != 30303 || r.UDP() != 30301 {
		t.Errorf("resolved endpoint %v tcp %d udp %d", r.IPAddr(), r.TCP(), r.UDP())
	}
	var ip6 enr.IPv6
	if err := r.Load(&ip6); err != nil || netip.Addr(ip6) != netip.MustParseAddr("2001:db8::1") {
		t.Errorf("ip6 entry %v, %v", netip.Addr(ip6), err)
	}
	if r.Hostname() != "a.example" || r.ID() != n.ID() || r.Seq() != n.Seq() || *r.Pubkey() != *n.Pubkey() {
		t.Error("resolved node lost hostname, ID, seq or key")
	}
	if r.String() != n.String() {
		t.Errorf("resolved NewV4 node prints as %s, want %s", r.String(), n.String())
	}
	if n.IPAddr().IsValid() {
		t.Error("Resolve modified its input")
	}
	// Resolving again with the same answer returns the node itself.
	if r2, err := Resolve(ctx, r, res); err != nil || r2 != r {
		t.Errorf("unchanged resolution: %v, same node %t", err, r2 == r)
	}
	// A family missing from the answer is removed.
	r3, err := Resolve(ctx, r.WithHostname("v6.example"), res)
	if err != nil {
		t.Fatal(err)
	}
	if r3.Record().Has("ip") || r3.IPAddr() != netip.MustParseAddr("2001:db8::2") {
		t.Errorf("after IPv6-only answer: has ip %t, endpoint %v", r3.Record().Has("ip"), r3.IPAddr())
	}

	// Errors.
	if _, err := Resolve(ctx, n.WithHostname("none.example"), res); !errors.Is(err, ErrNoResolvedIP) {
		t.Errorf("empty answer: %v", err)
	}
	if got, err := Resolve(ctx, n.WithHostname("missing.example"), res); err == nil || got == nil {
		t.Errorf("failed lookup: %v, node %v", err, got)
	}
	// No hostname: nothing to do.
	plain := MustParseV4("enode://" + testKeyHex + "@1.2.3.4:1")
	if got, err := Resolve(ctx, plain, res); err != nil || got != plain {
		t.Error("node without hostname was changed")
	}
}

func TestResolveSignedRecord(t *testing.T) {
	t.Parallel()
	key := newKey(t)
	ln := NewLocalNode(key, 0)
	ln.Set(enr.TCP(30303))
	n := ln.Node().WithHostname("a.example")
	r, err := Resolve(context.Background(), n, fakeResolver{"a.example": {netip.MustParseAddr("10.0.0.9")}})
	if err != nil {
		t.Fatal(err)
	}
	if r.IPAddr() != netip.MustParseAddr("10.0.0.9") || r.TCP() != 30303 || r.ID() != n.ID() || r.Seq() != n.Seq() {
		t.Errorf("resolved: ip %v tcp %d", r.IPAddr(), r.TCP())
	}
	if r.Record().IdentityScheme() != "null" || r.Pubkey() == nil {
		t.Errorf("resolved signed node: scheme %q, pubkey %v", r.Record().IdentityScheme(), r.Pubkey())
	}
}

func TestResolveCanceled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	n := MustParseV4("enode://" + testKeyHex + "@unresolvable.invalid:1")
	if _, err := Resolve(ctx, n, nil); err == nil {
		t.Error("lookup with canceled context succeeded")
	}
}
