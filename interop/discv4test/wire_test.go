package discv4test

import (
	"bytes"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"net/netip"
	"os"
	"strconv"
	"testing"

	"github.com/devp2p-go/devp2p/crypto"
	"github.com/devp2p-go/devp2p/discover/v4wire"
	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/enr"
	gethcrypto "github.com/ethereum/go-ethereum/crypto"
	gethv4wire "github.com/ethereum/go-ethereum/p2p/discover/v4wire"
	gethrlp "github.com/ethereum/go-ethereum/rlp"
)

// wireKey is the fixed key of the wire tests, so that their datagrams are
// the same in every run.
func wireKey(t testing.TB) keyPair {
	t.Helper()
	k, err := gethcrypto.HexToECDSA("b71c71a67e1177ad4e901695e1b4b9ee17ae16c6668d313eac2f96dbcda3f291")
	if err != nil {
		t.Fatal(err)
	}
	o, err := crypto.PrivateKeyFromBytes(gethcrypto.FromECDSA(k))
	if err != nil {
		t.Fatal(err)
	}
	return keyPair{o, k}
}

// testRecord returns a signed record of ours with the usual entries and an
// application-defined one.
func testRecord(t testing.TB, key keyPair) enr.Record {
	t.Helper()
	var r enr.Record
	r.SetSeq(0x1234567)
	r.Set(enr.IPv4(netip.MustParseAddr("203.0.113.9")))
	r.Set(enr.UDP(30303))
	r.Set(enr.TCP(30304))
	r.Set(enr.WithEntry(implKey, ourImpl))
	r.Set(enr.WithEntry("eth", []any{[]any{[]byte{0xfc, 0x64, 0xec, 0x04}, uint64(0)}}))
	if err := enode.SignV4(&r, key.ours); err != nil {
		t.Fatal(err)
	}
	return r
}

func pubkeyOf(b byte) v4wire.Pubkey {
	var k v4wire.Pubkey
	for i := range k {
		k[i] = b ^ byte(i*7)
	}
	return k
}

// extraElems are extra list elements (EIP-8): an integer, a string and a
// list.
var extraElems = []byte{0x05, 0x85, 'h', 'e', 'l', 'l', 'o', 0xc3, 0x01, 0x02, 0x03}

type wireCase struct {
	name string
	p    v4wire.Packet
}

func wireCases(t testing.TB, key keyPair) []wireCase {
	ep4 := v4wire.Endpoint{IP: netip.MustParseAddr("127.0.0.1"), UDP: 30303, TCP: 30303}
	ep6 := v4wire.Endpoint{IP: netip.MustParseAddr("2001:db8::7"), UDP: 65535, TCP: 1}
	tok := bytes.Repeat([]byte{0xab}, 32)
	const exp = 1_900_000_000
	maxNodes := make([]v4wire.Node, v4wire.MaxNeighbors)
	for i := range maxNodes {
		ip := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, byte(i)})
		maxNodes[i] = v4wire.Node{IP: ip, UDP: 65535, TCP: 65535, ID: pubkeyOf(byte(i))}
	}
	rec := testRecord(t, key)
	return []wireCase{
		{"ping", &v4wire.Ping{Version: 4, From: ep4, To: v4wire.Endpoint{IP: netip.MustParseAddr("10.0.0.1"), UDP: 30304}, Expiration: exp}},
		{"ping-seq", &v4wire.Ping{Version: 4, From: ep4, To: ep4, Expiration: exp, ENRSeq: 1 << 40}},
		{"ping-ipv6", &v4wire.Ping{Version: 4, From: ep6, To: ep6, Expiration: exp, ENRSeq: 1}},
		{"ping-no-endpoints", &v4wire.Ping{Version: 4, Expiration: exp}},
		{"ping-eip8", &v4wire.Ping{Version: 555, From: ep4, To: ep6, Expiration: exp, Rest: extraElems}},
		{"ping-eip8-seq", &v4wire.Ping{Version: 4, From: ep4, To: ep6, Expiration: exp, ENRSeq: 9, Rest: extraElems}},
		{"ping-max", &v4wire.Ping{Version: ^uint64(0), From: ep6, To: ep6, Expiration: ^uint64(0), ENRSeq: ^uint64(0)}},
		{"pong", &v4wire.Pong{To: ep4, ReplyTok: tok, Expiration: exp}},
		{"pong-seq", &v4wire.Pong{To: ep6, ReplyTok: tok, Expiration: exp, ENRSeq: 0xfedcba}},
		{"pong-empty-token", &v4wire.Pong{To: ep4, Expiration: exp, ENRSeq: 1}},
		{"pong-eip8", &v4wire.Pong{To: ep4, ReplyTok: tok, Expiration: exp, Rest: extraElems}},
		{"findnode", &v4wire.Findnode{Target: pubkeyOf(0x55), Expiration: exp}},
		{"findnode-eip8", &v4wire.Findnode{Target: key.pubkey(), Expiration: ^uint64(0), Rest: extraElems}},
		{"neighbors-empty", &v4wire.Neighbors{Expiration: exp}},
		{"neighbors-mixed", &v4wire.Neighbors{Nodes: []v4wire.Node{
			{IP: netip.MustParseAddr("127.0.0.1"), UDP: 30303, TCP: 30303, ID: key.pubkey()},
			{IP: netip.MustParseAddr("::1"), UDP: 1, TCP: 0, ID: pubkeyOf(1)},
			{UDP: 30303, ID: pubkeyOf(2)},
		}, Expiration: exp}},
		{"neighbors-12-max", &v4wire.Neighbors{Nodes: maxNodes, Expiration: ^uint64(0)}},
		{"neighbors-eip8", &v4wire.Neighbors{Nodes: maxNodes[:2], Expiration: exp, Rest: extraElems}},
		{"enrrequest", &v4wire.ENRRequest{Expiration: exp}},
		{"enrrequest-eip8", &v4wire.ENRRequest{Expiration: exp, Rest: extraElems}},
		{"enrresponse", &v4wire.ENRResponse{ReplyTok: tok, Record: rec}},
		{"enrresponse-eip8", &v4wire.ENRResponse{ReplyTok: tok, Record: rec, Rest: extraElems}},
	}
}

// TestGethDiscv4WireCross encodes every packet type with both libraries:
// the datagrams must be byte for byte the same (both sign with RFC 6979
// nonces), and each library must decode the other's datagram to the same
// packet, sender and hash. It includes a Neighbors packet of 12 nodes of
// the largest size, at the size limit.
func TestGethDiscv4WireCross(t *testing.T) {
	key := wireKey(t)
	for _, c := range wireCases(t, key) {
		t.Run(c.name, func(t *testing.T) {
			want := describe(c.p)
			dO, hO, err := encodeWith(implOurs, key, c.p)
			if err != nil {
				t.Fatalf("our Encode: %v", err)
			}
			dG, hG, err := encodeWith(implGeth, key, c.p)
			if err != nil {
				t.Fatalf("go-ethereum's Encode: %v", err)
			}
			if len(dO) > v4wire.MaxPacketSize {
				t.Errorf("datagram of %d bytes, above the limit", len(dO))
			}
			if !bytes.Equal(dO, dG) || hO != hG {
				t.Errorf("datagrams differ:\n ours %x\n geth %x", dO, dG)
			}
			for _, x := range []struct {
				lib impl
				d   []byte
				h   [32]byte
			}{{implOurs, dG, hG}, {implGeth, dO, hO}} {
				p, from, hash, err := decodeWith(x.lib, x.d)
				if err != nil {
					t.Errorf("%s decoder: %v", x.lib, err)
					continue
				}
				if got := describe(p); got != want {
					t.Errorf("%s decoder:\n got %s\nwant %s", x.lib, got, want)
				}
				if from != key.pubkey() || hash != x.h {
					t.Errorf("%s decoder: sender %x hash %x, want %x %x", x.lib, from[:8], hash[:8], key.pubkey().ID().Bytes()[:8], x.h[:8])
				}
			}
			if c.name == "neighbors-12-max" {
				t.Logf("Neighbors with %d nodes of the largest size: %d bytes", len(c.p.(*v4wire.Neighbors).Nodes), len(dO))
			}
		})
	}
}

// TestGethDiscv4WireGethOnly decodes with our v4wire datagrams that only
// go-ethereum's encoder produces.
func TestGethDiscv4WireGethOnly(t *testing.T) {
	key := wireKey(t)
	const exp = 1_900_000_000
	node16 := func(i int) gethv4wire.Node {
		ip := make([]byte, 16)
		ip[0], ip[15] = 0x20, byte(i)
		return gethv4wire.Node{IP: ip, UDP: 65535, TCP: 65535, ID: gethv4wire.Pubkey(pubkeyOf(byte(i)))}
	}
	node4 := func(i int) gethv4wire.Node {
		return gethv4wire.Node{IP: []byte{10, 0, 0, byte(i)}, UDP: 30303, TCP: 30303, ID: gethv4wire.Pubkey(pubkeyOf(byte(i)))}
	}
	mapped := []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1}
	encode := func(t *testing.T, p gethv4wire.Packet) []byte {
		d, _, err := gethv4wire.Encode(key.theirs, p)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	// sameAsGeth decodes d with both libraries and compares.
	sameAsGeth := func(t *testing.T, d []byte) {
		t.Helper()
		po, _, _, errO := decodeWith(implOurs, d)
		pg, _, _, errG := decodeWith(implGeth, d)
		if errO != nil || errG != nil {
			t.Fatalf("ours: %v, go-ethereum: %v", errO, errG)
		}
		if describe(po) != describe(pg) {
			t.Errorf("decoded differently:\n ours %s\n geth %s", describe(po), describe(pg))
		}
	}

	t.Run("neighbors-13-max", func(t *testing.T) {
		// 13 nodes of the largest size exceed the datagram limit:
		// go-ethereum never sends them (it splits at 12), our encoder
		// refuses them, and our decoder drops them by size (go-ethereum's
		// read buffer would cut them and fail the hash).
		var nodes []gethv4wire.Node
		var ours []v4wire.Node
		for i := range 13 {
			nodes = append(nodes, node16(i))
			ours = append(ours, v4wire.Node{IP: netip.AddrFrom16([16]byte(nodes[i].IP)), UDP: 65535, TCP: 65535, ID: v4wire.Pubkey(nodes[i].ID)})
		}
		d := encode(t, &gethv4wire.Neighbors{Nodes: nodes, Expiration: ^uint64(0)})
		if len(d) <= v4wire.MaxPacketSize {
			t.Fatalf("13 nodes take %d bytes", len(d))
		}
		if _, _, err := v4wire.Encode(key.ours, &v4wire.Neighbors{Nodes: ours, Expiration: ^uint64(0)}); !errors.Is(err, v4wire.ErrTooManyNeighbors) {
			t.Errorf("our Encode of 13 nodes: %v, want ErrTooManyNeighbors", err)
		}
		if _, _, _, err := v4wire.Decode(d); !errors.Is(err, v4wire.ErrPacketTooLarge) {
			t.Errorf("our Decode of %d bytes: %v, want ErrPacketTooLarge", len(d), err)
		}
		t.Logf("13 nodes of the largest size: %d bytes", len(d))
	})
	t.Run("neighbors-14-ipv4", func(t *testing.T) {
		// More than 12 small nodes fit in a datagram; go-ethereum's
		// decoder takes them, and so must ours.
		var nodes []gethv4wire.Node
		for i := range 14 {
			nodes = append(nodes, node4(i))
		}
		d := encode(t, &gethv4wire.Neighbors{Nodes: nodes, Expiration: exp})
		if len(d) > v4wire.MaxPacketSize {
			t.Fatalf("14 IPv4 nodes take %d bytes", len(d))
		}
		sameAsGeth(t, d)
	})
	t.Run("ipv4-mapped", func(t *testing.T) {
		ep := gethv4wire.Endpoint{IP: mapped, UDP: 30303, TCP: 30303}
		sameAsGeth(t, encode(t, &gethv4wire.Ping{Version: 4, From: ep, To: ep, Expiration: exp, ENRSeq: 1}))
		sameAsGeth(t, encode(t, &gethv4wire.Neighbors{Nodes: []gethv4wire.Node{{IP: mapped, UDP: 30303, ID: gethv4wire.Pubkey(key.pubkey())}}, Expiration: exp}))
	})
	t.Run("ip-odd-length", func(t *testing.T) {
		ep := gethv4wire.Endpoint{IP: []byte{1, 2, 3, 4, 5}, UDP: 30303, TCP: 30303}
		sameAsGeth(t, encode(t, &gethv4wire.Pong{To: ep, ReplyTok: []byte{1}, Expiration: exp}))
	})
}

// rlpItem is a parsed RLP item that the differential test mutates.
type rlpItem struct {
	list bool
	str  []byte
	kids []*rlpItem
	raw  []byte // if set, encoded verbatim (for non-canonical encodings)
}

func parseRLP(b []byte) (*rlpItem, error) {
	k, content, rest, err := gethrlp.Split(b)
	if err != nil {
		return nil, err
	}
	if len(rest) != 0 {
		return nil, errors.New("trailing data")
	}
	if k != gethrlp.List {
		return &rlpItem{str: bytes.Clone(content)}, nil
	}
	it := &rlpItem{list: true}
	for len(content) > 0 {
		_, _, tail, err := gethrlp.Split(content)
		if err != nil {
			return nil, err
		}
		kid, err := parseRLP(content[:len(content)-len(tail)])
		if err != nil {
			return nil, err
		}
		it.kids = append(it.kids, kid)
		content = tail
	}
	return it, nil
}

func rlpHeader(base byte, size int) []byte {
	if size < 56 {
		return []byte{base + byte(size)}
	}
	var lb []byte
	for s := size; s > 0; s >>= 8 {
		lb = append([]byte{byte(s)}, lb...)
	}
	return append([]byte{base + 55 + byte(len(lb))}, lb...)
}

func (it *rlpItem) encode() []byte {
	switch {
	case it.raw != nil:
		return it.raw
	case it.list:
		var c []byte
		for _, k := range it.kids {
			c = append(c, k.encode()...)
		}
		return append(rlpHeader(0xc0, len(c)), c...)
	case len(it.str) == 1 && it.str[0] < 0x80:
		return []byte{it.str[0]}
	default:
		return append(rlpHeader(0x80, len(it.str)), it.str...)
	}
}

func (it *rlpItem) clone() *rlpItem {
	c := &rlpItem{list: it.list, str: bytes.Clone(it.str), raw: bytes.Clone(it.raw)}
	for _, k := range it.kids {
		c.kids = append(c.kids, k.clone())
	}
	return c
}

// all returns the items of the tree, root first.
func (it *rlpItem) all() []*rlpItem {
	out := []*rlpItem{it}
	for _, k := range it.kids {
		out = append(out, k.all()...)
	}
	return out
}

// randomItem returns one of the values that decoders tend to disagree on.
func randomItem(rng *rand.Rand) *rlpItem {
	str := func(n int) *rlpItem {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return &rlpItem{str: b}
	}
	switch rng.IntN(22) {
	case 0:
		return &rlpItem{str: []byte{}}
	case 1:
		return &rlpItem{str: []byte{0}} // integer with a leading zero byte
	case 2:
		return &rlpItem{str: []byte{byte(rng.IntN(0x80))}}
	case 3:
		return &rlpItem{str: []byte{0, byte(rng.Uint32())}}
	case 4:
		return &rlpItem{str: bytes.Repeat([]byte{0xff}, 8)}
	case 5:
		return &rlpItem{str: append([]byte{1}, make([]byte, 8)...)} // 2^64
	case 6:
		return &rlpItem{str: []byte{1, 0, 0}} // 65536: a port too large
	case 7:
		return &rlpItem{str: []byte{0xff, 0xff}}
	case 8:
		return str(4)
	case 9:
		return str(16)
	case 10:
		return str(5)
	case 11:
		return str(32)
	case 12:
		return str(64)
	case 13:
		return str(65)
	case 14:
		return &rlpItem{list: true}
	case 15:
		return &rlpItem{list: true, kids: []*rlpItem{{str: []byte{1}}}}
	case 16:
		return &rlpItem{list: true, kids: []*rlpItem{str(4), {str: []byte{0x76, 0x5f}}, {str: []byte{0x76, 0x5f}}}}
	case 17:
		return &rlpItem{raw: []byte{0x81, byte(rng.IntN(0x80))}} // non-canonical single byte
	case 18:
		return &rlpItem{raw: []byte{0xb8, 0x01, 0x41}} // long form of a short string
	case 19:
		return &rlpItem{raw: []byte{0xf8, 0x01, 0x80}} // long form of a short list
	case 20:
		return str(1 + rng.IntN(60))
	default:
		return &rlpItem{raw: []byte{0xb9, 0x00, 0x01, 0x41}} // length with a leading zero
	}
}

// mutate changes the tree in one random way.
func mutate(rng *rand.Rand, root *rlpItem) {
	items := root.all()
	var lists []*rlpItem
	for _, it := range items {
		if it.list {
			lists = append(lists, it)
		}
	}
	switch rng.IntN(7) {
	case 0: // replace an item
		if len(items) > 1 {
			*items[1+rng.IntN(len(items)-1)] = *randomItem(rng)
		}
	case 1: // delete an element
		l := lists[rng.IntN(len(lists))]
		if len(l.kids) > 0 {
			i := rng.IntN(len(l.kids))
			l.kids = append(l.kids[:i], l.kids[i+1:]...)
		}
	case 2: // insert an element
		l := lists[rng.IntN(len(lists))]
		i := rng.IntN(len(l.kids) + 1)
		l.kids = append(l.kids[:i], append([]*rlpItem{randomItem(rng)}, l.kids[i:]...)...)
	case 3: // append an element (EIP-8 extras, or too many elements)
		l := lists[rng.IntN(len(lists))]
		l.kids = append(l.kids, randomItem(rng))
	case 4: // lengthen or shorten a string
		it := items[rng.IntN(len(items))]
		if !it.list && it.raw == nil {
			if len(it.str) > 0 && rng.IntN(2) == 0 {
				it.str = it.str[:len(it.str)-1]
			} else {
				it.str = append(it.str, byte(rng.Uint32()))
			}
		}
	case 5: // wrap an item in a list
		if len(items) > 1 {
			it := items[1+rng.IntN(len(items)-1)]
			c := it.clone()
			*it = rlpItem{list: true, kids: []*rlpItem{c}}
		}
	case 6: // duplicate an element
		l := lists[rng.IntN(len(lists))]
		if len(l.kids) > 0 {
			i := rng.IntN(len(l.kids))
			l.kids = append(l.kids[:i+1], append([]*rlpItem{l.kids[i].clone()}, l.kids[i+1:]...)...)
		}
	}
}

// TestGethDiscv4WireDifferential mutates the packet data of every packet
// type (values decoders disagree on: non-canonical integers and headers,
// overflows, wrong lengths, missing and extra elements, lists for strings,
// broken records in ENRResponse), signs the result and checks that both
// decoders accept and reject the same datagrams and decode the accepted ones
// the same way. $DISCV4TEST_SEED picks another sequence of mutations.
func TestGethDiscv4WireDifferential(t *testing.T) {
	key := wireKey(t)
	seed := uint64(1)
	if s := os.Getenv("DISCV4TEST_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatal(err)
		}
	}
	const perCase = 600
	var total, accepted int
	for _, c := range wireCases(t, key) {
		base, _, err := v4wire.Encode(key.ours, c.p)
		if err != nil {
			t.Fatal(err)
		}
		data := base[v4wire.HeadSize+1:]
		tree, err := parseRLP(data)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		rng := rand.New(rand.NewPCG(seed, uint64(len(c.name))))
		mismatches := 0
		for range perCase {
			m := tree.clone()
			for range 1 + rng.IntN(3) {
				mutate(rng, m)
			}
			b := m.encode()
			if rng.IntN(8) == 0 { // data after the list: ignored (EIP-8)
				b = append(b, randomItem(rng).encode()...)
			}
			d := seal(key, c.p.Kind(), b)
			if len(d) > v4wire.MaxPacketSize {
				continue // go-ethereum's read buffer would cut it
			}
			total++
			po, _, _, errO := decodeWith(implOurs, d)
			pg, _, _, errG := decodeWith(implGeth, d)
			var problem string
			switch {
			case (errO == nil) != (errG == nil):
				problem = fmt.Sprintf("ours: %v\ngeth: %v", errO, errG)
				if errO == nil {
					problem = fmt.Sprintf("ours accepts: %s\ngeth: %v", describe(po), errG)
				}
			case errO == nil && describe(po) != describe(pg):
				problem = fmt.Sprintf("decoded differently:\nours: %s\ngeth: %s", describe(po), describe(pg))
			}
			if errO == nil && errG == nil {
				accepted++
			}
			if problem != "" {
				mismatches++
				if mismatches <= 3 {
					t.Errorf("%s: packet data %x\n%s", c.name, b, problem)
				}
			}
		}
		if mismatches > 3 {
			t.Errorf("%s: %d more mismatches", c.name, mismatches-3)
		}
	}
	t.Logf("%d mutated datagrams (seed %d), %d accepted by both decoders, all decided alike", total, seed, accepted)
}

// TestGethDiscv4WireBad checks that both decoders reject the same broken
// datagrams (framing, hash, signature, packet type) and accept the same
// odd but valid ones.
func TestGethDiscv4WireBad(t *testing.T) {
	key, other := wireKey(t), newKey(t)
	ping := &v4wire.Ping{Version: 4, From: v4wire.Endpoint{IP: loopback, UDP: 30303, TCP: 30303}, To: v4wire.Endpoint{IP: loopback, UDP: 30304}, Expiration: 1_900_000_000, ENRSeq: 3}
	valid, _, err := v4wire.Encode(key.ours, ping)
	if err != nil {
		t.Fatal(err)
	}
	data := valid[v4wire.HeadSize+1:]
	edit := func(f func(d []byte) []byte) []byte { return f(bytes.Clone(valid)) }
	padded := func(size int) []byte {
		b := append(bytes.Clone(data), 0x80) // a string after the list: ignored
		pad := size - v4wire.HeadSize - 1 - len(b)
		b = append(b, make([]byte, pad)...) // zero bytes: more ignored data
		return seal(key, v4wire.PingPacket, b)
	}
	oversized := padded(v4wire.MaxPacketSize + 1)

	for _, c := range []struct {
		name   string
		d      []byte
		accept bool
		sender v4wire.Pubkey // if accepted; zero: key's
		// gethAccepts overrides accept for go-ethereum's decoder.
		gethAccepts *bool
	}{
		{name: "valid", d: valid, accept: true},
		{name: "empty", d: nil},
		{name: "head-only", d: valid[:v4wire.HeadSize]},
		{name: "no-data", d: seal(key, v4wire.PingPacket, nil)},
		{name: "bad-hash", d: edit(func(d []byte) []byte { d[5] ^= 1; return d })},
		{name: "data-changed", d: edit(func(d []byte) []byte { d[len(d)-1] ^= 1; return d })},
		{name: "recovery-id-4", d: edit(func(d []byte) []byte { d[v4wire.HeadSize-1] ^= 4; return rehash(d) }), gethAccepts: ptr(gethRecoversBadRecoveryID)},
		{name: "sig-r-zero", d: edit(func(d []byte) []byte { clear(d[32:64]); return rehash(d) })},
		{name: "sig-s-zero", d: edit(func(d []byte) []byte { clear(d[64:96]); return rehash(d) })},
		{name: "sig-high-s", d: edit(highS), accept: true},
		{name: "type-0", d: seal(key, 0, data)},
		{name: "type-7", d: seal(key, 7, data)},
		{name: "type-ff", d: seal(key, 0xff, data)},
		{name: "string-not-list", d: seal(key, v4wire.PingPacket, []byte{0x83, 1, 2, 3})},
		{name: "other-key", d: seal(other, v4wire.PingPacket, data), accept: true, sender: other.pubkey()},
		{name: "trailing-data", d: seal(key, v4wire.PingPacket, append(bytes.Clone(data), 0xde, 0xad)), accept: true},
		{name: "at-size-limit", d: padded(v4wire.MaxPacketSize), accept: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, lib := range []impl{implOurs, implGeth} {
				p, from, _, err := decodeWith(lib, c.d)
				accept := c.accept
				if lib == implGeth && c.gethAccepts != nil {
					accept = *c.gethAccepts
				}
				switch {
				case accept && err != nil:
					t.Errorf("%s decoder rejects it: %v", lib, err)
				case !accept && err == nil:
					t.Errorf("%s decoder accepts it: %s", lib, describe(p))
				case accept:
					want := c.sender
					if want == (v4wire.Pubkey{}) {
						want = key.pubkey()
					}
					if from != want || describe(p) != describe(ping) {
						t.Errorf("%s decoder: %s from %x", lib, describe(p), from[:8])
					}
				}
			}
		})
	}

	// Above the size limit our decoder refuses a datagram that
	// go-ethereum's decoder would take; but go-ethereum reads datagrams
	// into a buffer of MaxPacketSize bytes, which cuts it and fails its
	// hash. Both implementations drop it.
	if _, _, _, err := v4wire.Decode(oversized); !errors.Is(err, v4wire.ErrPacketTooLarge) {
		t.Errorf("our decoder, %d bytes: %v, want ErrPacketTooLarge", len(oversized), err)
	}
	if _, _, _, err := gethv4wire.Decode(oversized[:v4wire.MaxPacketSize]); !errors.Is(err, gethv4wire.ErrBadHash) {
		t.Errorf("go-ethereum's decoder, datagram cut to %d bytes: %v, want ErrBadHash", v4wire.MaxPacketSize, err)
	}
}

// highS replaces the signature (r, s, v) of a datagram with its other valid
// form (r, n-s, v^1), which recovers the same key; libsecp256k1 signs with
// the low s only.
func highS(d []byte) []byte {
	sig := d[32:97]
	s := new(big.Int).SetBytes(sig[32:64])
	s.Sub(gethcrypto.S256().Params().N, s)
	s.FillBytes(sig[32:64])
	sig[64] ^= 1
	return rehash(d)
}

func ptr[T any](v T) *T { return &v }
