package v4wire

import (
	"errors"
	"testing"

	"github.com/devp2p-go/devp2p/enr"
	"github.com/devp2p-go/devp2p/rlp"
)

// The packet structs of go-ethereum's v4wire, decoded by the rlp package's
// reflection decoder, which accepts and rejects what go-ethereum's does. The
// hand-written decoders must agree with them on every input (see also
// FuzzDecode).

type mEndpoint struct {
	IP       []byte
	UDP, TCP uint16
}

type mNode struct {
	IP       []byte
	UDP, TCP uint16
	ID       [64]byte
}

type mPing struct {
	Version    uint
	From, To   mEndpoint
	Expiration uint64
	ENRSeq     uint64         `rlp:"optional"`
	Rest       []rlp.RawValue `rlp:"tail"`
}

type mPong struct {
	To         mEndpoint
	ReplyTok   []byte
	Expiration uint64
	ENRSeq     uint64         `rlp:"optional"`
	Rest       []rlp.RawValue `rlp:"tail"`
}

type mFindnode struct {
	Target     [64]byte
	Expiration uint64
	Rest       []rlp.RawValue `rlp:"tail"`
}

type mNeighbors struct {
	Nodes      []mNode
	Expiration uint64
	Rest       []rlp.RawValue `rlp:"tail"`
}

type mENRRequest struct {
	Expiration uint64
	Rest       []rlp.RawValue `rlp:"tail"`
}

type mENRResponse struct {
	ReplyTok []byte
	Record   enr.Record
	Rest     []rlp.RawValue `rlp:"tail"`
}

func newMirror(ptype byte) any {
	switch ptype {
	case PingPacket:
		return new(mPing)
	case PongPacket:
		return new(mPong)
	case FindnodePacket:
		return new(mFindnode)
	case NeighborsPacket:
		return new(mNeighbors)
	case ENRRequestPacket:
		return new(mENRRequest)
	case ENRResponsePacket:
		return new(mENRResponse)
	}
	return nil
}

func mirrorIP(e Endpoint) []byte {
	switch {
	case e.IP.Is4():
		a := e.IP.As4()
		return a[:]
	case e.IP.IsValid():
		a := e.IP.As16()
		return a[:]
	}
	return []byte{}
}

func mirrorEndpoint(e Endpoint) mEndpoint { return mEndpoint{mirrorIP(e), e.UDP, e.TCP} }

func mirrorRest(b []byte) []rlp.RawValue {
	var out []rlp.RawValue
	for len(b) > 0 {
		item, rest, err := splitRaw(b)
		if err != nil {
			panic(err)
		}
		out = append(out, rlp.RawValue(item))
		b = rest
	}
	return out
}

// toMirror converts a packet to go-ethereum's struct.
func toMirror(p Packet) any {
	switch p := p.(type) {
	case *Ping:
		return &mPing{uint(p.Version), mirrorEndpoint(p.From), mirrorEndpoint(p.To), p.Expiration, p.ENRSeq, mirrorRest(p.Rest)}
	case *Pong:
		return &mPong{mirrorEndpoint(p.To), p.ReplyTok, p.Expiration, p.ENRSeq, mirrorRest(p.Rest)}
	case *Findnode:
		return &mFindnode{p.Target, p.Expiration, mirrorRest(p.Rest)}
	case *Neighbors:
		m := &mNeighbors{Nodes: []mNode{}, Expiration: p.Expiration, Rest: mirrorRest(p.Rest)}
		for _, n := range p.Nodes {
			m.Nodes = append(m.Nodes, mNode{mirrorIP(Endpoint{IP: n.IP}), n.UDP, n.TCP, n.ID})
		}
		return m
	case *ENRRequest:
		return &mENRRequest{p.Expiration, mirrorRest(p.Rest)}
	case *ENRResponse:
		return &mENRResponse{p.ReplyTok, p.Record, mirrorRest(p.Rest)}
	}
	panic("unknown packet")
}

// checkAgainstMirror decodes data as packet type ptype with both decoders
// and reports a disagreement.
func checkAgainstMirror(t *testing.T, ptype byte, data []byte) {
	t.Helper()
	p := NewPacket(ptype)
	m := newMirror(ptype)
	if p == nil {
		return
	}
	err := DecodeData(p, data)
	_, merr := rlp.DecodeFirst(data, m)
	if (err == nil) != (merr == nil) {
		t.Fatalf("type %d, data %x:\nours:       %v\nreflection: %v", ptype, data, err, merr)
	}
	if err != nil {
		if !errors.Is(err, ErrInvalidPacket) {
			t.Fatalf("error %v does not wrap ErrInvalidPacket", err)
		}
		return
	}
	// Both accepted: the decoded values must be the same. Compare through
	// the encoding of the mirror, which is canonical.
	want, err1 := rlp.EncodeToBytes(m)
	got, err2 := rlp.EncodeToBytes(normalizeMirror(toMirror(p)))
	if err1 != nil || err2 != nil {
		t.Fatalf("encoding: %v, %v", err1, err2)
	}
	want2, _ := rlp.EncodeToBytes(normalizeMirror(m))
	if string(got) != string(want2) {
		t.Fatalf("type %d, data %x: decoded values differ\nours:       %x\nreflection: %x (%x)", ptype, data, got, want2, want)
	}
}

// normalizeMirror maps IP byte strings to the form the netip-based decoder
// keeps: 4 or 16 bytes, IPv4-mapped addresses as 4 bytes, other lengths as
// empty.
func normalizeMirror(m any) any {
	norm := func(ip []byte) []byte {
		return mirrorIP(Endpoint{IP: decodeIP(ip)})
	}
	switch m := m.(type) {
	case *mPing:
		m.From.IP, m.To.IP = norm(m.From.IP), norm(m.To.IP)
	case *mPong:
		m.To.IP = norm(m.To.IP)
	case *mNeighbors:
		for i := range m.Nodes {
			m.Nodes[i].IP = norm(m.Nodes[i].IP)
		}
	}
	return m
}

// Inputs on which decoders typically disagree.
var mirrorTests = []struct {
	ptype byte
	data  string
}{
	{PingPacket, "c0"},
	{PingPacket, "cd04c3808080c380808001 01 8130"}, // wrapped byte in the tail: accepted
	{PingPacket, "ce04c3808080c380808001 01 c28130"},
	{PingPacket, "cc04c3808080c380808001 8130"}, // wrapped byte as enr-seq: rejected
	{PingPacket, "ca04c3808080c380808001"},
	{PingPacket, "cb04c3808080c380808001 02"},
	{PingPacket, "cc04c3808080c380808001 02 03"},
	{PingPacket, "c104"},
	{PingPacket, "cb04c380808 0c3808080 01"},
	{PingPacket, "cc04c3808080c380808001 80"},    // explicit enr-seq 0
	{PingPacket, "cd04c3808080c380808001 8100"},  // non-canonical seq
	{PingPacket, "cc04c3808080c380808001 c0"},    // list seq
	{PingPacket, "cd04c3808080c380808001 01 c0"}, // seq + list tail
	{PingPacket, "cb04c3808080c38080800 1"},      // truncated
	{PingPacket, "cb04c48080808 0c380808001"},    // 4-element endpoint
	{PingPacket, "ca04c28080c380808001"},         // 2-element endpoint
	{PingPacket, "cd04c3838000018080c380808001"}, // 3-byte UDP port
	{PingPacket, "ce04c5830102038080c380808001"}, // 3-byte IP
	{PingPacket, "cc04c48105 8080c380808001"},    // non-canonical 1-byte IP
	{PingPacket, "cb04c3058080c380808001"},       // IP as a single byte
	{PingPacket, "cb04c3c08080c380808001"},       // IP as a list
	{PingPacket, "d4890100000000000000 00c3808080c380808001"},
	{PingPacket, "cc880100000000000000 c3808080c380808001"},
	{PongPacket, "c6c380808080 01"},
	{PongPacket, "c7c3808080 a0"},
	{PongPacket, "c6c3808080 c0 01"},
	{FindnodePacket, "c3 80 01"},
	{FindnodePacket, "c2 8001"},
	{FindnodePacket, "c1 01"},
	{NeighborsPacket, "c2c001"},
	{NeighborsPacket, "c3c00102"},
	{NeighborsPacket, "c28001"},
	{NeighborsPacket, "c6c4c380808001"},
	{NeighborsPacket, "c1c0"},
	{ENRRequestPacket, "c0"},
	{ENRRequestPacket, "c101"},
	{ENRRequestPacket, "c3018180"},
	{ENRRequestPacket, "c3018181"},
	{ENRRequestPacket, "c201"},
	{ENRResponsePacket, "c180"},
	{ENRResponsePacket, "c28001"},
	{ENRResponsePacket, "c380c180"},
	{ENRResponsePacket, "c0"},
	{PingPacket, ""},
	{PingPacket, "80"},
	{PingPacket, "f8"},
}

func TestDecodeMatchesReflection(t *testing.T) {
	for _, test := range mirrorTests {
		checkAgainstMirror(t, test.ptype, unhex(test.data))
	}
	for _, test := range vectorTests {
		d := unhex(test.input)
		checkAgainstMirror(t, d[HeadSize], d[MinPacketSize:])
	}
	for _, p := range roundTripPackets(t) {
		data, _ := p.AppendRLP(nil)
		checkAgainstMirror(t, p.Kind(), data)
	}
}
