package enrtest

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/devp2p-go/devp2p/crypto"
	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/enr"
	"github.com/devp2p-go/devp2p/rlp"
	gethcrypto "github.com/ethereum/go-ethereum/crypto"
	gethenode "github.com/ethereum/go-ethereum/p2p/enode"
	gethenr "github.com/ethereum/go-ethereum/p2p/enr"
	gethrlp "github.com/ethereum/go-ethereum/rlp"
)

type keyPair struct {
	ours   *crypto.PrivateKey
	theirs *ecdsa.PrivateKey
}

func newKey(t *testing.T) keyPair {
	t.Helper()
	k, err := gethcrypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	o, err := crypto.PrivateKeyFromBytes(gethcrypto.FromECDSA(k))
	if err != nil {
		t.Fatal(err)
	}
	return keyPair{o, k}
}

// extra is an application-defined entry, stored under a key of its own.
type extra struct {
	Name    string
	Version uint
	Fork    [4]byte
	Tags    []string
}

// recordSpec describes one record to build with either library.
type recordSpec struct {
	name   string
	seq    uint64
	ip4    string
	ip6    string
	tcp    uint16
	udp    uint16
	tcp6   uint16
	udp6   uint16
	extras bool // add arbitrary keys
}

var recordSpecs = []recordSpec{
	{name: "ip4-tcp-udp", seq: 1, ip4: "203.0.113.7", tcp: 30303, udp: 30303},
	{name: "ip4-discport", seq: 7, ip4: "10.3.58.6", tcp: 30303, udp: 30301},
	{name: "ip6-only", seq: 2, ip6: "2001:db8:3c4d:15::abcd:ef12", tcp6: 30303, udp6: 30304},
	{name: "dual-stack", seq: 99, ip4: "127.0.0.1", ip6: "::1", tcp: 1, udp: 65535, tcp6: 2, udp6: 3},
	{name: "udp-only", seq: 1 << 40, ip4: "192.0.2.1", udp: 30303},
	{name: "no-endpoint", seq: 0},
	{name: "extras", seq: 3, ip4: "198.51.100.20", tcp: 30303, udp: 30303, extras: true},
	{name: "extras-ip6", seq: 4, ip6: "fe80::1", udp6: 9000, extras: true},
}

var testExtra = extra{Name: "devp2p-go", Version: 5, Fork: [4]byte{0xfc, 0x64, 0xec, 0x04}, Tags: []string{"a", "bb"}}

func (s recordSpec) ourRecord(t *testing.T, key *crypto.PrivateKey) *enr.Record {
	var r enr.Record
	r.SetSeq(s.seq)
	if s.ip4 != "" {
		r.Set(enr.IPv4(netip.MustParseAddr(s.ip4)))
	}
	if s.ip6 != "" {
		r.Set(enr.IPv6(netip.MustParseAddr(s.ip6)))
	}
	setPort := func(p uint16, e enr.Entry) {
		if p != 0 {
			r.Set(e)
		}
	}
	setPort(s.tcp, enr.TCP(s.tcp))
	setPort(s.udp, enr.UDP(s.udp))
	setPort(s.tcp6, enr.TCP6(s.tcp6))
	setPort(s.udp6, enr.UDP6(s.udp6))
	if s.extras {
		r.Set(enr.WithEntry("eth2", testExtra))
		r.Set(enr.WithEntry("snap", []any{}))
		r.Set(enr.WithEntry("z", uint64(0xdeadbeef)))
		r.Set(enr.WithEntry("attnets", []byte{0xff, 0, 0, 0, 0, 0, 0, 1}))
	}
	if err := enode.SignV4(&r, key); err != nil {
		t.Fatalf("SignV4: %v", err)
	}
	return &r
}

func (s recordSpec) gethRecord(t *testing.T, key *ecdsa.PrivateKey) *gethenr.Record {
	var r gethenr.Record
	r.SetSeq(s.seq)
	if s.ip4 != "" {
		r.Set(gethenr.IPv4Addr(netip.MustParseAddr(s.ip4)))
	}
	if s.ip6 != "" {
		r.Set(gethenr.IPv6Addr(netip.MustParseAddr(s.ip6)))
	}
	setPort := func(p uint16, e gethenr.Entry) {
		if p != 0 {
			r.Set(e)
		}
	}
	setPort(s.tcp, gethenr.TCP(s.tcp))
	setPort(s.udp, gethenr.UDP(s.udp))
	setPort(s.tcp6, gethenr.TCP6(s.tcp6))
	setPort(s.udp6, gethenr.UDP6(s.udp6))
	if s.extras {
		r.Set(gethenr.WithEntry("eth2", testExtra))
		r.Set(gethenr.WithEntry("snap", []any{}))
		r.Set(gethenr.WithEntry("z", uint64(0xdeadbeef)))
		r.Set(gethenr.WithEntry("attnets", []byte{0xff, 0, 0, 0, 0, 0, 0, 1}))
	}
	if err := gethenode.SignV4(&r, key); err != nil {
		t.Fatalf("go-ethereum SignV4: %v", err)
	}
	return &r
}

// compareNodes checks everything both Node types expose.
func compareNodes(t *testing.T, s recordSpec, o *enode.Node, g *gethenode.Node) {
	t.Helper()
	if o.ID() != enode.ID(g.ID()) {
		t.Errorf("node ID: ours %v, go-ethereum %v", o.ID(), g.ID())
	}
	if o.Seq() != g.Seq() || o.Seq() != s.seq {
		t.Errorf("seq: ours %d, go-ethereum %d, want %d", o.Seq(), g.Seq(), s.seq)
	}
	if o.IPAddr() != g.IPAddr() {
		t.Errorf("IP: ours %v, go-ethereum %v", o.IPAddr(), g.IPAddr())
	}
	if o.TCP() != g.TCP() || o.UDP() != g.UDP() {
		t.Errorf("ports: ours tcp %d udp %d, go-ethereum tcp %d udp %d", o.TCP(), o.UDP(), g.TCP(), g.UDP())
	}
	oe, ook := o.TCPEndpoint()
	ge, gok := g.TCPEndpoint()
	if oe != ge || ook != gok {
		t.Errorf("TCP endpoint: ours %v %v, go-ethereum %v %v", oe, ook, ge, gok)
	}
	oe, ook = o.UDPEndpoint()
	ge, gok = g.UDPEndpoint()
	if oe != ge || ook != gok {
		t.Errorf("UDP endpoint: ours %v %v, go-ethereum %v %v", oe, ook, ge, gok)
	}
	if got, want := o.Pubkey().Uncompressed(), gethcrypto.FromECDSAPub(g.Pubkey()); !bytes.Equal(got[:], want) {
		t.Errorf("public key: ours %x, go-ethereum %x", got, want)
	}
	if o.String() != g.String() {
		t.Errorf("text form:\n ours %s\n geth %s", o.String(), g.String())
	}
	if o.URLv4() != g.URLv4() {
		t.Errorf("enode URL:\n ours %s\n geth %s", o.URLv4(), g.URLv4())
	}
	// The IPv6 entry, read by each side from the record.
	var oip6 enr.IPv6
	var gip6 gethenr.IPv6Addr
	oerr, gerr := o.Load(&oip6), g.Load(&gip6)
	if (oerr == nil) != (gerr == nil) || (oerr == nil && netip.Addr(oip6) != netip.Addr(gip6)) {
		t.Errorf("ip6 entry: ours %v %v, go-ethereum %v %v", netip.Addr(oip6), oerr, netip.Addr(gip6), gerr)
	}
	if s.extras {
		var oe, ge extra
		if err := o.Load(enr.WithEntry("eth2", &oe)); err != nil || fmt.Sprint(oe) != fmt.Sprint(testExtra) {
			t.Errorf("our eth2 entry: %+v, %v", oe, err)
		}
		if err := g.Load(gethenr.WithEntry("eth2", &ge)); err != nil || fmt.Sprint(ge) != fmt.Sprint(testExtra) {
			t.Errorf("go-ethereum eth2 entry: %+v, %v", ge, err)
		}
		var oz, gz uint64
		if o.Load(enr.WithEntry("z", &oz)) != nil || g.Load(gethenr.WithEntry("z", &gz)) != nil || oz != gz || oz != 0xdeadbeef {
			t.Errorf("z entry: ours %x, go-ethereum %x", oz, gz)
		}
	}
}

// TestGethENROursReadByGeth signs records with our enr/enode and has
// go-ethereum parse their text form with enode.ValidSchemes.
func TestGethENROursReadByGeth(t *testing.T) {
	for _, s := range recordSpecs {
		t.Run(s.name, func(t *testing.T) {
			key := newKey(t)
			rec := s.ourRecord(t, key.ours)
			on, err := enode.New(enode.ValidSchemes, rec)
			if err != nil {
				t.Fatalf("our enode.New: %v", err)
			}
			text, err := rec.MarshalText()
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(string(text), "enr:") {
				t.Fatalf("text form %q lacks the enr: prefix", text)
			}
			gn, err := gethenode.Parse(gethenode.ValidSchemes, string(text))
			if err != nil {
				t.Fatalf("go-ethereum rejects our record %s: %v", text, err)
			}
			if gn.ID() != gethenode.PubkeyToIDV4(&key.theirs.PublicKey) {
				t.Errorf("go-ethereum derives ID %x, want %x", gn.ID(), gethenode.PubkeyToIDV4(&key.theirs.PublicKey))
			}
			compareNodes(t, s, on, gn)
			// go-ethereum re-encodes the record to the same bytes.
			ourRLP, err := rec.AppendRLP(nil)
			if err != nil {
				t.Fatal(err)
			}
			gethRLP, err := gethrlp.EncodeToBytes(gn.Record())
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(ourRLP, gethRLP) {
				t.Errorf("record RLP:\n ours %x\n geth %x", ourRLP, gethRLP)
			}
		})
	}
}

// TestGethENRGethReadByOurs signs records with go-ethereum and parses them
// with ours, as text and as RLP.
func TestGethENRGethReadByOurs(t *testing.T) {
	for _, s := range recordSpecs {
		t.Run(s.name, func(t *testing.T) {
			key := newKey(t)
			grec := s.gethRecord(t, key.theirs)
			gn, err := gethenode.New(gethenode.ValidSchemes, grec)
			if err != nil {
				t.Fatal(err)
			}
			text := gn.String()
			on, err := enode.Parse(enode.ValidSchemes, text)
			if err != nil {
				t.Fatalf("ours rejects go-ethereum's record %s: %v", text, err)
			}
			if on.ID() != enode.PubkeyToIDV4(key.ours.Public()) {
				t.Errorf("our ID %x, want %x", on.ID(), enode.PubkeyToIDV4(key.ours.Public()))
			}
			compareNodes(t, s, on, gn)

			// The raw record: parse, check, re-encode.
			rec, err := enr.Parse(text)
			if err != nil {
				t.Fatalf("enr.Parse: %v", err)
			}
			if err := rec.VerifySignature(enode.ValidSchemes); err != nil {
				t.Errorf("our signature check: %v", err)
			}
			if rec.IdentityScheme() != "v4" {
				t.Errorf("identity scheme %q", rec.IdentityScheme())
			}
			gethRLP, _ := gethrlp.EncodeToBytes(grec)
			ourRLP, err := rec.AppendRLP(nil)
			if err != nil || !bytes.Equal(ourRLP, gethRLP) {
				t.Errorf("record RLP: ours %x (%v), geth %x", ourRLP, err, gethRLP)
			}
			var fromRLP enr.Record
			if err := rlp.DecodeBytes(gethRLP, &fromRLP); err != nil {
				t.Errorf("rlp.DecodeBytes of the record: %v", err)
			} else if reText, _ := fromRLP.MarshalText(); string(reText) != text {
				t.Errorf("text after RLP round trip: %s, want %s", reText, text)
			}
			// Every key/value pair as go-ethereum wrote it.
			var pairs []string
			for k, v := range rec.Pairs() {
				pairs = append(pairs, fmt.Sprintf("%s=%x", k, []byte(v)))
			}
			var gpairs []string
			elems, err := gethrlp.SplitListValues(gethRLP)
			if err != nil {
				t.Fatal(err)
			}
			for i := 2; i+1 < len(elems); i += 2 {
				k, _, _ := gethrlp.SplitString(elems[i])
				gpairs = append(gpairs, fmt.Sprintf("%s=%x", k, elems[i+1]))
			}
			if strings.Join(pairs, " ") != strings.Join(gpairs, " ") {
				t.Errorf("pairs:\n ours %v\n geth %v", pairs, gpairs)
			}
		})
	}
}

// TestGethENRInvalid: records both libraries must reject.
func TestGethENRInvalid(t *testing.T) {
	key := newKey(t)
	s := recordSpecs[6]
	grec := s.gethRecord(t, key.theirs)
	good, _ := gethrlp.EncodeToBytes(grec)

	// Flip one bit of the signature, then one bit of the content.
	badSig := bytes.Clone(good)
	badSig[5] ^= 1
	badContent := bytes.Clone(good)
	badContent[len(badContent)-3] ^= 1

	// A record over 300 bytes, otherwise well formed and signed.
	tooBig := signRawPairs(t, key.theirs, 1, [][2]any{{"id", "v4"}, {"pad", bytes.Repeat([]byte{1}, 250)}, {"secp256k1", gethcrypto.CompressPubkey(&key.theirs.PublicKey)}})
	almostBig := signRawPairs(t, key.theirs, 1, [][2]any{{"id", "v4"}, {"pad", bytes.Repeat([]byte{1}, 250+300-len(tooBig))}, {"secp256k1", gethcrypto.CompressPubkey(&key.theirs.PublicKey)}})
	if len(almostBig) != 300 {
		t.Fatalf("300-byte record has %d bytes", len(almostBig))
	}

	// Keys out of order.
	unsorted := signRawPairs(t, key.theirs, 1, [][2]any{{"id", "v4"}, {"secp256k1", gethcrypto.CompressPubkey(&key.theirs.PublicKey)}, {"udp", uint(1)}, {"tcp", uint(2)}})
	// Duplicate key.
	dup := signRawPairs(t, key.theirs, 1, [][2]any{{"id", "v4"}, {"secp256k1", gethcrypto.CompressPubkey(&key.theirs.PublicKey)}, {"tcp", uint(1)}, {"tcp", uint(2)}})
	// Unknown identity scheme.
	unknown := signRawPairs(t, key.theirs, 1, [][2]any{{"id", "v5"}, {"secp256k1", gethcrypto.CompressPubkey(&key.theirs.PublicKey)}})
	// Signed by another key than the one in the record.
	other := newKey(t)
	wrongKey := signRawPairs(t, other.theirs, 1, [][2]any{{"id", "v4"}, {"secp256k1", gethcrypto.CompressPubkey(&key.theirs.PublicKey)}})
	// Sanity: a well-formed record built the same way is accepted by both.
	fine := signRawPairs(t, key.theirs, 1, [][2]any{{"id", "v4"}, {"secp256k1", gethcrypto.CompressPubkey(&key.theirs.PublicKey)}, {"tcp", uint(1)}, {"udp", uint(2)}})

	cases := []struct {
		name   string
		rlp    []byte
		accept bool
	}{
		{"good", good, true},
		{"fine", fine, true},
		{"bad signature", badSig, false},
		{"bad content", badContent, false},
		{"too big", tooBig, false},
		{"300 bytes", almostBig, true},
		{"unsorted keys", unsorted, false},
		{"duplicate key", dup, false},
		{"unknown scheme", unknown, false},
		{"wrong signer", wrongKey, false},
		{"truncated", good[:len(good)-1], false},
		{"empty list", []byte{0xc0}, false},
	}
	for _, c := range cases {
		var gr gethenr.Record
		gerr := gethrlp.DecodeBytes(c.rlp, &gr)
		if gerr == nil {
			_, gerr = gethenode.New(gethenode.ValidSchemes, &gr)
		}
		var or enr.Record
		oerr := rlp.DecodeBytes(c.rlp, &or)
		if oerr == nil {
			_, oerr = enode.New(enode.ValidSchemes, &or)
		}
		if (gerr == nil) != c.accept {
			t.Fatalf("%s: go-ethereum: %v (want accept=%v)", c.name, gerr, c.accept)
		}
		if (oerr == nil) != c.accept {
			t.Errorf("%s: ours: %v; go-ethereum: %v", c.name, oerr, gerr)
		}
	}
}

// signRawPairs builds [sig, seq, k, v, ...] in the order given and signs it.
func signRawPairs(t *testing.T, key *ecdsa.PrivateKey, seq uint64, pairs [][2]any) []byte {
	t.Helper()
	content := []any{seq}
	for _, p := range pairs {
		content = append(content, p[0], p[1])
	}
	enc, err := gethrlp.EncodeToBytes(content)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := gethcrypto.Sign(gethcrypto.Keccak256(enc), key)
	if err != nil {
		t.Fatal(err)
	}
	out, err := gethrlp.EncodeToBytes(append([]any{sig[:64]}, content...))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// ---- enode:// URLs ----

// TestGethENRURLOursReadByGeth formats enode:// URLs with ours and parses
// them with go-ethereum.
func TestGethENRURLOursReadByGeth(t *testing.T) {
	key := newKey(t)
	for _, c := range urlCases {
		t.Run(c.name, func(t *testing.T) {
			var ip netip.Addr
			if c.ip != "" {
				ip = netip.MustParseAddr(c.ip)
			}
			on := enode.NewV4(key.ours.Public(), ip, c.tcp, c.udp)
			url := on.URLv4()
			if c.want != "" && url != fmt.Sprintf(c.want, key.ours.Public()[:]) {
				t.Errorf("our URL %s, want %s", url, fmt.Sprintf(c.want, key.ours.Public()[:]))
			}
			gn, err := gethenode.ParseV4(url)
			if err != nil {
				t.Fatalf("go-ethereum rejects %s: %v", url, err)
			}
			compareV4(t, on, gn)
		})
	}
}

// TestGethENRURLGethReadByOurs formats enode:// URLs with go-ethereum and
// parses them with ours.
func TestGethENRURLGethReadByOurs(t *testing.T) {
	key := newKey(t)
	for _, c := range urlCases {
		t.Run(c.name, func(t *testing.T) {
			var ip net.IP
			if c.ip != "" {
				ip = net.ParseIP(c.ip)
			}
			gn := gethenode.NewV4(&key.theirs.PublicKey, ip, c.tcp, c.udp)
			url := gn.URLv4()
			on, err := enode.ParseV4(url)
			if err != nil {
				t.Fatalf("ours rejects %s: %v", url, err)
			}
			compareV4(t, on, gn)
		})
	}
}

var urlCases = []struct {
	name     string
	ip       string
	tcp, udp int
	want     string // with %x for the key; "" to skip
}{
	{"ip4", "10.3.58.6", 30303, 30303, "enode://%x@10.3.58.6:30303"},
	{"ip4-discport", "10.3.58.6", 30303, 30301, "enode://%x@10.3.58.6:30303?discport=30301"},
	{"ip4-udp-zero", "10.3.58.6", 30303, 0, ""},
	{"ip4-tcp-zero", "10.3.58.6", 0, 30301, ""},
	{"loopback", "127.0.0.1", 1, 65535, "enode://%x@127.0.0.1:1?discport=65535"},
	{"ip6", "2001:db8:3c4d:15::abcd:ef12", 52150, 52150, "enode://%x@[2001:db8:3c4d:15::abcd:ef12]:52150"},
	{"ip6-discport", "2001:db8::1", 30303, 30304, "enode://%x@[2001:db8::1]:30303?discport=30304"},
	{"ip6-loopback", "::1", 30303, 30303, "enode://%x@[::1]:30303"},
	{"ip6-link-local", "fe80::1", 30303, 30303, ""},
	{"ip4-mapped", "::ffff:192.0.2.1", 30303, 30303, "enode://%x@192.0.2.1:30303"},
	{"unspecified", "0.0.0.0", 30303, 30303, ""},
	{"no-ip", "", 0, 0, ""},
}

func compareV4(t *testing.T, o *enode.Node, g *gethenode.Node) {
	t.Helper()
	if o.ID() != enode.ID(g.ID()) {
		t.Errorf("ID: ours %v, go-ethereum %v", o.ID(), g.ID())
	}
	if o.IPAddr() != g.IPAddr() || o.TCP() != g.TCP() || o.UDP() != g.UDP() {
		t.Errorf("endpoint: ours %v tcp %d udp %d, go-ethereum %v tcp %d udp %d", o.IPAddr(), o.TCP(), o.UDP(), g.IPAddr(), g.TCP(), g.UDP())
	}
	if o.URLv4() != g.URLv4() {
		t.Errorf("URL:\n ours %s\n geth %s", o.URLv4(), g.URLv4())
	}
	if o.String() != g.String() {
		t.Errorf("String:\n ours %s\n geth %s", o.String(), g.String())
	}
	if o.Hostname() != g.Hostname() {
		t.Errorf("hostname: ours %q, go-ethereum %q", o.Hostname(), g.Hostname())
	}
	if (o.ValidateComplete() == nil) != (g.ValidateComplete() == nil) {
		t.Errorf("ValidateComplete: ours %v, go-ethereum %v", o.ValidateComplete(), g.ValidateComplete())
	}
}

// TestGethENRURLParse feeds the same URL strings to both parsers: the same
// accept/reject decision and, when accepted, the same node.
func TestGethENRURLParse(t *testing.T) {
	key := newKey(t)
	keyHex := fmt.Sprintf("%x", key.ours.Public()[:])
	inputs := []string{
		"enode://" + keyHex + "@10.3.58.6:30303",
		"enode://" + keyHex + "@10.3.58.6:30303?discport=30301",
		"enode://" + keyHex + "@10.3.58.6:30303?discport=0",
		"enode://" + keyHex + "@10.3.58.6:30303?discport=x",
		"enode://" + keyHex + "@10.3.58.6:30303?discport=70000",
		"enode://" + keyHex + "@[2001:db8:3c4d:15::abcd:ef12]:52150",
		"enode://" + keyHex + "@[::1]:30303?discport=30304",
		"enode://" + keyHex + "@[::ffff:1.2.3.4]:30303",
		"enode://" + keyHex + "@example.org:30303",
		"enode://" + keyHex + "@example.org:30303?discport=30304",
		"enode://" + keyHex + "@localhost:3",
		"enode://" + keyHex,
		"enode://" + keyHex + "@10.3.58.6",
		"enode://" + keyHex + "@10.3.58.6:",
		"enode://" + keyHex + "@10.3.58.6:foo",
		"enode://" + keyHex + "@10.3.58.6:65536",
		"enode://" + keyHex + "@:30303",
		"enode://" + keyHex[:126] + "@10.3.58.6:30303",
		"enode://" + keyHex + "00@10.3.58.6:30303",
		"enode://" + strings.ToUpper(keyHex) + "@10.3.58.6:30303",
		"enode://" + strings.Repeat("0", 128) + "@10.3.58.6:30303",
		"enode://" + strings.Repeat("zz", 64) + "@10.3.58.6:30303",
		"enode://@10.3.58.6:30303",
		"http://" + keyHex + "@10.3.58.6:30303",
		"enode:/" + keyHex + "@10.3.58.6:30303",
		"enode://" + keyHex + "@10.3.58.6:30303/path",
		"enode://" + keyHex + "@10.3.58.6:30303#frag",
		"enode://user:pass@10.3.58.6:30303",
		"",
		"enode://",
		keyHex,
	}
	for _, in := range inputs {
		on, oerr := enode.ParseV4(in)
		gn, gerr := gethenode.ParseV4(in)
		if (oerr == nil) != (gerr == nil) {
			t.Errorf("%s:\n ours: %v\n geth: %v", in, oerr, gerr)
			continue
		}
		if oerr == nil {
			compareV4(t, on, gn)
		}
		// enode.Parse takes both text forms.
		on2, oerr := enode.Parse(enode.ValidSchemes, in)
		gn2, gerr := gethenode.Parse(gethenode.ValidSchemes, in)
		if (oerr == nil) != (gerr == nil) {
			t.Errorf("Parse %s:\n ours: %v\n geth: %v", in, oerr, gerr)
			continue
		}
		if oerr == nil {
			compareV4(t, on2, gn2)
		}
	}
}

// TestGethENRSpecExample parses the example record of EIP-778 with both.
func TestGethENRSpecExample(t *testing.T) {
	const text = "enr:-IS4QHCYrYZbAKWCBRlAy5zzaDZXJBGkcnh4MHcBFZntXNFrdvJjX04jRzjzCBOonrkTfj499SZuOh8R33Ls8RRcy5wBgmlkgnY0gmlwhH8AAAGJc2VjcDI1NmsxoQPKY0yuDUmstAHYpMa2_oxVtw0RW_QAdpzBQA8yWM0xOIN1ZHCCdl8"
	const id = "a448f24c6d18e575453db13171562b71999873db5b286df957af199ec94617f7"
	on, err := enode.Parse(enode.ValidSchemes, text)
	if err != nil {
		t.Fatal(err)
	}
	gn, err := gethenode.Parse(gethenode.ValidSchemes, text)
	if err != nil {
		t.Fatal(err)
	}
	oid, gid := on.ID(), gn.ID()
	if hex.EncodeToString(oid[:]) != id || hex.EncodeToString(gid[:]) != id {
		t.Errorf("IDs: ours %x, go-ethereum %x, want %s", oid[:], gid[:], id)
	}
	compareNodes(t, recordSpec{seq: 1}, on, gn)
}
