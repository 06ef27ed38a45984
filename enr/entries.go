package enr

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/devp2p-go/devp2p/rlp"
)

// Entry is implemented by the types of record entries. ENRKey returns the key
// under which the entry is stored.
//
// To define a new entry, declare a Go type with an ENRKey method that the rlp
// package can encode and decode, or that implements rlp.Marshaler and (on its
// pointer) rlp.Unmarshaler when the value needs checks of its own. Load takes
// a pointer to the entry.
type Entry interface {
	ENRKey() string
}

// generic is the Entry made by WithEntry.
type generic struct {
	key   string
	value any
}

// WithEntry wraps any value that the rlp package can encode with a key name,
// so it can be stored with Set. To Load into it, v must be a pointer.
func WithEntry(k string, v any) Entry {
	return &generic{key: k, value: v}
}

// ENRKey implements Entry.
func (g *generic) ENRKey() string { return g.key }

// AppendRLP implements rlp.Marshaler.
func (g *generic) AppendRLP(dst []byte) ([]byte, error) {
	return rlp.AppendValue(dst, g.value)
}

// UnmarshalRLP implements rlp.Unmarshaler.
func (g *generic) UnmarshalRLP(item []byte) error {
	return rlp.DecodeBytes(item, g.value)
}

// ID is the "id" key, which holds the name of the identity scheme.
type ID string

// IDv4 is the name of the default identity scheme, "v4".
const IDv4 = ID("v4")

// ENRKey implements Entry.
func (ID) ENRKey() string { return "id" }

// AppendRLP implements rlp.Marshaler.
func (v ID) AppendRLP(dst []byte) ([]byte, error) {
	return rlp.AppendString(dst, string(v)), nil
}

// UnmarshalRLP implements rlp.Unmarshaler.
func (v *ID) UnmarshalRLP(item []byte) error {
	b, err := splitOne(item)
	if err == nil {
		*v = ID(b)
	}
	return err
}

// Secp256k1 is the "secp256k1" key, which holds a compressed secp256k1 public
// key (33 bytes). This package does not check that it is a valid curve point;
// package enode does when it uses the key.
type Secp256k1 [33]byte

// ENRKey implements Entry.
func (Secp256k1) ENRKey() string { return "secp256k1" }

// AppendRLP implements rlp.Marshaler.
func (v Secp256k1) AppendRLP(dst []byte) ([]byte, error) {
	return rlp.AppendBytes(dst, v[:]), nil
}

// UnmarshalRLP implements rlp.Unmarshaler.
func (v *Secp256k1) UnmarshalRLP(item []byte) error {
	b, err := splitOne(item)
	if err != nil {
		return err
	}
	if len(b) != len(v) {
		return fmt.Errorf("invalid secp256k1 key length %d, want %d", len(b), len(v))
	}
	copy(v[:], b)
	return nil
}

// IPv4 is the "ip" key, which holds the IPv4 address of the node (4 bytes).
// An IPv4-mapped IPv6 address is stored as the IPv4 address; other IPv6
// addresses can't be stored.
type IPv4 netip.Addr

// ENRKey implements Entry.
func (IPv4) ENRKey() string { return "ip" }

// AppendRLP implements rlp.Marshaler.
func (v IPv4) AppendRLP(dst []byte) ([]byte, error) {
	ip := netip.Addr(v).Unmap()
	if !ip.Is4() {
		return dst, fmt.Errorf("invalid IPv4 address: %v", netip.Addr(v))
	}
	a := ip.As4()
	return rlp.AppendBytes(dst, a[:]), nil
}

// UnmarshalRLP implements rlp.Unmarshaler.
func (v *IPv4) UnmarshalRLP(item []byte) error {
	b, err := splitOne(item)
	if err != nil {
		return err
	}
	if len(b) != 4 {
		return fmt.Errorf("invalid IPv4 address, want 4 bytes: %x", b)
	}
	*v = IPv4(netip.AddrFrom4([4]byte(b)))
	return nil
}

// IPv6 is the "ip6" key, which holds the IPv6 address of the node (16 bytes).
// An IPv4 address is stored in its IPv4-mapped form.
type IPv6 netip.Addr

// ENRKey implements Entry.
func (IPv6) ENRKey() string { return "ip6" }

// AppendRLP implements rlp.Marshaler.
func (v IPv6) AppendRLP(dst []byte) ([]byte, error) {
	ip := netip.Addr(v)
	if !ip.IsValid() {
		return dst, errors.New("invalid IPv6 address: zero Addr")
	}
	a := ip.As16()
	return rlp.AppendBytes(dst, a[:]), nil
}

// UnmarshalRLP implements rlp.Unmarshaler.
func (v *IPv6) UnmarshalRLP(item []byte) error {
	b, err := splitOne(item)
	if err != nil {
		return err
	}
	if len(b) != 16 {
		return fmt.Errorf("invalid IPv6 address, want 16 bytes: %x", b)
	}
	*v = IPv6(netip.AddrFrom16([16]byte(b)))
	return nil
}

// IP is either the "ip" or the "ip6" key, depending on its value: IPv4 and
// IPv4-mapped addresses are stored under "ip", others under "ip6". Use it to
// set an address of either family. To load an address, use IPv4 or IPv6: the
// key of an IP depends on its value, and the zero IP loads "ip6".
type IP netip.Addr

// ENRKey implements Entry.
func (v IP) ENRKey() string {
	if ip := netip.Addr(v); ip.Is4() || ip.Is4In6() {
		return "ip"
	}
	return "ip6"
}

// AppendRLP implements rlp.Marshaler.
func (v IP) AppendRLP(dst []byte) ([]byte, error) {
	if v.ENRKey() == "ip" {
		return IPv4(v).AppendRLP(dst)
	}
	return IPv6(v).AppendRLP(dst)
}

// UnmarshalRLP implements rlp.Unmarshaler.
func (v *IP) UnmarshalRLP(item []byte) error {
	b, err := splitOne(item)
	if err != nil {
		return err
	}
	ip, ok := netip.AddrFromSlice(b)
	if !ok {
		return fmt.Errorf("invalid IP address, want 4 or 16 bytes: %x", b)
	}
	*v = IP(ip)
	return nil
}

// TCP is the "tcp" key, which holds the TCP port of the node.
type TCP uint16

// TCP6 is the "tcp6" key, which holds the IPv6-specific TCP port of the node.
type TCP6 uint16

// UDP is the "udp" key, which holds the UDP port of the node.
type UDP uint16

// UDP6 is the "udp6" key, which holds the IPv6-specific UDP port of the node.
type UDP6 uint16

// QUIC is the "quic" key, which holds the QUIC port of the node.
type QUIC uint16

// QUIC6 is the "quic6" key, which holds the IPv6-specific QUIC port of the node.
type QUIC6 uint16

// ENRKey implements Entry.
func (TCP) ENRKey() string { return "tcp" }

// ENRKey implements Entry.
func (TCP6) ENRKey() string { return "tcp6" }

// ENRKey implements Entry.
func (UDP) ENRKey() string { return "udp" }

// ENRKey implements Entry.
func (UDP6) ENRKey() string { return "udp6" }

// ENRKey implements Entry.
func (QUIC) ENRKey() string { return "quic" }

// ENRKey implements Entry.
func (QUIC6) ENRKey() string { return "quic6" }

// AppendRLP implements rlp.Marshaler.
func (v TCP) AppendRLP(dst []byte) ([]byte, error) { return rlp.AppendUint64(dst, uint64(v)), nil }

// AppendRLP implements rlp.Marshaler.
func (v TCP6) AppendRLP(dst []byte) ([]byte, error) { return rlp.AppendUint64(dst, uint64(v)), nil }

// AppendRLP implements rlp.Marshaler.
func (v UDP) AppendRLP(dst []byte) ([]byte, error) { return rlp.AppendUint64(dst, uint64(v)), nil }

// AppendRLP implements rlp.Marshaler.
func (v UDP6) AppendRLP(dst []byte) ([]byte, error) { return rlp.AppendUint64(dst, uint64(v)), nil }

// AppendRLP implements rlp.Marshaler.
func (v QUIC) AppendRLP(dst []byte) ([]byte, error) { return rlp.AppendUint64(dst, uint64(v)), nil }

// AppendRLP implements rlp.Marshaler.
func (v QUIC6) AppendRLP(dst []byte) ([]byte, error) { return rlp.AppendUint64(dst, uint64(v)), nil }

// UnmarshalRLP implements rlp.Unmarshaler.
func (v *TCP) UnmarshalRLP(item []byte) error { return decodePort((*uint16)(v), item) }

// UnmarshalRLP implements rlp.Unmarshaler.
func (v *TCP6) UnmarshalRLP(item []byte) error { return decodePort((*uint16)(v), item) }

// UnmarshalRLP implements rlp.Unmarshaler.
func (v *UDP) UnmarshalRLP(item []byte) error { return decodePort((*uint16)(v), item) }

// UnmarshalRLP implements rlp.Unmarshaler.
func (v *UDP6) UnmarshalRLP(item []byte) error { return decodePort((*uint16)(v), item) }

// UnmarshalRLP implements rlp.Unmarshaler.
func (v *QUIC) UnmarshalRLP(item []byte) error { return decodePort((*uint16)(v), item) }

// UnmarshalRLP implements rlp.Unmarshaler.
func (v *QUIC6) UnmarshalRLP(item []byte) error { return decodePort((*uint16)(v), item) }

// decodePort decodes a canonical RLP integer of at most 16 bits.
func decodePort(p *uint16, item []byte) error {
	x, rest, err := rlp.SplitUint64(item)
	switch {
	case err != nil:
		return err
	case len(rest) != 0:
		return rlp.ErrMoreThanOneValue
	case x > 0xFFFF:
		return rlp.ErrUintOverflow
	}
	*p = uint16(x)
	return nil
}

// splitOne returns the content of item, which must be exactly one RLP string.
func splitOne(item []byte) ([]byte, error) {
	b, rest, err := rlp.SplitString(item)
	if err != nil {
		return nil, err
	}
	if len(rest) != 0 {
		return nil, rlp.ErrMoreThanOneValue
	}
	return b, nil
}

// KeyError is the error returned by Record.Load. It names the key.
type KeyError struct {
	Key string
	Err error
}

// Error implements error.
func (err *KeyError) Error() string {
	if err.Err == errNotFound {
		return fmt.Sprintf("missing ENR key %q", err.Key)
	}
	return fmt.Sprintf("ENR key %q: %v", err.Key, err.Err)
}

// Unwrap returns the underlying error.
func (err *KeyError) Unwrap() error {
	return err.Err
}

// IsNotFound reports whether err means that a key is missing from a record.
func IsNotFound(err error) bool {
	var ke *KeyError
	return errors.As(err, &ke) && ke.Err == errNotFound
}
