package enode

import (
	"bytes"
	"encoding/hex"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/devp2p-go/devp2p/crypto"
	"github.com/devp2p-go/devp2p/enr"
	"github.com/devp2p-go/devp2p/rlp"
)

// EIP-778 "Test Vectors" (devp2p enr.md; shared/vectors §5).
const (
	eip778Text = "enr:-IS4QHCYrYZbAKWCBRlAy5zzaDZXJBGkcnh4MHcBFZntXNFrdvJjX04jRzjzCBOonrkTfj499SZuOh8R33Ls8RRcy5wBgmlkgnY0gmlwhH8AAAGJc2VjcDI1NmsxoQPKY0yuDUmstAHYpMa2_oxVtw0RW_QAdpzBQA8yWM0xOIN1ZHCCdl8"
	eip778Hex  = "f884b8407098ad865b00a582051940cb9cf36836572411a47278783077011599ed5cd16b76f2635f4e234738f30813a89eb9137e3e3df5266e3a1f11df72ecf1145ccb9c01826964827634826970847f00000189736563703235366b31a103ca634cae0d49acb401d8a4c6b6fe8c55b70d115bf400769cc1400f3258cd31388375647082765f"
	eip778Key  = "b71c71a67e1177ad4e901695e1b4b9ee17ae16c6668d313eac2f96dbcda3f291"
	eip778ID   = "a448f24c6d18e575453db13171562b71999873db5b286df957af199ec94617f7"
)

func TestEIP778Vector(t *testing.T) {
	t.Parallel()
	raw := mustHex(eip778Hex)
	n, err := Parse(ValidSchemes, eip778Text)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if n.ID() != HexID(eip778ID) {
		t.Errorf("ID = %v, want %s", n.ID(), eip778ID)
	}
	if n.Seq() != 1 {
		t.Errorf("Seq = %d, want 1", n.Seq())
	}
	if n.IPAddr() != netip.MustParseAddr("127.0.0.1") || n.UDP() != 30303 || n.TCP() != 0 {
		t.Errorf("endpoint %v udp %d tcp %d", n.IPAddr(), n.UDP(), n.TCP())
	}
	if ep, ok := n.UDPEndpoint(); !ok || ep != netip.MustParseAddrPort("127.0.0.1:30303") {
		t.Errorf("UDPEndpoint = %v, %t", ep, ok)
	}
	if _, ok := n.TCPEndpoint(); ok {
		t.Error("node has a TCP endpoint")
	}
	if err := n.Record().VerifySignature(ValidSchemes); err != nil {
		t.Errorf("VerifySignature: %v", err)
	}
	enc, err := rlp.EncodeToBytes(n.Record())
	if err != nil || !bytes.Equal(enc, raw) {
		t.Errorf("re-encoding: %v\n got %x\nwant %x", err, enc, raw)
	}
	if n.String() != eip778Text {
		t.Errorf("String = %s", n.String())
	}

	// The key signs the same content into a record that verifies, and the
	// node ID is that of the key.
	key, err := crypto.HexToPrivateKey(eip778Key)
	if err != nil {
		t.Fatal(err)
	}
	if PubkeyToIDV4(key.Public()) != n.ID() {
		t.Error("ID of the signing key differs")
	}
	if !bytes.Equal(n.Pubkey()[:], key.Public()[:]) {
		t.Errorf("Pubkey = %x", n.Pubkey()[:])
	}
	var r enr.Record
	r.Set(enr.IPv4(netip.MustParseAddr("127.0.0.1")))
	r.Set(enr.UDP(30303))
	r.SetSeq(1)
	if err := SignV4(&r, key); err != nil {
		t.Fatalf("SignV4: %v", err)
	}
	signed, err := New(ValidSchemes, &r)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if signed.ID() != n.ID() || signed.Seq() != 1 {
		t.Errorf("signed node: id %v seq %d", signed.ID(), signed.Seq())
	}
	if !bytes.Equal(r.AppendContent(nil), n.Record().AppendContent(nil)) {
		t.Error("signed content differs from the vector's")
	}
	// Signatures are deterministic (RFC 6979), so the record is the vector.
	if signed.String() != eip778Text {
		t.Errorf("re-signed record differs from the vector:\n got %s\nwant %s", signed.String(), eip778Text)
	}
}

// go-ethereum's enode test record: key 45a915e4…, 127.0.0.1, UDP 30303, seq 99.
const gethTestRecord = "enr:-IS4QGrdq0ugARp5T2BZ41TrZOqLc_oKvZoPuZP5--anqWE_J-Tucc1xgkOL7qXl0puJgT7qc2KSvcupc4NCb0nr4tdjgmlkgnY0gmlwhH8AAAGJc2VjcDI1NmsxoQM6UUF2Rm-oFe1IH_rQkRCi00T2ybeMHRSvw1HDpRvjPYN1ZHCCdl8"

func TestSignV4Deterministic(t *testing.T) {
	t.Parallel()
	key, _ := crypto.HexToPrivateKey("45a915e4d060149eb4365960e6a7a45f334393093061116b197e3240065ff2d8")
	var r enr.Record
	r.Set(enr.IP(netip.MustParseAddr("127.0.0.1")))
	r.Set(enr.UDP(30303))
	r.SetSeq(99)
	if err := SignV4(&r, key); err != nil {
		t.Fatal(err)
	}
	text, _ := r.MarshalText()
	if string(text) != gethTestRecord {
		t.Errorf("record differs from go-ethereum's:\n got %s\nwant %s", text, gethTestRecord)
	}
}

func TestNewErrors(t *testing.T) {
	t.Parallel()
	key := newKey(t)
	var r enr.Record
	r.Set(enr.UDP(1))
	if err := SignV4(&r, key); err != nil {
		t.Fatal(err)
	}
	good, _ := r.MarshalText()

	// Flip a bit of the signature.
	raw, _ := r.AppendRLP(nil)
	raw[5] ^= 1
	var bad enr.Record
	if err := bad.UnmarshalRLP(raw); err != nil {
		t.Fatal(err)
	}
	if _, err := New(ValidSchemes, &bad); !errors.Is(err, enr.ErrInvalidSig) {
		t.Errorf("bad signature: %v, want ErrInvalidSig", err)
	}
	// A signed record whose content was changed.
	changed := r
	changed.Set(enr.UDP(2))
	changed.SetSig(acceptAll{}, r.Signature())
	if _, err := New(ValidSchemes, &changed); !errors.Is(err, enr.ErrInvalidSig) {
		t.Errorf("changed content: %v, want ErrInvalidSig", err)
	}
	// Unknown scheme.
	other := r
	other.Set(enr.ID("v5"))
	other.SetSig(acceptAll{}, []byte{})
	if _, err := New(ValidSchemes, &other); !errors.Is(err, enr.ErrInvalidSig) {
		t.Errorf("unknown scheme: %v, want ErrInvalidSig", err)
	}
	// Missing and invalid keys.
	nokey := r
	nokey.Delete("secp256k1")
	nokey.SetSig(acceptAll{}, make([]byte, 64))
	if _, err := New(ValidSchemes, &nokey); !enr.IsNotFound(err) {
		t.Errorf("missing key: %v", err)
	}
	offcurve := r
	offcurve.Set(enr.Secp256k1{0x02}) // x = 0 is not on the curve
	offcurve.SetSig(acceptAll{}, make([]byte, 64))
	if _, err := New(ValidSchemes, &offcurve); !errors.Is(err, enr.ErrInvalidSig) {
		t.Errorf("key not on the curve: %v", err)
	}
	// Wrong signature lengths.
	for _, sig := range [][]byte{nil, {}, r.Signature()[:63], append(r.Signature(), 0)} {
		if err := (V4ID{}).Verify(&r, sig); !errors.Is(err, enr.ErrInvalidSig) {
			t.Errorf("%d-byte signature: %v", len(sig), err)
		}
	}
	// The generic path (a scheme that is not V4ID) gives the same node.
	n1, err := New(ValidSchemes, &r)
	if err != nil {
		t.Fatal(err)
	}
	n2, err := New(wrappedScheme{V4ID{}}, &r)
	if err != nil {
		t.Fatal(err)
	}
	if n1.ID() != n2.ID() || *n1.Pubkey() != *n2.Pubkey() || n1.String() != string(good) {
		t.Error("generic path gives a different node")
	}
	// The generic path checks the node address length.
	if _, err := New(wrappedScheme{nullAddrScheme{}}, &r); err == nil || !strings.Contains(err.Error(), "invalid node ID length 0") {
		t.Errorf("empty node address: %v", err)
	}
}

func TestNodeEndpoints(t *testing.T) {
	t.Parallel()
	id := HexID("00000000000000806ad9b61fa5ae014307ebdc964253adcd9f2c0a392aa11abc")
	type entries []enr.Entry
	ip := func(s string) netip.Addr { return netip.MustParseAddr(s) }
	tests := []struct {
		name     string
		entries  entries
		hostname string
		wantIP   netip.Addr
		wantUDP  int
		wantTCP  int
		wantQUIC int
	}{
		{name: "no-addr"},
		{name: "udp-only", entries: entries{enr.UDP(9000)}, wantUDP: 9000},
		{name: "tcp-only", entries: entries{enr.TCP(9000)}, wantTCP: 9000},
		{name: "quic-only", entries: entries{enr.QUIC(9000)}},
		{name: "ipv4-loopback", entries: entries{enr.IPv4(ip("127.0.0.1"))}, wantIP: ip("127.0.0.1")},
		{name: "ipv4-unspecified", entries: entries{enr.IPv4(ip("0.0.0.0"))}, wantIP: ip("0.0.0.0")},
		{name: "ipv4-multicast", entries: entries{enr.IPv4(ip("224.0.0.1")), enr.UDP(1)}, wantUDP: 1},
		{name: "ipv4", entries: entries{enr.IPv4(ip("99.22.33.1"))}, wantIP: ip("99.22.33.1")},
		{name: "ipv6", entries: entries{enr.IPv6(ip("2001::ff00:42:8329"))}, wantIP: ip("2001::ff00:42:8329")},
		{name: "ipv6-mapped", entries: entries{enr.IPv6(ip("::ffff:1.2.3.4")), enr.UDP(1), enr.UDP6(2)}, wantIP: ip("1.2.3.4"), wantUDP: 1},
		{
			name:    "ipv4-loopback-and-ipv6-global",
			entries: entries{enr.IPv4(ip("127.0.0.1")), enr.UDP(30304), enr.IPv6(ip("2001::ff00:42:8329")), enr.UDP6(30306)},
			wantIP:  ip("2001::ff00:42:8329"), wantUDP: 30306,
		},
		{
			name:    "ipv4-unspecified-and-ipv6-loopback",
			entries: entries{enr.IPv4(ip("0.0.0.0")), enr.IPv6(ip("::1"))},
			wantIP:  ip("::1"),
		},
		{
			name:    "ipv4-private-and-ipv6-global",
			entries: entries{enr.IPv4(ip("192.168.2.2")), enr.UDP(30304), enr.TCP(1), enr.IPv6(ip("2001::ff00:42:8329")), enr.UDP6(30306)},
			wantIP:  ip("2001::ff00:42:8329"), wantUDP: 30306, wantTCP: 1,
		},
		{
			name:    "ipv4-link-local-and-ipv6-global",
			entries: entries{enr.IPv4(ip("169.254.2.6")), enr.UDP(30304), enr.IPv6(ip("2001::ff00:42:8329")), enr.UDP6(30306)},
			wantIP:  ip("2001::ff00:42:8329"), wantUDP: 30306,
		},
		{
			name:    "ipv4-private-and-ipv6-private",
			entries: entries{enr.IPv4(ip("192.168.2.2")), enr.UDP(30304), enr.IPv6(ip("fd00::abcd:1")), enr.UDP6(30306)},
			wantIP:  ip("192.168.2.2"), wantUDP: 30304,
		},
		{
			name:    "ipv4-private-and-ipv6-link-local",
			entries: entries{enr.IPv4(ip("192.168.2.2")), enr.UDP(30304), enr.IPv6(ip("fe80::1")), enr.UDP6(30306)},
			wantIP:  ip("192.168.2.2"), wantUDP: 30304,
		},
		{name: "ipv4-quic", entries: entries{enr.IPv4(ip("99.22.33.1")), enr.QUIC(9001)}, wantIP: ip("99.22.33.1"), wantQUIC: 9001},
		{name: "ipv4-quic6", entries: entries{enr.IPv4(ip("99.22.33.1")), enr.QUIC6(9001)}, wantIP: ip("99.22.33.1")},
		{name: "ipv6-quic", entries: entries{enr.IPv6(ip("2001::ff00:42:8329")), enr.QUIC(9001)}, wantIP: ip("2001::ff00:42:8329")},
		{name: "ipv6-quic6", entries: entries{enr.IPv6(ip("2001::ff00:42:8329")), enr.QUIC6(9001)}, wantIP: ip("2001::ff00:42:8329"), wantQUIC: 9001},
		{name: "dns-only", entries: entries{enr.UDP(30303), enr.TCP(30303)}, hostname: "example.com", wantUDP: 30303, wantTCP: 30303},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			var r enr.Record
			for _, e := range test.entries {
				r.Set(e)
			}
			n := SignNull(&r, id)
			if test.hostname != "" {
				n = n.WithHostname(test.hostname)
			}
			if n.IPAddr() != test.wantIP {
				t.Errorf("IP %v, want %v", n.IPAddr(), test.wantIP)
			}
			if test.wantIP.IsValid() != (n.IP() != nil) {
				t.Errorf("IP() = %v", n.IP())
			}
			if n.UDP() != test.wantUDP || n.TCP() != test.wantTCP {
				t.Errorf("UDP %d TCP %d, want %d %d", n.UDP(), n.TCP(), test.wantUDP, test.wantTCP)
			}
			if quic, _ := n.QUICEndpoint(); int(quic.Port()) != test.wantQUIC {
				t.Errorf("QUIC port %d, want %d", quic.Port(), test.wantQUIC)
			}
			if n.Hostname() != test.hostname {
				t.Errorf("Hostname %q", n.Hostname())
			}
			if n.ID() != id {
				t.Errorf("ID %v", n.ID())
			}
		})
	}
}

func TestNodeAccessors(t *testing.T) {
	t.Parallel()
	key := newKey(t)
	ln := NewLocalNode(key, 0)
	ln.SetStaticIP(netip.MustParseAddr("10.0.0.1"))
	ln.SetFallbackUDP(30301)
	ln.Set(enr.TCP(30303))
	n := ln.Node()

	if err := n.ValidateComplete(); err != nil {
		t.Errorf("ValidateComplete: %v", err)
	}
	if !bytes.Equal(n.IP(), []byte{10, 0, 0, 1}) {
		t.Errorf("IP() = %v", n.IP())
	}
	if ep, ok := n.TCPEndpoint(); !ok || ep.String() != "10.0.0.1:30303" {
		t.Errorf("TCPEndpoint = %v", ep)
	}
	// Record returns a copy.
	r := n.Record()
	r.Set(enr.TCP(1))
	if n.TCP() != 30303 || n.Record().IsSigned() == false {
		t.Error("modifying Record() changed the node")
	}
	// Pubkey returns a copy.
	pk := n.Pubkey()
	pk[0]++
	if n.Pubkey()[0] == pk[0] {
		t.Error("modifying Pubkey() changed the node")
	}
	// MarshalText/UnmarshalText round trip.
	text, _ := n.MarshalText()
	var dec Node
	if err := dec.UnmarshalText(text); err != nil || dec.ID() != n.ID() || dec.TCP() != 30303 {
		t.Errorf("text round trip: %v", err)
	}
	if err := dec.UnmarshalText([]byte("enr:xx")); err == nil {
		t.Error("UnmarshalText accepted garbage")
	}

	incomplete := []struct {
		n    *Node
		want string
	}{
		{NewV4(key.Public(), netip.Addr{}, 1, 1), "missing IP address"},
		{NewV4(key.Public(), netip.MustParseAddr("224.0.0.1"), 1, 1), "missing IP address"},
		{NewV4(key.Public(), netip.MustParseAddr("0.0.0.0"), 1, 1), "invalid IP (multicast/unspecified)"},
		{NewV4(key.Public(), netip.MustParseAddr("1.2.3.4"), 1, 0), "missing UDP port"},
		{SignNull(recordWith(enr.IPv4(netip.MustParseAddr("1.2.3.4")), enr.UDP(1)), ID{}), "missing or invalid public key"},
	}
	for _, c := range incomplete {
		if err := c.n.ValidateComplete(); err == nil || err.Error() != c.want {
			t.Errorf("ValidateComplete(%v) = %v, want %q", c.n, err, c.want)
		}
	}
}

func TestNodeString(t *testing.T) {
	t.Parallel()
	key := newKey(t)
	v4 := NewV4(key.Public(), netip.MustParseAddr("1.2.3.4"), 30303, 30301)
	want := "enode://" + hex.EncodeToString(key.Public()[:]) + "@1.2.3.4:30303?discport=30301"
	if v4.String() != want {
		t.Errorf("NewV4 String = %s\nwant %s", v4.String(), want)
	}
	// NewV4 records encode with an empty signature, like go-ethereum's.
	if !v4.Record().IsSigned() || len(v4.Record().Signature()) != 0 || v4.Record().IdentityScheme() != "" {
		t.Error("NewV4 record is not 'signed' with an empty signature and no scheme")
	}
	null := SignNull(new(enr.Record), HexID(eip778ID))
	if !strings.HasPrefix(null.String(), "enr:") {
		t.Errorf("null node String = %s", null.String())
	}
	if want := "enode://null." + eip778ID; null.URLv4() != want {
		t.Errorf("null node URLv4 = %s, want %s", null.URLv4(), want)
	}
	signed := MustParse(eip778Text)
	vkey, _ := crypto.HexToPrivateKey(eip778Key)
	if want := "enode://" + hex.EncodeToString(vkey.Public()[:]) + "@127.0.0.1:0?discport=30303"; signed.URLv4() != want {
		t.Errorf("URLv4 = %s\nwant %s", signed.URLv4(), want)
	}
}

// Code below here is the framework for the tests above.

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func newKey(t testing.TB) *crypto.PrivateKey {
	t.Helper()
	key, err := crypto.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func recordWith(entries ...enr.Entry) *enr.Record {
	var r enr.Record
	for _, e := range entries {
		r.Set(e)
	}
	return &r
}

// wrappedScheme hides the type of a scheme, forcing New's generic path.
type wrappedScheme struct{ s enr.IdentityScheme }

func (w wrappedScheme) Verify(r *enr.Record, sig []byte) error { return w.s.Verify(r, sig) }
func (w wrappedScheme) NodeAddr(r *enr.Record) []byte          { return w.s.NodeAddr(r) }

// nullAddrScheme accepts everything and gives no node address.
type nullAddrScheme struct{}

func (nullAddrScheme) Verify(*enr.Record, []byte) error { return nil }
func (nullAddrScheme) NodeAddr(*enr.Record) []byte      { return nil }
