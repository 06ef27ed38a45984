package v4wire

import (
	"bytes"
	"errors"
	"math"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/devp2p-go/devp2p/crypto"
	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/enr"
	"github.com/devp2p-go/devp2p/rlp"
)

var testKey, _ = crypto.HexToPrivateKey(vectorKey)

func testRecord(t testing.TB) enr.Record {
	var r enr.Record
	r.Set(enr.IPv4(netip.MustParseAddr("10.1.2.3")))
	r.Set(enr.UDP(30303))
	r.Set(enr.TCP(30303))
	r.SetSeq(7)
	if err := enode.SignV4(&r, testKey); err != nil {
		t.Fatal(err)
	}
	return r
}

func roundTripPackets(t testing.TB) []Packet {
	v4 := netip.MustParseAddr("203.0.113.9")
	v6 := netip.MustParseAddr("2001:db8::1")
	tok := bytes.Repeat([]byte{0xab}, 32)
	var nodes []Node
	for i := range MaxNeighbors {
		n := Node{IP: v6, UDP: math.MaxUint16, TCP: uint16(i), ID: Pubkey{byte(i)}}
		if i%2 == 0 {
			n.IP = v4
		}
		nodes = append(nodes, n)
	}
	return []Packet{
		&Ping{Version: 4, From: Endpoint{IP: v4, UDP: 30303, TCP: 30303}, To: Endpoint{IP: v6, UDP: 1}, Expiration: 1 << 40, ENRSeq: 99},
		&Ping{Version: 4, To: Endpoint{IP: v4, UDP: 1}, Expiration: 5},                 // empty from, no seq
		&Ping{Version: 555, Expiration: 5, Rest: []byte{0x01, 0xc2, 0x02, 0x03, 0x80}}, // seq 0 kept before Rest
		&Pong{To: Endpoint{IP: v4, UDP: 30303, TCP: 1}, ReplyTok: tok, Expiration: 77, ENRSeq: 1 << 62},
		&Pong{To: Endpoint{IP: v6, UDP: 30303}, ReplyTok: []byte{}, Expiration: 77, Rest: []byte{0x05}},
		&Findnode{Target: Pubkey{1, 2, 3}, Expiration: math.MaxUint64},
		&Neighbors{Nodes: nodes, Expiration: math.MaxUint64},
		&Neighbors{Expiration: 1},
		&ENRRequest{Expiration: 12345},
		&ENRRequest{Expiration: 12345, Rest: []byte{0x80}},
		&ENRResponse{ReplyTok: tok, Record: testRecord(t)},
	}
}

func TestRoundTrip(t *testing.T) {
	for _, p := range roundTripPackets(t) {
		t.Run(p.Name(), func(t *testing.T) {
			datagram, hash, err := Encode(testKey, p)
			if err != nil {
				t.Fatal(err)
			}
			if len(datagram) > MaxPacketSize {
				t.Fatalf("datagram of %d bytes", len(datagram))
			}
			dec, from, dhash, err := Decode(datagram)
			if err != nil {
				t.Fatal(err)
			}
			if dhash != hash || [32]byte(datagram[:32]) != hash {
				t.Errorf("hash mismatch")
			}
			if from != Pubkey(*testKey.Public()) {
				t.Errorf("wrong sender")
			}
			if !packetsEqual(dec, p) {
				t.Errorf("decoded\n%#v\nwant\n%#v", dec, p)
			}
		})
	}
}

// packetsEqual compares packets, records by their encoding.
func packetsEqual(a, b Packet) bool {
	ra, okA := a.(*ENRResponse)
	rb, okB := b.(*ENRResponse)
	if okA && okB {
		ea, _ := ra.Record.AppendRLP(nil)
		eb, _ := rb.Record.AppendRLP(nil)
		return bytes.Equal(ra.ReplyTok, rb.ReplyTok) && bytes.Equal(ea, eb) && bytes.Equal(ra.Rest, rb.Rest)
	}
	return reflect.DeepEqual(a, b)
}

// TestEncodeMatchesReflection checks the hand-written encoders against the
// reflection encoder on go-ethereum's struct definitions.
func TestEncodeMatchesReflection(t *testing.T) {
	for _, p := range roundTripPackets(t) {
		t.Run(p.Name(), func(t *testing.T) {
			got, err := p.AppendRLP(nil)
			if err != nil {
				t.Fatal(err)
			}
			want, err := rlp.EncodeToBytes(toMirror(p))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("encoding\n%x\nwant\n%x", got, want)
			}
		})
	}
}

func TestUnwrapErrors(t *testing.T) {
	good, _, err := Encode(testKey, &Ping{Version: 4, Expiration: 1})
	if err != nil {
		t.Fatal(err)
	}
	badHash := bytes.Clone(good)
	badHash[len(badHash)-1] ^= 1
	badHashHead := bytes.Clone(good)
	badHashHead[0] ^= 1
	tests := []struct {
		name  string
		input []byte
		want  error
	}{
		{"empty", nil, ErrPacketTooSmall},
		{"head only", good[:HeadSize], ErrPacketTooSmall},
		{"oversized", make([]byte, MaxPacketSize+1), ErrPacketTooLarge},
		{"bad hash (data)", badHash, ErrBadHash},
		{"bad hash (hash)", badHashHead, ErrBadHash},
	}
	for _, test := range tests {
		if _, _, err := Unwrap(test.input); !errors.Is(err, test.want) {
			t.Errorf("%s: Unwrap error %v, want %v", test.name, err, test.want)
		}
		if _, _, _, err := Decode(test.input); !errors.Is(err, test.want) {
			t.Errorf("%s: Decode error %v, want %v", test.name, err, test.want)
		}
	}
}

// rehash fixes the hash of a modified datagram.
func rehash(d []byte) []byte {
	h := crypto.Keccak256(d[HashSize:])
	copy(d, h[:])
	return d
}

func TestBadSignature(t *testing.T) {
	good, _, err := Encode(testKey, &Findnode{Expiration: 1})
	if err != nil {
		t.Fatal(err)
	}
	// r = 0 is not a valid signature.
	zeroR := bytes.Clone(good)
	clear(zeroR[HashSize : HashSize+32])
	if _, _, _, err := Decode(rehash(zeroR)); !errors.Is(err, ErrBadSignature) {
		t.Errorf("r=0: error %v, want %v", err, ErrBadSignature)
	}
	// A bad recovery id.
	badV := bytes.Clone(good)
	badV[HeadSize-1] = 27
	if _, _, _, err := Decode(rehash(badV)); !errors.Is(err, ErrBadSignature) {
		t.Errorf("v=27: error %v, want %v", err, ErrBadSignature)
	}
	// Changing the signed data keeps a valid signature of another key (or
	// none): the sender is never the signer.
	changed := bytes.Clone(good)
	changed[len(changed)-1]++ // expiration 1 -> 2
	_, from, _, err := Decode(rehash(changed))
	if err == nil && from == Pubkey(*testKey.Public()) {
		t.Errorf("modified packet still attributed to the signer")
	}
}

func TestUnknownPacketType(t *testing.T) {
	for _, ptype := range []byte{0, 7, 0xff} {
		d, _, err := Encode(testKey, &ENRRequest{Expiration: 1})
		if err != nil {
			t.Fatal(err)
		}
		d[HeadSize] = ptype
		if _, _, _, err := Decode(rehash(d)); !errors.Is(err, ErrUnknownPacket) {
			t.Errorf("type %d: error %v, want %v", ptype, err, ErrUnknownPacket)
		}
	}
}

// TestTrailingData checks that data after the packet list is ignored
// (EIP-8) but is covered by hash and signature.
func TestTrailingData(t *testing.T) {
	p := &Pong{To: Endpoint{IP: netip.MustParseAddr("1.2.3.4"), UDP: 1}, ReplyTok: make([]byte, 32), Expiration: 9}
	body, _ := p.AppendRLP([]byte{PongPacket})
	body = append(body, 0xff, 0x00, 0xc5) // junk, not even valid RLP
	d := make([]byte, HeadSize, HeadSize+len(body))
	d = append(d, body...)
	digest := crypto.Keccak256(d[HeadSize:])
	sig, err := crypto.Sign(digest[:], testKey)
	if err != nil {
		t.Fatal(err)
	}
	copy(d[HashSize:], sig[:])
	dec, from, _, err := Decode(rehash(d))
	if err != nil {
		t.Fatal(err)
	}
	if from != Pubkey(*testKey.Public()) || !reflect.DeepEqual(dec, p) {
		t.Errorf("got %#v from %x", dec, from[:4])
	}
}

func TestEncodeLimits(t *testing.T) {
	nb := &Neighbors{Nodes: make([]Node, MaxNeighbors+1)}
	if _, _, err := Encode(testKey, nb); !errors.Is(err, ErrTooManyNeighbors) {
		t.Errorf("13 neighbors: error %v", err)
	}
	big := &ENRRequest{Rest: bytes.Repeat([]byte{0x01}, MaxPacketSize)}
	dst := []byte("prefix")
	out, _, err := AppendEncode(dst, testKey, big)
	if !errors.Is(err, ErrPacketTooLarge) {
		t.Errorf("oversized: error %v", err)
	}
	if string(out) != "prefix" {
		t.Errorf("dst modified on error: %q", out)
	}
	if _, _, err := Encode(testKey, &ENRResponse{}); !errors.Is(err, enr.ErrUnsigned) {
		t.Errorf("unsigned record: error %v", err)
	}
}

// TestMaxNeighbors computes how many nodes of the largest encoding (IPv6
// address, maximal ports and expiration) fit in a datagram.
func TestMaxNeighbors(t *testing.T) {
	worst := Node{IP: netip.MustParseAddr("2001:db8::1"), UDP: math.MaxUint16, TCP: math.MaxUint16}
	p := &Neighbors{Expiration: math.MaxUint64}
	fit := 0
	for n := 1; ; n++ {
		p.Nodes = append(p.Nodes, worst)
		data, _ := p.AppendRLP([]byte{NeighborsPacket})
		if HeadSize+len(data) > MaxPacketSize {
			break
		}
		fit = n
	}
	if fit != MaxNeighbors {
		t.Fatalf("%d nodes fit, MaxNeighbors is %d", fit, MaxNeighbors)
	}
	p.Nodes = p.Nodes[:MaxNeighbors]
	if _, _, err := Encode(testKey, p); err != nil {
		t.Fatalf("worst-case packet: %v", err)
	}
}

func TestExpired(t *testing.T) {
	now := time.Unix(1_700_000_000, 500_000_000)
	tests := []struct {
		ts   uint64
		want bool
	}{
		{1_699_999_999, true},
		{1_700_000_000, true}, // go-ethereum: time.Unix(ts, 0).Before(now)
		{1_700_000_001, false},
		{ExpirationFrom(now), false},
		{math.MaxInt64, true}, // out of time.Time's range: expired, as in go-ethereum
		{math.MaxUint64, true},
		{0, true},
	}
	for _, test := range tests {
		if got := Expired(test.ts, now); got != test.want {
			t.Errorf("Expired(%d) = %v, want %v", test.ts, got, test.want)
		}
	}
	if got := ExpirationFrom(now); got != 1_700_000_020 {
		t.Errorf("ExpirationFrom = %d", got)
	}
}

// TestHotPathAllocs checks that encoding into a buffer and the staged
// decoding of Ping, Pong and Findnode allocate nothing beyond what signing
// and recovery allocate inside the crypto package (its cgo back-end
// allocates a few small buffers per call).
func TestHotPathAllocs(t *testing.T) {
	if testing.CoverMode() != "" {
		t.Skip("coverage instrumentation allocates")
	}
	digest := crypto.Keccak256([]byte("x"))
	var sig [65]byte
	signAllocs := testing.AllocsPerRun(20, func() { sig, _ = crypto.Sign(digest[:], testKey) })
	recoverAllocs := testing.AllocsPerRun(20, func() { crypto.Recover(digest[:], sig[:]) })
	t.Logf("crypto allocations: Sign %v, Recover %v", signAllocs, recoverAllocs)
	for _, p := range []Packet{
		&Ping{Version: 4, From: Endpoint{IP: netip.MustParseAddr("1.2.3.4"), UDP: 1, TCP: 2}, Expiration: 1, ENRSeq: 3},
		&Pong{To: Endpoint{IP: netip.MustParseAddr("1.2.3.4"), UDP: 1}, ReplyTok: make([]byte, 32), Expiration: 1, ENRSeq: 3},
		&Findnode{Expiration: 1},
	} {
		buf := make([]byte, 0, MaxPacketSize)
		var d []byte
		if n := testing.AllocsPerRun(20, func() {
			d, _, _ = AppendEncode(buf[:0], testKey, p)
		}); n > signAllocs {
			t.Errorf("AppendEncode(%s): %v allocs", p.Name(), n)
		}
		into := NewPacket(p.Kind())
		if n := testing.AllocsPerRun(20, func() {
			_, data, err := Unwrap(d)
			if err != nil {
				panic(err)
			}
			if err := DecodeData(into, data); err != nil {
				panic(err)
			}
			if _, err := Sender(d); err != nil {
				panic(err)
			}
		}); n > recoverAllocs {
			t.Errorf("decode %s: %v allocs", p.Name(), n)
		}
	}
}

func BenchmarkEncodePing(b *testing.B) {
	p := &Ping{Version: 4, From: Endpoint{IP: netip.MustParseAddr("1.2.3.4"), UDP: 1, TCP: 2}, To: Endpoint{IP: netip.MustParseAddr("5.6.7.8"), UDP: 3}, Expiration: 1, ENRSeq: 3}
	buf := make([]byte, 0, MaxPacketSize)
	b.ReportAllocs()
	for b.Loop() {
		AppendEncode(buf[:0], testKey, p)
	}
}

func BenchmarkDecodePing(b *testing.B) {
	p := &Ping{Version: 4, From: Endpoint{IP: netip.MustParseAddr("1.2.3.4"), UDP: 1, TCP: 2}, To: Endpoint{IP: netip.MustParseAddr("5.6.7.8"), UDP: 3}, Expiration: 1, ENRSeq: 3}
	d, _, _ := Encode(testKey, p)
	var into Ping
	b.ReportAllocs()
	for b.Loop() {
		_, data, _ := Unwrap(d)
		DecodeData(&into, data)
		Sender(d)
	}
}

func BenchmarkDecodeDataNeighbors(b *testing.B) {
	p := roundTripPackets(b)[6].(*Neighbors)
	data, _ := p.AppendRLP(nil)
	var into Neighbors
	b.ReportAllocs()
	for b.Loop() {
		if err := into.UnmarshalRLP(data); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzDecode feeds datagrams to Decode. Decode must never panic; a packet it
// accepts must survive re-encoding. Most mutations break the hash, so each
// input is also decoded with its hash fixed, which lets the fuzzer reach the
// packet decoders, and the packet data is checked against the reflection
// decoder on go-ethereum's structs: both must accept and reject the same
// inputs and agree on the values. Seeds are the vectors and the round-trip
// packets.
func FuzzDecode(f *testing.F) {
	for _, test := range vectorTests {
		f.Add(unhex(test.input))
	}
	for _, p := range roundTripPackets(f) {
		d, _, err := Encode(testKey, p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(d)
	}
	f.Fuzz(func(t *testing.T, datagram []byte) {
		checkDecode(t, datagram)
		if len(datagram) >= MinPacketSize && len(datagram) <= MaxPacketSize {
			fixed := rehash(bytes.Clone(datagram))
			checkDecode(t, fixed)
			checkAgainstMirror(t, fixed[HeadSize], fixed[MinPacketSize:])
		}
	})
}

func checkDecode(t *testing.T, datagram []byte) {
	p, from, hash, err := Decode(datagram)
	if err != nil {
		return
	}
	if hash != [32]byte(datagram[:HashSize]) {
		t.Fatalf("hash %x is not the datagram's", hash)
	}
	if sender, err := Sender(datagram); err != nil || sender != from {
		t.Fatalf("Sender disagrees with Decode: %v", err)
	}
	data, err := p.AppendRLP(nil)
	if err != nil {
		t.Fatalf("re-encoding %s: %v", p.Name(), err)
	}
	again := NewPacket(p.Kind())
	if err := again.UnmarshalRLP(data); err != nil {
		t.Fatalf("decoding re-encoded %s: %v", p.Name(), err)
	}
	if !packetsEqual(p, again) {
		t.Fatalf("re-encoding changed %s:\n%#v\n%#v", p.Name(), p, again)
	}
}
