package enode

import (
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/devp2p-go/devp2p/crypto"
	"github.com/devp2p-go/devp2p/enr"
)

const testKeyHex = "1dd9d65c4552b5eb43d5ad55a2ee3f56c6cbc1c64a5c8d659f51fcd51bace24351232b8d7821617d2b29b54b81cdefb9b3e9c37d7fd5f63270bcc9e1a6f6a439"

func hexPubkey(h string) *crypto.PublicKey {
	k, err := parsePubkey(h)
	if err != nil {
		panic(err)
	}
	return &k
}

// parseNodeTests follows go-ethereum's p2p/enode/urlv4_test.go: the same
// inputs are accepted and rejected with the same messages.
var parseNodeTests = []struct {
	input       string
	wantError   string
	wantResult  *Node
	noRoundTrip bool // String() differs from the input
}{
	// Records
	{
		input: gethTestRecord,
		wantResult: func() *Node {
			key, _ := crypto.HexToPrivateKey("45a915e4d060149eb4365960e6a7a45f334393093061116b197e3240065ff2d8")
			var r enr.Record
			r.Set(enr.IPv4(netip.MustParseAddr("127.0.0.1")))
			r.Set(enr.UDP(30303))
			r.SetSeq(99)
			SignV4(&r, key)
			n, _ := New(ValidSchemes, &r)
			return n
		}(),
	},
	// Invalid records
	{input: "enr:", wantError: "EOF"},
	{input: "enr:x", wantError: "illegal base64 data at input byte 0"},
	{
		input:     "enr:-EmGZm9vYmFyY4JpZIJ2NIJpcIR_AAABiXNlY3AyNTZrMaEDOlFBdkZvqBXtSB_60JEQotNE9sm3jB0Ur8NRw6Ub4z2DdWRwgnZf",
		wantError: enr.ErrInvalidSig.Error(),
	},
	// Complete node URLs with IP address and ports
	{input: "enode://" + testKeyHex + "@127.0.0.1:foo", wantError: "invalid port"},
	{input: "enode://" + testKeyHex + "@127.0.0.1", wantError: "invalid port"},
	{input: "enode://" + testKeyHex + "@127.0.0.1:", wantError: "invalid port"},
	{input: "enode://" + testKeyHex + "@127.0.0.1:65536", wantError: "invalid port"},
	{input: "enode://" + testKeyHex + "@127.0.0.1:-1", wantError: "invalid port"},
	{input: "enode://" + testKeyHex + "@127.0.0.1:3?discport=foo", wantError: "invalid discport in query"},
	{input: "enode://" + testKeyHex + "@127.0.0.1:3?discport=65536", wantError: "invalid discport in query"},
	{input: "enode://" + testKeyHex + "@[::1:3", wantError: "missing ']' in host"},
	{
		input:      "enode://" + testKeyHex + "@127.0.0.1:52150",
		wantResult: NewV4(hexPubkey(testKeyHex), netip.MustParseAddr("127.0.0.1"), 52150, 52150),
	},
	{
		input:      "enode://" + testKeyHex + "@valid.:3",
		wantResult: NewV4(hexPubkey(testKeyHex), netip.Addr{}, 3, 3).WithHostname("valid."),
	},
	{
		input:      "enode://" + testKeyHex + "@bootnode.example.org:30303?discport=30301",
		wantResult: NewV4(hexPubkey(testKeyHex), netip.Addr{}, 30303, 30301).WithHostname("bootnode.example.org"),
	},
	{
		input:      "enode://" + testKeyHex + "@[::]:52150",
		wantResult: NewV4(hexPubkey(testKeyHex), netip.MustParseAddr("::"), 52150, 52150),
	},
	{
		input:      "enode://" + testKeyHex + "@[2001:db8:3c4d:15::abcd:ef12]:52150",
		wantResult: NewV4(hexPubkey(testKeyHex), netip.MustParseAddr("2001:db8:3c4d:15::abcd:ef12"), 52150, 52150),
	},
	{
		input:       "enode://" + testKeyHex + "@[::ffff:10.1.2.3]:52150",
		wantResult:  NewV4(hexPubkey(testKeyHex), netip.MustParseAddr("10.1.2.3"), 52150, 52150),
		noRoundTrip: true, // prints as 10.1.2.3
	},
	{
		input:      "enode://" + testKeyHex + "@127.0.0.1:52150?discport=22334",
		wantResult: NewV4(hexPubkey(testKeyHex), netip.MustParseAddr("127.0.0.1"), 52150, 22334),
	},
	{
		input:      "enode://" + testKeyHex + "@127.0.0.1:0?discport=22334",
		wantResult: NewV4(hexPubkey(testKeyHex), netip.MustParseAddr("127.0.0.1"), 0, 22334),
	},
	{
		// Leading zeros: not an IP address for net.ParseIP, so a host name.
		input:      "enode://" + testKeyHex + "@010.1.2.3:1",
		wantResult: NewV4(hexPubkey(testKeyHex), netip.Addr{}, 1, 1).WithHostname("010.1.2.3"),
	},
	{
		// IPv6 with zone: likewise a host name, as in go-ethereum.
		input:      "enode://" + testKeyHex + "@[fe80::1%25eth0]:1",
		wantResult: NewV4(hexPubkey(testKeyHex), netip.Addr{}, 1, 1).WithHostname("fe80::1%eth0"),
	},
	{
		// No host: no address at all, but the ports are kept.
		input:       "enode://" + testKeyHex + "@:30303",
		wantResult:  NewV4(hexPubkey(testKeyHex), netip.Addr{}, 30303, 30303),
		noRoundTrip: true,
	},
	// Incomplete node URLs with no address
	{
		input:      "enode://" + testKeyHex,
		wantResult: NewV4(hexPubkey(testKeyHex), netip.Addr{}, 0, 0),
	},
	{
		input:       "enode://" + strings.ToUpper(testKeyHex),
		wantResult:  NewV4(hexPubkey(testKeyHex), netip.Addr{}, 0, 0),
		noRoundTrip: true,
	},
	// Invalid URLs
	{input: "", wantError: enr.ErrMissingPrefix.Error()},
	{input: testKeyHex, wantError: enr.ErrMissingPrefix.Error()},
	{input: "01010101", wantError: enr.ErrMissingPrefix.Error()},
	{input: "http://foobar", wantError: enr.ErrMissingPrefix.Error()},
	{input: "://foo", wantError: enr.ErrMissingPrefix.Error()},
	{input: "ENODE://" + testKeyHex + "@1.2.3.4:3", wantError: enr.ErrMissingPrefix.Error()},
	{input: "enode://01010101@123.124.125.126:3", wantError: "invalid public key (wrong length, want 128 hex chars)"},
	{input: "enode://01010101", wantError: "invalid public key (wrong length, want 128 hex chars)"},
	{input: "enode://0101010", wantError: "invalid public key (encoding/hex: odd length hex string)"},
	{input: "enode://" + strings.Repeat("0", 128), wantError: "invalid public key (invalid secp256k1 public key)"},
	{input: "enode://" + strings.Repeat("0", 128) + "@1.2.3.4:3", wantError: "invalid public key (invalid secp256k1 public key)"},
	{input: "enode://" + testKeyHex + ":pw@1.2.3.4:3", wantError: "invalid public key (encoding/hex: invalid byte"},
	{input: "enode://@1.2.3.4:3", wantError: "invalid public key (wrong length, want 128 hex chars)"},
	{input: "enode://1.2.3.4:3", wantError: "does not contain node ID"},
	{input: "enode://" + testKeyHex + "/path", wantError: "does not contain node ID"},
}

func TestParseNode(t *testing.T) {
	t.Parallel()
	for _, test := range parseNodeTests {
		n, err := Parse(ValidSchemes, test.input)
		if test.wantError != "" {
			if err == nil {
				t.Errorf("test %q:\n  got nil error, expected %#q", test.input, test.wantError)
			} else if !strings.Contains(err.Error(), test.wantError) {
				t.Errorf("test %q:\n  got error %#q, expected %#q", test.input, err.Error(), test.wantError)
			}
			continue
		}
		if err != nil {
			t.Errorf("test %q:\n  unexpected error: %v", test.input, err)
			continue
		}
		if !reflect.DeepEqual(n, test.wantResult) {
			t.Errorf("test %q:\n  result mismatch:\ngot:  %#v\nwant: %#v", test.input, n, test.wantResult)
		}
	}
}

func TestNodeURLRoundTrip(t *testing.T) {
	t.Parallel()
	for _, test := range parseNodeTests {
		if test.wantError != "" || test.noRoundTrip {
			continue
		}
		if got := test.wantResult.String(); got != test.input {
			t.Errorf("String() mismatch:\ngot:  %s\nwant: %s", got, test.input)
		}
		if strings.HasPrefix(test.input, "enode://") {
			n, err := ParseV4(test.wantResult.URLv4())
			if err != nil || !reflect.DeepEqual(n, test.wantResult) {
				t.Errorf("ParseV4(URLv4()) of %s: %v", test.input, err)
			}
		}
	}
}

func TestParseV4Forms(t *testing.T) {
	t.Parallel()
	want := NewV4(hexPubkey(testKeyHex), netip.Addr{}, 0, 0)
	// ParseV4 (unlike Parse) accepts a bare key and any case of the scheme.
	for _, in := range []string{testKeyHex, "ENODE://" + testKeyHex, "Enode://" + strings.ToUpper(testKeyHex)} {
		n, err := ParseV4(in)
		if err != nil || !reflect.DeepEqual(n, want) {
			t.Errorf("ParseV4(%q) = %v, %v", in, n, err)
		}
	}
	n, err := ParseV4("ENODE://" + testKeyHex + "@1.2.3.4:3")
	if err != nil || n.IPAddr() != netip.MustParseAddr("1.2.3.4") {
		t.Errorf("upper-case scheme: %v, %v", n, err)
	}
	if _, err := ParseV4("enodex://" + testKeyHex + "@1.2.3.4:3"); err == nil || err.Error() != `invalid URL scheme, want "enode"` {
		t.Errorf("wrong scheme: %v", err)
	}
	var pkErr error
	if _, pkErr = ParseV4("enode://" + strings.Repeat("0", 128)); pkErr == nil {
		t.Fatal("zero key accepted")
	}
	if errors.Unwrap(pkErr) != errInvalidPubkey {
		t.Errorf("key error does not wrap errInvalidPubkey: %v", pkErr)
	}
}

func TestMustParse(t *testing.T) {
	t.Parallel()
	defer func() {
		if r := recover(); r == nil || !strings.HasPrefix(r.(string), "invalid node: ") {
			t.Errorf("MustParse panic value %v", r)
		}
	}()
	if n := MustParseV4("enode://" + testKeyHex + "@1.2.3.4:3"); n.TCP() != 3 {
		t.Error("MustParseV4 gave wrong node")
	}
	MustParse("enode://bad")
}

func TestMustParseV4Panics(t *testing.T) {
	t.Parallel()
	defer func() {
		if r := recover(); r == nil || !strings.HasPrefix(r.(string), "invalid node URL: ") {
			t.Errorf("MustParseV4 panic value %v", r)
		}
	}()
	MustParseV4("enode://bad")
}
