package v4wire

import (
	"fmt"
	"sync"

	"github.com/devp2p-go/devp2p/crypto"
	"github.com/devp2p-go/devp2p/rlp"
)

// encBufs holds MaxPacketSize buffers for Encode.
var encBufs = sync.Pool{New: func() any { return new([MaxPacketSize]byte) }}

// digests holds digest buffers: a digest passed to the signature functions
// escapes, and would otherwise cost an allocation per packet.
var digests = sync.Pool{New: func() any { return new([32]byte) }}

// Encode returns the signed datagram of packet p and its hash. The datagram
// is the only allocation.
func Encode(key *crypto.PrivateKey, p Packet) (datagram []byte, hash [32]byte, err error) {
	buf := encBufs.Get().(*[MaxPacketSize]byte)
	defer encBufs.Put(buf)
	b, hash, err := AppendEncode(buf[:0], key, p)
	if err != nil {
		return nil, hash, err
	}
	return append([]byte(nil), b...), hash, nil
}

// AppendEncode appends the signed datagram of packet p to dst and returns
// the extended buffer and the datagram's hash. It allocates only if dst lacks
// capacity. It fails with ErrPacketTooLarge if the datagram would exceed
// MaxPacketSize and with ErrTooManyNeighbors for a Neighbors packet with more
// than MaxNeighbors nodes; dst is then returned unchanged.
func AppendEncode(dst []byte, key *crypto.PrivateKey, p Packet) (_ []byte, hash [32]byte, err error) {
	if nb, ok := p.(*Neighbors); ok && len(nb.Nodes) > MaxNeighbors {
		return dst, hash, ErrTooManyNeighbors
	}
	start := len(dst)
	var head [HeadSize]byte
	b := append(dst, head[:]...)
	b = append(b, p.Kind())
	if b, err = p.AppendRLP(b); err != nil {
		return dst, hash, err
	}
	pkt := b[start:]
	if len(pkt) > MaxPacketSize {
		return dst[:start], hash, ErrPacketTooLarge
	}
	digest := digests.Get().(*[32]byte)
	*digest = crypto.Keccak256(pkt[HeadSize:])
	sig, err := crypto.Sign(digest[:], key)
	digests.Put(digest)
	if err != nil {
		return dst[:start], hash, err
	}
	copy(pkt[HashSize:], sig[:])
	hash = crypto.Keccak256(pkt[HashSize:])
	copy(pkt, hash[:])
	return b, hash, nil
}

// Unwrap checks the size and the hash of a datagram and returns its packet
// type and packet data. It is cheap (one Keccak-256) and does not check the
// signature; see Sender. The data aliases datagram.
func Unwrap(datagram []byte) (ptype byte, data []byte, err error) {
	switch {
	case len(datagram) < MinPacketSize:
		return 0, nil, ErrPacketTooSmall
	case len(datagram) > MaxPacketSize:
		return 0, nil, ErrPacketTooLarge
	}
	if crypto.Keccak256(datagram[HashSize:]) != [32]byte(datagram[:HashSize]) {
		return 0, nil, ErrBadHash
	}
	return datagram[HeadSize], datagram[MinPacketSize:], nil
}

// Sender recovers the public key that signed a datagram. It does not check
// the hash; see Unwrap.
func Sender(datagram []byte) (Pubkey, error) {
	if len(datagram) < MinPacketSize {
		return Pubkey{}, ErrPacketTooSmall
	}
	digest := digests.Get().(*[32]byte)
	*digest = crypto.Keccak256(datagram[HeadSize:])
	pub, err := crypto.Recover(digest[:], datagram[HashSize:HeadSize])
	digests.Put(digest)
	if err != nil {
		return Pubkey{}, fmt.Errorf("%w: %w", ErrBadSignature, err)
	}
	return Pubkey(pub), nil
}

// DecodeData decodes the packet data of a datagram (as returned by Unwrap)
// into p. Only the first RLP item of data is read: EIP-8 says data after it
// is ignored.
func DecodeData(p Packet, data []byte) error {
	_, _, rest, err := rlp.Split(data)
	if err != nil {
		return invalid(p.Name(), err)
	}
	return p.UnmarshalRLP(data[:len(data)-len(rest)])
}

// Decode checks and decodes a datagram: size, hash, packet type, packet data
// and signature, in that order, so that malformed datagrams are rejected
// before the signature is recovered. It returns the packet, the sender's
// public key and the datagram's hash (set once the hash has been checked).
// Byte slices in the packet alias datagram.
func Decode(datagram []byte) (p Packet, from Pubkey, hash [32]byte, err error) {
	ptype, data, err := Unwrap(datagram)
	if err != nil {
		return nil, from, hash, err
	}
	hash = [32]byte(datagram[:HashSize])
	if p = NewPacket(ptype); p == nil {
		return nil, from, hash, fmt.Errorf("%w: %d", ErrUnknownPacket, ptype)
	}
	if err := DecodeData(p, data); err != nil {
		return nil, from, hash, err
	}
	if from, err = Sender(datagram); err != nil {
		return nil, from, hash, err
	}
	return p, from, hash, nil
}
