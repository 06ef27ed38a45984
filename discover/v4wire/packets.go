package v4wire

import (
	"fmt"
	"net/netip"

	"github.com/devp2p-go/devp2p/enr"
	"github.com/devp2p-go/devp2p/rlp"
)

// Ping is the PING packet (type 0x01): [version, from, to, expiration,
// enr-seq?, ...].
type Ping struct {
	// Version is 4 when sent; receivers ignore it (EIP-8).
	Version uint64
	// From is the sender's endpoint; To the recipient's as the sender sees it.
	From, To Endpoint
	// Expiration is the Unix time after which the packet is invalid.
	Expiration uint64
	// ENRSeq is the sequence number of the sender's record (EIP-868), or 0 if
	// absent.
	ENRSeq uint64
	// Rest holds the encoded list elements after the known fields (EIP-8),
	// verbatim. After decoding it aliases the input.
	Rest []byte
}

// Pong is the PONG packet (type 0x02), the reply to Ping: [to, ping-hash,
// expiration, enr-seq?, ...].
type Pong struct {
	// To is the endpoint the ping came from, as the replier saw it.
	To Endpoint
	// ReplyTok is the hash of the ping packet. After decoding it aliases
	// the input.
	ReplyTok []byte
	// Expiration is the Unix time after which the packet is invalid.
	Expiration uint64
	// ENRSeq is the sequence number of the replier's record (EIP-868), or 0
	// if absent.
	ENRSeq uint64
	// Rest holds extra encoded list elements, as in Ping.
	Rest []byte
}

// Findnode is the FINDNODE packet (type 0x03): [target, expiration, ...].
// The target is a 64-byte "public key"; distances are measured to its
// keccak256 hash.
type Findnode struct {
	Target     Pubkey
	Expiration uint64
	Rest       []byte // extra encoded list elements, as in Ping
}

// Neighbors is the NEIGHBORS packet (type 0x04), the reply to Findnode:
// [[node, ...], expiration, ...].
type Neighbors struct {
	Nodes      []Node
	Expiration uint64
	Rest       []byte // extra encoded list elements, as in Ping
}

// ENRRequest is the ENRREQUEST packet (type 0x05, EIP-868): [expiration, ...].
type ENRRequest struct {
	Expiration uint64
	Rest       []byte // extra encoded list elements, as in Ping
}

// ENRResponse is the ENRRESPONSE packet (type 0x06, EIP-868), the reply to
// ENRRequest: [request-hash, record, ...]. It has no expiration.
type ENRResponse struct {
	// ReplyTok is the hash of the ENRRequest packet. After decoding it
	// aliases the input.
	ReplyTok []byte
	// Record is the replier's node record. Its signature is not verified
	// by decoding.
	Record enr.Record
	Rest   []byte // extra encoded list elements, as in Ping
}

// Name implements Packet.
func (*Ping) Name() string { return "PING/v4" }

// Kind implements Packet.
func (*Ping) Kind() byte { return PingPacket }

// Name implements Packet.
func (*Pong) Name() string { return "PONG/v4" }

// Kind implements Packet.
func (*Pong) Kind() byte { return PongPacket }

// Name implements Packet.
func (*Findnode) Name() string { return "FINDNODE/v4" }

// Kind implements Packet.
func (*Findnode) Kind() byte { return FindnodePacket }

// Name implements Packet.
func (*Neighbors) Name() string { return "NEIGHBORS/v4" }

// Kind implements Packet.
func (*Neighbors) Kind() byte { return NeighborsPacket }

// Name implements Packet.
func (*ENRRequest) Name() string { return "ENRREQUEST/v4" }

// Kind implements Packet.
func (*ENRRequest) Kind() byte { return ENRRequestPacket }

// Name implements Packet.
func (*ENRResponse) Name() string { return "ENRRESPONSE/v4" }

// Kind implements Packet.
func (*ENRResponse) Kind() byte { return ENRResponsePacket }

// Encoding. Every list's content size is computed first, so each list is
// written with its final header and nothing is moved.

func ipSize(ip netip.Addr) int {
	switch {
	case ip.Is4() || ip.Is4In6():
		return 5
	case ip.Is6():
		return 17
	}
	return 1
}

func appendIP(dst []byte, ip netip.Addr) []byte {
	switch {
	case ip.Is4() || ip.Is4In6():
		a := ip.As4()
		return rlp.AppendBytes(dst, a[:])
	case ip.Is6():
		a := ip.As16()
		return rlp.AppendBytes(dst, a[:])
	}
	return append(dst, 0x80)
}

func endpointSize(e *Endpoint) int {
	return rlp.ListSize(ipSize(e.IP) + rlp.UintSize(uint64(e.UDP)) + rlp.UintSize(uint64(e.TCP)))
}

func appendEndpoint(dst []byte, e *Endpoint) []byte {
	dst = rlp.AppendListHeader(dst, ipSize(e.IP)+rlp.UintSize(uint64(e.UDP))+rlp.UintSize(uint64(e.TCP)))
	dst = appendIP(dst, e.IP)
	dst = rlp.AppendUint64(dst, uint64(e.UDP))
	return rlp.AppendUint64(dst, uint64(e.TCP))
}

// pubkeySize is the encoded size of a Pubkey: a 64-byte string.
const pubkeySize = 2 + 64

func nodeContentSize(n *Node) int {
	return ipSize(n.IP) + rlp.UintSize(uint64(n.UDP)) + rlp.UintSize(uint64(n.TCP)) + pubkeySize
}

// hasSeq reports whether the optional enr-seq field is encoded: when it is
// set, or when extra elements follow it.
func hasSeq(seq uint64, rest []byte) bool { return seq != 0 || len(rest) > 0 }

// AppendRLP implements Packet.
func (p *Ping) AppendRLP(dst []byte) ([]byte, error) {
	n := rlp.UintSize(p.Version) + endpointSize(&p.From) + endpointSize(&p.To) +
		rlp.UintSize(p.Expiration) + len(p.Rest)
	if hasSeq(p.ENRSeq, p.Rest) {
		n += rlp.UintSize(p.ENRSeq)
	}
	dst = rlp.AppendListHeader(dst, n)
	dst = rlp.AppendUint64(dst, p.Version)
	dst = appendEndpoint(dst, &p.From)
	dst = appendEndpoint(dst, &p.To)
	dst = rlp.AppendUint64(dst, p.Expiration)
	if hasSeq(p.ENRSeq, p.Rest) {
		dst = rlp.AppendUint64(dst, p.ENRSeq)
	}
	return append(dst, p.Rest...), nil
}

// AppendRLP implements Packet.
func (p *Pong) AppendRLP(dst []byte) ([]byte, error) {
	n := endpointSize(&p.To) + rlp.StringSize(p.ReplyTok) + rlp.UintSize(p.Expiration) + len(p.Rest)
	if hasSeq(p.ENRSeq, p.Rest) {
		n += rlp.UintSize(p.ENRSeq)
	}
	dst = rlp.AppendListHeader(dst, n)
	dst = appendEndpoint(dst, &p.To)
	dst = rlp.AppendBytes(dst, p.ReplyTok)
	dst = rlp.AppendUint64(dst, p.Expiration)
	if hasSeq(p.ENRSeq, p.Rest) {
		dst = rlp.AppendUint64(dst, p.ENRSeq)
	}
	return append(dst, p.Rest...), nil
}

// AppendRLP implements Packet.
func (p *Findnode) AppendRLP(dst []byte) ([]byte, error) {
	dst = rlp.AppendListHeader(dst, pubkeySize+rlp.UintSize(p.Expiration)+len(p.Rest))
	dst = rlp.AppendBytes(dst, p.Target[:])
	dst = rlp.AppendUint64(dst, p.Expiration)
	return append(dst, p.Rest...), nil
}

// AppendRLP implements Packet.
func (p *Neighbors) AppendRLP(dst []byte) ([]byte, error) {
	nodes := 0
	for i := range p.Nodes {
		nodes += rlp.ListSize(nodeContentSize(&p.Nodes[i]))
	}
	dst = rlp.AppendListHeader(dst, rlp.ListSize(nodes)+rlp.UintSize(p.Expiration)+len(p.Rest))
	dst = rlp.AppendListHeader(dst, nodes)
	for i := range p.Nodes {
		n := &p.Nodes[i]
		dst = rlp.AppendListHeader(dst, nodeContentSize(n))
		dst = appendIP(dst, n.IP)
		dst = rlp.AppendUint64(dst, uint64(n.UDP))
		dst = rlp.AppendUint64(dst, uint64(n.TCP))
		dst = rlp.AppendBytes(dst, n.ID[:])
	}
	dst = rlp.AppendUint64(dst, p.Expiration)
	return append(dst, p.Rest...), nil
}

// AppendRLP implements Packet.
func (p *ENRRequest) AppendRLP(dst []byte) ([]byte, error) {
	dst = rlp.AppendListHeader(dst, rlp.UintSize(p.Expiration)+len(p.Rest))
	dst = rlp.AppendUint64(dst, p.Expiration)
	return append(dst, p.Rest...), nil
}

// AppendRLP implements Packet. It fails if the record is not signed.
func (p *ENRResponse) AppendRLP(dst []byte) ([]byte, error) {
	if !p.Record.IsSigned() {
		return dst, enr.ErrUnsigned
	}
	dst = rlp.AppendListHeader(dst, rlp.StringSize(p.ReplyTok)+p.Record.Size()+len(p.Rest))
	dst = rlp.AppendBytes(dst, p.ReplyTok)
	dst, err := p.Record.AppendRLP(dst)
	if err != nil {
		return dst, err
	}
	return append(dst, p.Rest...), nil
}

// Decoding follows go-ethereum's reflection decoder field by field, so both
// accept and reject the same inputs: canonical RLP only, exact element
// counts for endpoints and nodes, byte arrays of exact length, and any
// number of well-formed extra elements at the end of a packet.

func invalid(name string, err error) error {
	return fmt.Errorf("%w: %s: %w", ErrInvalidPacket, name, err)
}

// packetList returns the content of item, which must be one list.
func packetList(item []byte) ([]byte, error) {
	c, rest, err := rlp.SplitList(item)
	if err == nil && len(rest) != 0 {
		err = rlp.ErrMoreThanOneValue
	}
	return c, err
}

// nextUint decodes a required integer of at most max.
func nextUint(c []byte, max uint64) (uint64, []byte, error) {
	if len(c) == 0 {
		return 0, c, rlp.ErrTooFewElements
	}
	x, rest, err := rlp.SplitUint64(c)
	if err == nil && x > max {
		err = rlp.ErrUintOverflow
	}
	return x, rest, err
}

// nextString decodes a required string.
func nextString(c []byte) ([]byte, []byte, error) {
	if len(c) == 0 {
		return nil, c, rlp.ErrTooFewElements
	}
	return rlp.SplitString(c)
}

// nextPubkey decodes a required 64-byte string.
func nextPubkey(c []byte, k *Pubkey) ([]byte, error) {
	s, rest, err := nextString(c)
	if err == nil && len(s) != len(k) {
		err = rlp.ErrByteArrayLength
	}
	if err == nil {
		copy(k[:], s)
	}
	return rest, err
}

// optionalSeq decodes the optional enr-seq field.
func optionalSeq(c []byte) (uint64, []byte, error) {
	if len(c) == 0 {
		return 0, c, nil
	}
	return rlp.SplitUint64(c)
}

// tail checks the extra elements and returns them, or nil if there are none.
func tail(c []byte) ([]byte, error) {
	if len(c) == 0 {
		return nil, nil
	}
	for b := c; len(b) > 0; {
		var err error
		if _, b, err = splitRaw(b); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// splitRaw splits off the first item of b like go-ethereum's decoding into
// a RawValue: it checks the header but not the content, and so accepts a
// single byte below 0x80 wrapped in a string header (0x81 0x30), which
// rlp.Split rejects as non-canonical.
func splitRaw(b []byte) (item, rest []byte, err error) {
	if len(b) >= 2 && b[0] == 0x81 && b[1] < 0x80 {
		return b[:2], b[2:], nil
	}
	if _, _, rest, err = rlp.Split(b); err != nil {
		return nil, b, err
	}
	return b[:len(b)-len(rest)], rest, nil
}

func decodeIP(b []byte) netip.Addr {
	switch len(b) {
	case 4:
		return netip.AddrFrom4([4]byte(b))
	case 16:
		return netip.AddrFrom16([16]byte(b)).Unmap()
	}
	return netip.Addr{}
}

// nextEndpoint decodes a required endpoint list of exactly three elements.
func nextEndpoint(c []byte, e *Endpoint) ([]byte, error) {
	if len(c) == 0 {
		return c, rlp.ErrTooFewElements
	}
	ec, rest, err := rlp.SplitList(c)
	if err != nil {
		return c, err
	}
	ip, ec, err := nextString(ec)
	if err != nil {
		return c, err
	}
	udp, ec, err := nextUint(ec, 0xFFFF)
	if err != nil {
		return c, err
	}
	tcp, ec, err := nextUint(ec, 0xFFFF)
	if err != nil {
		return c, err
	}
	if len(ec) != 0 {
		return c, rlp.ErrTooManyElements
	}
	*e = Endpoint{IP: decodeIP(ip), UDP: uint16(udp), TCP: uint16(tcp)}
	return rest, nil
}

// decodeNode decodes one node list of exactly four elements.
func decodeNode(item []byte, n *Node) ([]byte, error) {
	c, rest, err := rlp.SplitList(item)
	if err != nil {
		return item, err
	}
	ip, c, err := nextString(c)
	if err != nil {
		return item, err
	}
	udp, c, err := nextUint(c, 0xFFFF)
	if err != nil {
		return item, err
	}
	tcp, c, err := nextUint(c, 0xFFFF)
	if err != nil {
		return item, err
	}
	if c, err = nextPubkey(c, &n.ID); err != nil {
		return item, err
	}
	if len(c) != 0 {
		return item, rlp.ErrTooManyElements
	}
	n.IP, n.UDP, n.TCP = decodeIP(ip), uint16(udp), uint16(tcp)
	return rest, nil
}

// UnmarshalRLP implements Packet. It does not allocate.
func (p *Ping) UnmarshalRLP(item []byte) error {
	err := p.unmarshal(item)
	if err != nil {
		return invalid(p.Name(), err)
	}
	return nil
}

func (p *Ping) unmarshal(item []byte) (err error) {
	c, err := packetList(item)
	if err != nil {
		return err
	}
	if p.Version, c, err = nextUint(c, ^uint64(0)); err != nil {
		return err
	}
	if c, err = nextEndpoint(c, &p.From); err != nil {
		return err
	}
	if c, err = nextEndpoint(c, &p.To); err != nil {
		return err
	}
	if p.Expiration, c, err = nextUint(c, ^uint64(0)); err != nil {
		return err
	}
	if p.ENRSeq, c, err = optionalSeq(c); err != nil {
		return err
	}
	p.Rest, err = tail(c)
	return err
}

// UnmarshalRLP implements Packet. It does not allocate.
func (p *Pong) UnmarshalRLP(item []byte) error {
	err := p.unmarshal(item)
	if err != nil {
		return invalid(p.Name(), err)
	}
	return nil
}

func (p *Pong) unmarshal(item []byte) (err error) {
	c, err := packetList(item)
	if err != nil {
		return err
	}
	if c, err = nextEndpoint(c, &p.To); err != nil {
		return err
	}
	if p.ReplyTok, c, err = nextString(c); err != nil {
		return err
	}
	if p.Expiration, c, err = nextUint(c, ^uint64(0)); err != nil {
		return err
	}
	if p.ENRSeq, c, err = optionalSeq(c); err != nil {
		return err
	}
	p.Rest, err = tail(c)
	return err
}

// UnmarshalRLP implements Packet. It does not allocate.
func (p *Findnode) UnmarshalRLP(item []byte) error {
	err := p.unmarshal(item)
	if err != nil {
		return invalid(p.Name(), err)
	}
	return nil
}

func (p *Findnode) unmarshal(item []byte) (err error) {
	c, err := packetList(item)
	if err != nil {
		return err
	}
	if c, err = nextPubkey(c, &p.Target); err != nil {
		return err
	}
	if p.Expiration, c, err = nextUint(c, ^uint64(0)); err != nil {
		return err
	}
	p.Rest, err = tail(c)
	return err
}

// UnmarshalRLP implements Packet. It reuses the capacity of p.Nodes, so a
// receiver that keeps one Neighbors value does not allocate after warm-up.
func (p *Neighbors) UnmarshalRLP(item []byte) error {
	err := p.unmarshal(item)
	if err != nil {
		return invalid(p.Name(), err)
	}
	return nil
}

func (p *Neighbors) unmarshal(item []byte) (err error) {
	c, err := packetList(item)
	if err != nil {
		return err
	}
	if len(c) == 0 {
		return rlp.ErrTooFewElements
	}
	nodes, c, err := rlp.SplitList(c)
	if err != nil {
		return err
	}
	count, err := rlp.CountValues(nodes)
	if err != nil {
		return err
	}
	p.Nodes = p.Nodes[:0]
	if cap(p.Nodes) < count {
		p.Nodes = make([]Node, 0, count)
	}
	for len(nodes) > 0 {
		p.Nodes = p.Nodes[:len(p.Nodes)+1]
		if nodes, err = decodeNode(nodes, &p.Nodes[len(p.Nodes)-1]); err != nil {
			p.Nodes = p.Nodes[:0]
			return err
		}
	}
	if p.Expiration, c, err = nextUint(c, ^uint64(0)); err != nil {
		return err
	}
	p.Rest, err = tail(c)
	return err
}

// UnmarshalRLP implements Packet. It does not allocate.
func (p *ENRRequest) UnmarshalRLP(item []byte) error {
	err := p.unmarshal(item)
	if err != nil {
		return invalid(p.Name(), err)
	}
	return nil
}

func (p *ENRRequest) unmarshal(item []byte) (err error) {
	c, err := packetList(item)
	if err != nil {
		return err
	}
	if p.Expiration, c, err = nextUint(c, ^uint64(0)); err != nil {
		return err
	}
	p.Rest, err = tail(c)
	return err
}

// UnmarshalRLP implements Packet. The record is copied; ReplyTok and Rest
// alias item.
func (p *ENRResponse) UnmarshalRLP(item []byte) error {
	err := p.unmarshal(item)
	if err != nil {
		return invalid(p.Name(), err)
	}
	return nil
}

func (p *ENRResponse) unmarshal(item []byte) (err error) {
	c, err := packetList(item)
	if err != nil {
		return err
	}
	if p.ReplyTok, c, err = nextString(c); err != nil {
		return err
	}
	if len(c) == 0 {
		return rlp.ErrTooFewElements
	}
	_, _, after, err := rlp.Split(c)
	if err != nil {
		return err
	}
	if err := p.Record.UnmarshalRLP(c[:len(c)-len(after)]); err != nil {
		return err
	}
	p.Rest, err = tail(after)
	return err
}
