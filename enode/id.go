package enode

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/bits"
	"strings"

	"github.com/devp2p-go/devp2p/crypto"
)

// ID is a node identifier: for the "v4" identity scheme, the Keccak-256 hash
// of the node's 64-byte public key.
type ID [32]byte

// PubkeyToIDV4 returns the "v4" node ID of pub, keccak256(X‖Y).
func PubkeyToIDV4(pub *crypto.PublicKey) ID {
	return ID(crypto.Keccak256(pub[:]))
}

// Bytes returns the ID as a byte slice.
func (n ID) Bytes() []byte {
	return n[:]
}

// String returns the ID as 64 hexadecimal digits.
func (n ID) String() string {
	return hex.EncodeToString(n[:])
}

// GoString returns a call to HexID that yields n, for %#v.
func (n ID) GoString() string {
	return fmt.Sprintf("enode.HexID(%q)", n.String())
}

// TerminalString returns the first 8 bytes of the ID in hex, for logs.
func (n ID) TerminalString() string {
	return hex.EncodeToString(n[:8])
}

// MarshalText implements encoding.TextMarshaler (64 hex digits).
func (n ID) MarshalText() ([]byte, error) {
	return []byte(n.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler; it accepts what ParseID
// accepts.
func (n *ID) UnmarshalText(text []byte) error {
	id, err := ParseID(string(text))
	if err != nil {
		return err
	}
	*n = id
	return nil
}

// ParseID parses a node ID from 64 hexadecimal digits, optionally prefixed
// with "0x".
func ParseID(in string) (ID, error) {
	var id ID
	b, err := hex.DecodeString(strings.TrimPrefix(in, "0x"))
	if err != nil {
		return id, err
	}
	if len(b) != len(id) {
		return id, fmt.Errorf("wrong length, want %d hex chars", len(id)*2)
	}
	copy(id[:], b)
	return id, nil
}

// HexID is like ParseID but panics on invalid input. It is meant for
// constants in programs and tests.
func HexID(in string) ID {
	id, err := ParseID(in)
	if err != nil {
		panic(err)
	}
	return id
}

// DistCmp compares the XOR distances a^target and b^target: it returns -1 if
// a is closer to target, 1 if b is closer, and 0 if they are equal.
func DistCmp(target, a, b ID) int {
	for i := 0; i < len(target); i += 8 {
		t := binary.BigEndian.Uint64(target[i:])
		da := t ^ binary.BigEndian.Uint64(a[i:])
		db := t ^ binary.BigEndian.Uint64(b[i:])
		if da != db {
			if da < db {
				return -1
			}
			return 1
		}
	}
	return 0
}

// LogDist returns the logarithmic distance between a and b, the bit length of
// a^b: 0 if they are equal, 256 if they differ in the first bit.
func LogDist(a, b ID) int {
	lz := 0
	for i := 0; i < len(a); i += 8 {
		x := binary.BigEndian.Uint64(a[i:]) ^ binary.BigEndian.Uint64(b[i:])
		if x != 0 {
			lz += bits.LeadingZeros64(x)
			return len(a)*8 - lz
		}
		lz += 64
	}
	return 0
}
