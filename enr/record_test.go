package enr

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"slices"
	"testing"

	"github.com/devp2p-go/devp2p/rlp"
)

func TestStandardEntriesRoundTrip(t *testing.T) {
	t.Parallel()
	var r Record
	key := Secp256k1{0x02, 1, 2, 3}
	ip4 := netip.MustParseAddr("10.3.58.6")
	ip6 := netip.MustParseAddr("2001:db8:3c4d:15::abcd:ef12")
	r.Set(IDv4)
	r.Set(key)
	r.Set(IPv4(ip4))
	r.Set(IPv6(ip6))
	r.Set(TCP(30303))
	r.Set(UDP(30301))
	r.Set(TCP6(65535))
	r.Set(UDP6(1))
	r.Set(QUIC(0))
	r.Set(QUIC6(9000))

	var (
		id         ID
		gotKey     Secp256k1
		gotIP4     IPv4
		gotIP6     IPv6
		tcp        TCP
		udp        UDP
		tcp6       TCP6
		udp6       UDP6
		quic       QUIC
		quic6      QUIC6
		wantKeys   = []string{"id", "ip", "ip6", "quic", "quic6", "secp256k1", "tcp", "tcp6", "udp", "udp6"}
		loadChecks = []struct {
			e    Entry
			got  any
			want any
		}{
			{&id, &id, IDv4},
			{&gotKey, &gotKey, key},
			{&gotIP4, &gotIP4, IPv4(ip4)},
			{&gotIP6, &gotIP6, IPv6(ip6)},
			{&tcp, &tcp, TCP(30303)},
			{&udp, &udp, UDP(30301)},
			{&tcp6, &tcp6, TCP6(65535)},
			{&udp6, &udp6, UDP6(1)},
			{&quic, &quic, QUIC(0)},
			{&quic6, &quic6, QUIC6(9000)},
		}
	)
	for _, c := range loadChecks {
		if err := r.Load(c.e); err != nil {
			t.Errorf("Load(%s): %v", c.e.ENRKey(), err)
			continue
		}
		if got := reflect.ValueOf(c.got).Elem().Interface(); got != c.want {
			t.Errorf("Load(%s) = %v, want %v", c.e.ENRKey(), got, c.want)
		}
	}
	var keys []string
	for k := range r.Pairs() {
		keys = append(keys, k)
	}
	if !slices.Equal(keys, wantKeys) {
		t.Errorf("keys = %q, want %q", keys, wantKeys)
	}
	if r.IdentityScheme() != "v4" {
		t.Errorf("IdentityScheme = %q", r.IdentityScheme())
	}
}

func TestIPEntry(t *testing.T) {
	t.Parallel()
	var r Record
	r.Set(IP(netip.MustParseAddr("::ffff:1.2.3.4")))
	r.Set(IP(netip.MustParseAddr("fe80::1")))
	var ip4 IPv4
	var ip6 IPv6
	if err := r.Load(&ip4); err != nil || netip.Addr(ip4) != netip.MustParseAddr("1.2.3.4") {
		t.Errorf("ip = %v, %v", netip.Addr(ip4), err)
	}
	if err := r.Load(&ip6); err != nil || netip.Addr(ip6) != netip.MustParseAddr("fe80::1") {
		t.Errorf("ip6 = %v, %v", netip.Addr(ip6), err)
	}
	// An IPv4 value can't be set as IPv4 unless it is one.
	mustPanic(t, "IPv4(v6)", func() { r.Set(IPv4(netip.MustParseAddr("::1"))) })
	mustPanic(t, "IPv6(zero)", func() { r.Set(IPv6(netip.Addr{})) })
	mustPanic(t, "IP(zero)", func() { r.Set(IP(netip.Addr{})) })
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	var r Record
	r.Set(WithEntry("ip", []byte{1, 2, 3, 4, 5}))
	r.Set(WithEntry("udp", uint64(70000)))
	r.Set(WithEntry("tcp", []uint{1}))
	r.Set(WithEntry("secp256k1", []byte{2, 3}))

	var tcp6 TCP6
	err := r.Load(&tcp6)
	if !IsNotFound(err) {
		t.Errorf("missing key: IsNotFound(%v) = false", err)
	}
	if err.Error() != `missing ENR key "tcp6"` {
		t.Errorf("missing key error: %q", err)
	}
	var ke *KeyError
	if !errors.As(err, &ke) || ke.Key != "tcp6" {
		t.Errorf("missing key: not a *KeyError for tcp6: %#v", err)
	}

	ipEntry := IP(netip.MustParseAddr("1.1.1.1"))
	ipEntry2 := &ipEntry
	bad := []Entry{new(IPv4), new(UDP), new(TCP), new(Secp256k1), ipEntry2}
	for _, e := range bad {
		err := r.Load(e)
		if err == nil || IsNotFound(err) {
			t.Errorf("Load(%s) = %v, want decoding error", e.ENRKey(), err)
		}
	}
	var udp UDP
	if err := r.Load(&udp); !errors.Is(err, rlp.ErrUintOverflow) {
		t.Errorf("Load(udp) = %v, want ErrUintOverflow", err)
	}
}

func TestSetSortsAndReplaces(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 7))
	var r Record
	want := make(map[string]uint)
	for i := range 60 {
		k := fmt.Sprintf("k%02d", rng.IntN(30))
		r.Set(WithEntry(k, uint(i)))
		want[k] = uint(i)
	}
	if r.Len() != len(want) {
		t.Fatalf("Len = %d, want %d", r.Len(), len(want))
	}
	var prev string
	i := 0
	for k := range r.Pairs() {
		if i > 0 && k <= prev {
			t.Fatalf("keys not sorted/unique: %q after %q", k, prev)
		}
		var v uint
		if err := r.Load(WithEntry(k, &v)); err != nil || v != want[k] {
			t.Errorf("Load(%s) = %d, %v; want %d", k, v, err, want[k])
		}
		prev = k
		i++
	}
	// Stop early.
	for range r.Pairs() {
		break
	}
}

func TestDelete(t *testing.T) {
	t.Parallel()
	var r Record
	r.Set(UDP(1))
	r.Set(TCP(2))
	signTest(t, &r)
	if r.Delete("quic") {
		t.Error("Delete of missing key returned true")
	}
	if !r.IsSigned() {
		t.Error("Delete of missing key removed the signature")
	}
	cpy := r
	if !r.Delete("tcp") {
		t.Error("Delete(tcp) returned false")
	}
	if r.Has("tcp") || !r.Has("udp") || r.IsSigned() || r.Seq() != 1 {
		t.Errorf("after Delete: has tcp %t, has udp %t, signed %t, seq %d", r.Has("tcp"), r.Has("udp"), r.IsSigned(), r.Seq())
	}
	if !cpy.Has("tcp") || !cpy.IsSigned() {
		t.Error("Delete modified a copy")
	}
}

func TestCopyIndependence(t *testing.T) {
	t.Parallel()
	var r Record
	r.Set(UDP(1))
	r.Set(TCP(2))
	cpy := r
	cpy.Set(UDP(3))
	cpy.Set(WithEntry("a", "x"))
	var udp UDP
	r.Load(&udp)
	if udp != 1 || r.Has("a") {
		t.Errorf("modifying a copy changed the original: udp %d, has a %t", udp, r.Has("a"))
	}
}

func TestSeqAndSignature(t *testing.T) {
	t.Parallel()
	var r Record
	if r.Seq() != 0 || r.IsSigned() || r.Signature() != nil {
		t.Fatal("zero record is not unsigned with seq 0")
	}
	r.Set(UDP(30303))
	if r.Seq() != 0 {
		t.Errorf("Set on unsigned record changed seq to %d", r.Seq())
	}
	signTest(t, &r)
	sig := r.Signature()
	sig[0]++ // must be a copy
	if bytes.Equal(sig, r.Signature()) {
		t.Error("Signature returned internal memory")
	}
	if err := r.VerifySignature(testScheme{}); err != nil {
		t.Errorf("VerifySignature: %v", err)
	}
	r.Set(UDP(30304))
	if r.Seq() != 1 || r.IsSigned() {
		t.Errorf("Set on signed record: seq %d, signed %t; want 1, false", r.Seq(), r.IsSigned())
	}
	if _, err := rlp.EncodeToBytes(&r); !errors.Is(err, ErrUnsigned) {
		t.Errorf("encoding unsigned record: %v, want ErrUnsigned", err)
	}
	if _, err := r.MarshalText(); !errors.Is(err, ErrUnsigned) {
		t.Errorf("MarshalText of unsigned record: %v, want ErrUnsigned", err)
	}
	signTest(t, &r)
	r.SetSeq(42)
	if r.Seq() != 42 || r.IsSigned() {
		t.Errorf("SetSeq: seq %d, signed %t", r.Seq(), r.IsSigned())
	}
	signTest(t, &r)
	if err := r.SetSig(nil, nil); err != nil || r.IsSigned() {
		t.Errorf("SetSig(nil, nil): %v, signed %t", err, r.IsSigned())
	}
	mustPanic(t, "SetSig(nil, sig)", func() { r.SetSig(nil, []byte{1}) })
	mustPanic(t, "SetSig(s, nil)", func() { r.SetSig(testScheme{}, nil) })

	// A failing SetSig leaves the record alone.
	signTest(t, &r)
	before, _ := r.AppendRLP(nil)
	if err := r.SetSig(testScheme{}, []byte("bad")); !errors.Is(err, ErrInvalidSig) {
		t.Errorf("SetSig with bad signature: %v", err)
	}
	after, _ := r.AppendRLP(nil)
	if !bytes.Equal(before, after) {
		t.Error("failed SetSig changed the record")
	}
	// Empty signatures are allowed by schemes that accept them.
	if err := r.SetSig(emptyScheme{}, []byte{}); err != nil || !r.IsSigned() || len(r.Signature()) != 0 {
		t.Errorf("empty signature: %v, signed %t", err, r.IsSigned())
	}
	enc, err := rlp.EncodeToBytes(&r)
	if err != nil {
		t.Fatal(err)
	}
	var dec Record
	if err := rlp.DecodeBytes(enc, &dec); err != nil || !dec.IsSigned() || len(dec.Signature()) != 0 {
		t.Errorf("decoding record with empty signature: %v, signed %t", err, dec.IsSigned())
	}
}

func TestSchemeMap(t *testing.T) {
	t.Parallel()
	m := SchemeMap{"test": testScheme{}}
	var r Record
	r.Set(ID("test"))
	r.Set(WithEntry("testid", []byte("node-a")))
	if err := r.SetSig(m, testScheme{}.sign(&r)); err != nil {
		t.Fatalf("SetSig via map: %v", err)
	}
	if err := r.VerifySignature(m); err != nil {
		t.Errorf("VerifySignature via map: %v", err)
	}
	if addr := m.NodeAddr(&r); !bytes.Equal(addr, testScheme{}.NodeAddr(&r)) || addr == nil {
		t.Errorf("NodeAddr via map = %x", addr)
	}
	var other Record
	other.Set(ID("unknown"))
	if err := m.Verify(&other, nil); !errors.Is(err, ErrInvalidSig) {
		t.Errorf("unknown scheme: %v, want ErrInvalidSig", err)
	}
	if m.NodeAddr(&other) != nil {
		t.Error("NodeAddr of unknown scheme is not nil")
	}
}

// Code below here is the framework for the tests above.

// testScheme is an identity scheme for tests: the signature is the SHA-256 of
// the signed content, the node address the SHA-256 of the "testid" entry.
type testScheme struct{}

func (testScheme) sign(r *Record) []byte {
	h := sha256.Sum256(r.AppendContent(nil))
	return h[:]
}

func (s testScheme) Verify(r *Record, sig []byte) error {
	if !bytes.Equal(sig, s.sign(r)) {
		return ErrInvalidSig
	}
	return nil
}

func (testScheme) NodeAddr(r *Record) []byte {
	var id []byte
	if r.Load(WithEntry("testid", &id)) != nil {
		return nil
	}
	h := sha256.Sum256(id)
	return h[:]
}

// emptyScheme accepts only empty signatures.
type emptyScheme struct{}

func (emptyScheme) Verify(r *Record, sig []byte) error {
	if len(sig) != 0 {
		return ErrInvalidSig
	}
	return nil
}

func (emptyScheme) NodeAddr(r *Record) []byte { return nil }

func signTest(t *testing.T, r *Record) {
	t.Helper()
	if err := r.SetSig(testScheme{}, testScheme{}.sign(r)); err != nil {
		t.Fatalf("SetSig: %v", err)
	}
}

func mustPanic(t *testing.T, what string, fn func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s did not panic", what)
		}
	}()
	fn()
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}
