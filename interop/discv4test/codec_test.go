package discv4test

import (
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/devp2p-go/devp2p/discover/v4wire"
	"github.com/devp2p-go/devp2p/enr"
	gethcrypto "github.com/ethereum/go-ethereum/crypto"
	gethv4wire "github.com/ethereum/go-ethereum/p2p/discover/v4wire"
	gethrlp "github.com/ethereum/go-ethereum/rlp"
)

// The tests describe packets with our v4wire types; these functions
// convert them to and from go-ethereum's, encode and decode datagrams with
// either library, and describe a packet in one canonical string so that the
// results of both decoders can be compared.

// gethIP returns ip as go-ethereum's v4wire holds it: 4 bytes for IPv4, 16
// for IPv6, nil for none.
func gethIP(ip netip.Addr) net.IP {
	switch {
	case !ip.IsValid():
		return nil
	case ip.Is4():
		a := ip.As4()
		return a[:]
	default:
		a := ip.As16()
		return a[:]
	}
}

// ourIP returns a decoded go-ethereum IP as our v4wire decodes the same
// bytes: IPv4-mapped addresses unmapped, lengths other than 4 and 16 as no
// address.
func ourIP(ip net.IP) netip.Addr {
	switch len(ip) {
	case 4:
		return netip.AddrFrom4([4]byte(ip))
	case 16:
		return netip.AddrFrom16([16]byte(ip)).Unmap()
	}
	return netip.Addr{}
}

func gethEndpoint(e v4wire.Endpoint) gethv4wire.Endpoint {
	return gethv4wire.Endpoint{IP: gethIP(e.IP), UDP: e.UDP, TCP: e.TCP}
}

func ourEndpoint(e gethv4wire.Endpoint) v4wire.Endpoint {
	return v4wire.Endpoint{IP: ourIP(e.IP), UDP: e.UDP, TCP: e.TCP}
}

// gethRest splits encoded extra list elements into go-ethereum's tail.
func gethRest(rest []byte) ([]gethrlp.RawValue, error) {
	var out []gethrlp.RawValue
	for len(rest) > 0 {
		_, _, tail, err := gethrlp.Split(rest)
		if err != nil {
			return nil, err
		}
		out = append(out, gethrlp.RawValue(rest[:len(rest)-len(tail)]))
		rest = tail
	}
	return out, nil
}

func ourRest(rest []gethrlp.RawValue) []byte {
	var out []byte
	for _, r := range rest {
		out = append(out, r...)
	}
	return out
}

// toGethPacket converts a packet of ours to go-ethereum's.
func toGethPacket(p v4wire.Packet) (gethv4wire.Packet, error) {
	var (
		rest []gethrlp.RawValue
		err  error
	)
	switch p := p.(type) {
	case *v4wire.Ping:
		rest, err = gethRest(p.Rest)
		return &gethv4wire.Ping{Version: uint(p.Version), From: gethEndpoint(p.From), To: gethEndpoint(p.To), Expiration: p.Expiration, ENRSeq: p.ENRSeq, Rest: rest}, err
	case *v4wire.Pong:
		rest, err = gethRest(p.Rest)
		return &gethv4wire.Pong{To: gethEndpoint(p.To), ReplyTok: p.ReplyTok, Expiration: p.Expiration, ENRSeq: p.ENRSeq, Rest: rest}, err
	case *v4wire.Findnode:
		rest, err = gethRest(p.Rest)
		return &gethv4wire.Findnode{Target: gethv4wire.Pubkey(p.Target), Expiration: p.Expiration, Rest: rest}, err
	case *v4wire.Neighbors:
		rest, err = gethRest(p.Rest)
		g := &gethv4wire.Neighbors{Expiration: p.Expiration, Rest: rest}
		for _, n := range p.Nodes {
			g.Nodes = append(g.Nodes, gethv4wire.Node{IP: gethIP(n.IP), UDP: n.UDP, TCP: n.TCP, ID: gethv4wire.Pubkey(n.ID)})
		}
		return g, err
	case *v4wire.ENRRequest:
		rest, err = gethRest(p.Rest)
		return &gethv4wire.ENRRequest{Expiration: p.Expiration, Rest: rest}, err
	case *v4wire.ENRResponse:
		if rest, err = gethRest(p.Rest); err != nil {
			return nil, err
		}
		b, err := p.Record.AppendRLP(nil)
		if err != nil {
			return nil, err
		}
		g := &gethv4wire.ENRResponse{ReplyTok: p.ReplyTok, Rest: rest}
		return g, gethrlp.DecodeBytes(b, &g.Record)
	}
	return nil, fmt.Errorf("unknown packet %T", p)
}

// fromGethPacket converts a packet decoded by go-ethereum to ours, with the
// values our decoder gives for the same bytes.
func fromGethPacket(p gethv4wire.Packet) (v4wire.Packet, error) {
	switch p := p.(type) {
	case *gethv4wire.Ping:
		return &v4wire.Ping{Version: uint64(p.Version), From: ourEndpoint(p.From), To: ourEndpoint(p.To), Expiration: p.Expiration, ENRSeq: p.ENRSeq, Rest: ourRest(p.Rest)}, nil
	case *gethv4wire.Pong:
		return &v4wire.Pong{To: ourEndpoint(p.To), ReplyTok: p.ReplyTok, Expiration: p.Expiration, ENRSeq: p.ENRSeq, Rest: ourRest(p.Rest)}, nil
	case *gethv4wire.Findnode:
		return &v4wire.Findnode{Target: v4wire.Pubkey(p.Target), Expiration: p.Expiration, Rest: ourRest(p.Rest)}, nil
	case *gethv4wire.Neighbors:
		o := &v4wire.Neighbors{Expiration: p.Expiration, Rest: ourRest(p.Rest)}
		for _, n := range p.Nodes {
			o.Nodes = append(o.Nodes, v4wire.Node{IP: ourIP(n.IP), UDP: n.UDP, TCP: n.TCP, ID: v4wire.Pubkey(n.ID)})
		}
		return o, nil
	case *gethv4wire.ENRRequest:
		return &v4wire.ENRRequest{Expiration: p.Expiration, Rest: ourRest(p.Rest)}, nil
	case *gethv4wire.ENRResponse:
		b, err := gethrlp.EncodeToBytes(&p.Record)
		if err != nil {
			return nil, err
		}
		o := &v4wire.ENRResponse{ReplyTok: p.ReplyTok, Rest: ourRest(p.Rest)}
		return o, o.Record.UnmarshalRLP(b)
	}
	return nil, fmt.Errorf("unknown packet %T", p)
}

// encodeWith encodes p with the v4wire package of implementation lib.
func encodeWith(lib impl, key keyPair, p v4wire.Packet) (d []byte, hash [32]byte, err error) {
	if lib == implOurs {
		return v4wire.Encode(key.ours, p)
	}
	g, err := toGethPacket(p)
	if err != nil {
		return nil, hash, err
	}
	d, h, err := gethv4wire.Encode(key.theirs, g)
	if err != nil {
		return nil, hash, err
	}
	return d, [32]byte(h), nil
}

// decodeWith decodes a datagram with the v4wire package of implementation
// lib. The packet does not alias d.
func decodeWith(lib impl, d []byte) (p v4wire.Packet, from v4wire.Pubkey, hash [32]byte, err error) {
	d = append([]byte(nil), d...)
	if lib == implOurs {
		return v4wire.Decode(d)
	}
	g, key, h, err := gethv4wire.Decode(d)
	if err != nil {
		return nil, from, hash, err
	}
	p, err = fromGethPacket(g)
	return p, v4wire.Pubkey(key), [32]byte(h), err
}

// seal signs and hashes ptype and data into a datagram (with either
// library's key: the signatures are the same).
func seal(key keyPair, ptype byte, data []byte) []byte {
	msg := append([]byte{ptype}, data...)
	sig, err := gethcrypto.Sign(gethcrypto.Keccak256(msg), key.theirs)
	if err != nil {
		panic(err)
	}
	d := make([]byte, 32, 32+len(sig)+len(msg))
	d = append(append(d, sig...), msg...)
	copy(d, gethcrypto.Keccak256(d[32:]))
	return d
}

// rehash recomputes the hash of a datagram after a change behind it.
func rehash(d []byte) []byte {
	copy(d, gethcrypto.Keccak256(d[32:]))
	return d
}

// describe returns a canonical description of a packet: equal packets
// have equal descriptions.
func describe(p v4wire.Packet) string {
	ep := func(e v4wire.Endpoint) string {
		ip := "-"
		if e.IP.IsValid() {
			ip = e.IP.String()
		}
		return fmt.Sprintf("%s/%d/%d", ip, e.UDP, e.TCP)
	}
	rec := func(r *enr.Record) string {
		b, err := r.AppendRLP(nil)
		if err != nil {
			return "record:" + err.Error()
		}
		return fmt.Sprintf("%x", b)
	}
	switch p := p.(type) {
	case *v4wire.Ping:
		return fmt.Sprintf("PING v=%d from=%s to=%s exp=%d seq=%d rest=%x", p.Version, ep(p.From), ep(p.To), p.Expiration, p.ENRSeq, p.Rest)
	case *v4wire.Pong:
		return fmt.Sprintf("PONG to=%s tok=%x exp=%d seq=%d rest=%x", ep(p.To), p.ReplyTok, p.Expiration, p.ENRSeq, p.Rest)
	case *v4wire.Findnode:
		return fmt.Sprintf("FINDNODE target=%x exp=%d rest=%x", p.Target, p.Expiration, p.Rest)
	case *v4wire.Neighbors:
		var b strings.Builder
		for _, n := range p.Nodes {
			fmt.Fprintf(&b, "[%s %x]", ep(v4wire.Endpoint{IP: n.IP, UDP: n.UDP, TCP: n.TCP}), n.ID)
		}
		return fmt.Sprintf("NEIGHBORS nodes=%s exp=%d rest=%x", b.String(), p.Expiration, p.Rest)
	case *v4wire.ENRRequest:
		return fmt.Sprintf("ENRREQUEST exp=%d rest=%x", p.Expiration, p.Rest)
	case *v4wire.ENRResponse:
		return fmt.Sprintf("ENRRESPONSE tok=%x record=%s rest=%x", p.ReplyTok, rec(&p.Record), p.Rest)
	case nil:
		return "<nil>"
	}
	return fmt.Sprintf("%T", p)
}
