// Package v4wire implements the wire format of the Node Discovery Protocol
// v4 (devp2p discv4.md), with the ENRRequest and ENRResponse packets of
// EIP-868 and the forward compatibility rules of EIP-8.
//
// A datagram is
//
//	hash(32) ‖ signature(65) ‖ packet-type(1) ‖ packet-data
//
// where packet-data is an RLP list, signature is the recoverable secp256k1
// signature of keccak256(packet-type ‖ packet-data) and hash is
// keccak256(signature ‖ packet-type ‖ packet-data). The hash authenticates
// nothing; it marks the datagram as discv4 and identifies it in replies.
// Datagrams are at most MaxPacketSize bytes.
//
// Following EIP-8, decoders accept extra list elements after the known
// fields (kept verbatim in each packet's Rest field) and ignore data after the
// packet-data list. Like go-ethereum since EIP-868, the fifth element of a
// Ping and the fourth of a Pong must be an integer (the ENR sequence number)
// when present.
//
// The package has a one-call API (Encode, Decode) and a staged one for
// receivers that want to reject cheap-to-detect garbage before paying for
// signature recovery and to decode without allocating: Unwrap checks size and
// hash, DecodeData (or a packet's UnmarshalRLP) decodes the data, Sender
// recovers the signing key.
//
// Nothing in this package logs, starts goroutines or reads the clock: times
// are passed in. All functions are safe for concurrent use.
package v4wire

import (
	"errors"
	"net/netip"
	"time"

	"github.com/devp2p-go/devp2p/crypto"
	"github.com/devp2p-go/devp2p/enode"
)

// Packet types (discv4.md "Wire Protocol", EIP-868).
const (
	PingPacket        byte = 1
	PongPacket        byte = 2
	FindnodePacket    byte = 3
	NeighborsPacket   byte = 4
	ENRRequestPacket  byte = 5
	ENRResponsePacket byte = 6
)

// Sizes of the datagram parts.
const (
	// MaxPacketSize is the largest datagram allowed by discv4.md.
	MaxPacketSize = 1280
	// HashSize is the size of the leading hash.
	HashSize = 32
	// HeadSize is the size of hash and signature, before the packet type.
	HeadSize = HashSize + crypto.SignatureLength
	// MinPacketSize is the size of the smallest datagram Unwrap accepts:
	// the head and a packet type.
	MinPacketSize = HeadSize + 1
)

// MaxNeighbors is the largest number of nodes in a Neighbors packet that
// always fits in MaxPacketSize: 12 nodes with 16-byte IP addresses, maximal
// ports and the largest expiration take 1205 bytes, 13 would take 1296
// (TestMaxNeighbors computes it).
const MaxNeighbors = 12

// Expiration is how far in the future packets are set to expire by
// ExpirationFrom; go-ethereum uses the same 20 seconds.
const Expiration = 20 * time.Second

// Errors returned by Unwrap, Sender, Decode and Encode. Errors about packet
// data wrap ErrInvalidPacket together with the rlp package's error, so both
// can be tested with errors.Is.
var (
	// ErrPacketTooSmall means a datagram is shorter than MinPacketSize.
	ErrPacketTooSmall = errors.New("v4wire: packet too small")
	// ErrPacketTooLarge means a datagram exceeds MaxPacketSize, or a packet
	// would encode to more than that.
	ErrPacketTooLarge = errors.New("v4wire: packet too large")
	// ErrBadHash means the leading hash does not match the rest of the
	// datagram.
	ErrBadHash = errors.New("v4wire: bad hash")
	// ErrBadSignature means no public key can be recovered from the
	// signature. It wraps the crypto package's error.
	ErrBadSignature = errors.New("v4wire: bad signature")
	// ErrUnknownPacket means the packet type is not one of the six known
	// types. EIP-8 says such packets are dropped silently.
	ErrUnknownPacket = errors.New("v4wire: unknown packet type")
	// ErrInvalidPacket means the packet data is not a valid encoding of its
	// packet type.
	ErrInvalidPacket = errors.New("v4wire: invalid packet data")
	// ErrTooManyNeighbors means a Neighbors packet to encode has more than
	// MaxNeighbors nodes.
	ErrTooManyNeighbors = errors.New("v4wire: too many nodes in neighbors packet")
)

// Packet is one of *Ping, *Pong, *Findnode, *Neighbors, *ENRRequest and
// *ENRResponse. AppendRLP and UnmarshalRLP encode and decode the packet data
// (the RLP list after the packet type), so packets are also rlp.Marshaler
// and rlp.Unmarshaler.
type Packet interface {
	// Name is the name of the packet, for logs: "PING/v4" and so on.
	Name() string
	// Kind is the packet type byte.
	Kind() byte
	// AppendRLP appends the packet data to dst.
	AppendRLP(dst []byte) ([]byte, error)
	// UnmarshalRLP decodes the packet data from one whole RLP list. Byte
	// slices in the packet alias item.
	UnmarshalRLP(item []byte) error
}

// NewPacket returns a new zero packet of type ptype, or nil if the type is
// unknown.
func NewPacket(ptype byte) Packet {
	switch ptype {
	case PingPacket:
		return new(Ping)
	case PongPacket:
		return new(Pong)
	case FindnodePacket:
		return new(Findnode)
	case NeighborsPacket:
		return new(Neighbors)
	case ENRRequestPacket:
		return new(ENRRequest)
	case ENRResponsePacket:
		return new(ENRResponse)
	}
	return nil
}

// PacketName returns the name of packet type ptype, for logs and metrics:
// "PING/v4", …, or "UNKNOWN/v4".
func PacketName(ptype byte) string {
	switch ptype {
	case PingPacket:
		return "PING/v4"
	case PongPacket:
		return "PONG/v4"
	case FindnodePacket:
		return "FINDNODE/v4"
	case NeighborsPacket:
		return "NEIGHBORS/v4"
	case ENRRequestPacket:
		return "ENRREQUEST/v4"
	case ENRResponsePacket:
		return "ENRRESPONSE/v4"
	}
	return "UNKNOWN/v4"
}

// Pubkey is a 64-byte secp256k1 public key X‖Y as it appears on the wire.
// A Findnode target is a Pubkey that need not be a point on the curve.
type Pubkey [64]byte

// ID returns the node ID of the key, keccak256(X‖Y).
func (k Pubkey) ID() enode.ID { return enode.ID(crypto.Keccak256(k[:])) }

// Endpoint is a network endpoint: [ip, udp-port, tcp-port].
type Endpoint struct {
	// IP is the address: 4 bytes on the wire for IPv4, 16 for IPv6. The zero
	// Addr encodes as an empty string. On decoding, an empty string and
	// strings of lengths other than 4 and 16 (which go-ethereum accepts too)
	// give the zero Addr, and IPv4-mapped IPv6 addresses are unmapped.
	IP netip.Addr
	// UDP is the discovery port.
	UDP uint16
	// TCP is the RLPx port.
	TCP uint16
}

// NewEndpoint returns the endpoint of a UDP address and a TCP port.
func NewEndpoint(udp netip.AddrPort, tcp uint16) Endpoint {
	return Endpoint{IP: udp.Addr().Unmap(), UDP: udp.Port(), TCP: tcp}
}

// UDPAddr returns the UDP address of the endpoint.
func (e Endpoint) UDPAddr() netip.AddrPort { return netip.AddrPortFrom(e.IP, e.UDP) }

// Node is a node in a Neighbors packet: [ip, udp-port, tcp-port, pubkey].
type Node struct {
	IP  netip.Addr // as in Endpoint
	UDP uint16     // discovery port
	TCP uint16     // RLPx port
	ID  Pubkey     // public key (not the node ID)
}

// ExpirationFrom returns the expiration time stamp for a packet sent at now:
// now + Expiration in Unix seconds.
func ExpirationFrom(now time.Time) uint64 {
	return uint64(now.Add(Expiration).Unix())
}

// Expired reports whether the expiration time stamp ts (Unix seconds) is
// before now. It decides exactly like go-ethereum's Expired, including for
// time stamps beyond the range of time.Time, which count as expired.
func Expired(ts uint64, now time.Time) bool {
	return time.Unix(int64(ts), 0).Before(now)
}
