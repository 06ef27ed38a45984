// Package crypto provides the secp256k1 and Keccak-256 primitives of devp2p:
// private and public keys, recoverable ECDSA signatures, ECDH, Keccak-256 and
// node key files in go-ethereum's format.
//
// The curve arithmetic has two back-ends chosen at build time. With cgo it uses
// libsecp256k1 (through go-ethereum's leaf package crypto/secp256k1) wherever
// that is faster; with CGO_ENABLED=0 it uses the pure Go
// github.com/decred/dcrd/dcrec/secp256k1/v4 plus a constant-time scalar
// multiplication written here. BENCH.md in this directory records which back-end
// serves which operation and why.
//
// Timing: ECDH and the derivation of the public key of a key loaded with
// PrivateKeyFromBytes, HexToPrivateKey or LoadNodeKey run in constant time in
// both builds. GenerateKey derives the public key with decred's variable-time
// fixed-base table and a variable-time inversion (math/big's GCD), which
// measured faster than libsecp256k1's constant-time multiplication; fresh keys are mostly one-handshake ephemeral keys, and
// go-ethereum's own pure Go build does the same. Signing is constant time with cgo (libsecp256k1) and variable time
// without it (decred, as in go-ethereum's CGO_ENABLED=0 build).
//
// The package never logs, starts goroutines or reads the clock.
package crypto

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/ethereum/go-ethereum/crypto/keccak"
)

// Errors returned for malformed keys and signatures. They are sentinels:
// returned errors match them with errors.Is and may carry more detail.
var (
	// ErrInvalidPrivateKey means a private key scalar is zero, not below the
	// group order N, or not 32 bytes long.
	ErrInvalidPrivateKey = errors.New("crypto: invalid private key")
	// ErrInvalidPublicKey means an encoded public key has the wrong length or
	// prefix, or is not a point on secp256k1.
	ErrInvalidPublicKey = errors.New("crypto: invalid public key")
	// ErrInvalidHashLength means a message hash is not 32 bytes.
	ErrInvalidHashLength = errors.New("crypto: hash must be 32 bytes")
	// ErrInvalidSignature means a signature has the wrong length, r or s is
	// not in [1, N-1], or no public key can be recovered from it.
	ErrInvalidSignature = errors.New("crypto: invalid signature")
	// ErrInvalidRecoveryID means the last byte of a 65-byte signature is not
	// a recovery id in [0, 3].
	ErrInvalidRecoveryID = errors.New("crypto: invalid signature recovery id")
)

// maxKeygenAttempts bounds how often GenerateKey draws 32 bytes before it gives
// up. An honest random source fails a draw with probability below 2^-127.
const maxKeygenAttempts = 16

// PrivateKey is a secp256k1 private key: a scalar k with 0 < k < N, together
// with its public key, which is computed once when the key is made.
//
// The zero value is not a valid key: ECDH, Sign and SaveNodeKey reject it with
// ErrInvalidPrivateKey, and its Public is the all-zero (invalid) PublicKey.
// A PrivateKey is immutable and safe for concurrent use.
type PrivateKey struct {
	d   [32]byte  // big-endian scalar
	pub PublicKey // d·G
}

// PublicKey is a secp256k1 public key as the 64-byte concatenation X‖Y of its
// big-endian affine coordinates, without the 0x04 prefix. This is the form
// devp2p uses on the wire and in node IDs.
//
// Values produced by this package (ParsePublicKey, Recover, PrivateKey.Public)
// are always points on the curve. A PublicKey built by hand is checked where it
// is used (ECDH, Verify) and rejected if it is not on the curve.
type PublicKey [64]byte

// GenerateKey returns a new random private key, reading 32 bytes at a time
// from r until they form a valid scalar. If r is nil, crypto/rand is used.
// The public key is derived with a fast variable-time table; see the package
// documentation.
func GenerateKey(r io.Reader) (*PrivateKey, error) {
	if r == nil {
		r = rand.Reader
	}
	k := new(PrivateKey)
	for range maxKeygenAttempts {
		if _, err := io.ReadFull(r, k.d[:]); err != nil {
			return nil, fmt.Errorf("crypto: reading random key: %w", err)
		}
		if validScalar(&k.d) {
			k.pub = publicFast(&k.d)
			return k, nil
		}
	}
	clear(k.d[:])
	return nil, fmt.Errorf("%w: random source gave no valid scalar in %d attempts", ErrInvalidPrivateKey, maxKeygenAttempts)
}

// PrivateKeyFromBytes returns the private key whose scalar is the 32-byte
// big-endian value b. It fails unless len(b) == 32 and 0 < b < N. The public
// key is derived in constant time.
func PrivateKeyFromBytes(b []byte) (*PrivateKey, error) {
	if len(b) != 32 {
		return nil, fmt.Errorf("%w: length %d, want 32", ErrInvalidPrivateKey, len(b))
	}
	k := new(PrivateKey)
	copy(k.d[:], b)
	if !validScalar(&k.d) {
		return nil, fmt.Errorf("%w: scalar is zero or not below the group order", ErrInvalidPrivateKey)
	}
	k.pub = publicConst(&k.d)
	return k, nil
}

// HexToPrivateKey parses a private key from 64 hexadecimal characters (either
// case, no 0x prefix, no surrounding space), as go-ethereum's HexToECDSA does.
func HexToPrivateKey(s string) (*PrivateKey, error) {
	if len(s) != 64 {
		return nil, fmt.Errorf("%w: want 64 hex characters, got %d", ErrInvalidPrivateKey, len(s))
	}
	var b [32]byte
	defer clear(b[:])
	if _, err := hex.Decode(b[:], []byte(s)); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidPrivateKey, err)
	}
	return PrivateKeyFromBytes(b[:])
}

// Bytes returns the 32-byte big-endian scalar of k.
func (k *PrivateKey) Bytes() [32]byte {
	return k.d
}

// Public returns the public key of k. The result points into k and must not be
// modified.
func (k *PrivateKey) Public() *PublicKey {
	return &k.pub
}

// String returns a description of k that names its public key and never shows
// the secret scalar, so that keys can be logged or printed safely.
func (k *PrivateKey) String() string {
	return "crypto.PrivateKey{pub: " + hex.EncodeToString(k.pub[:4]) + "…}"
}

// ECDH returns the X coordinate of k·pub, the secp256k1 Diffie-Hellman shared
// secret in the form devp2p and go-ethereum's ecies use. The multiplication is
// constant time in the private scalar. It fails if k is not a valid key or pub
// is not a point on the curve.
func (k *PrivateKey) ECDH(pub *PublicKey) ([32]byte, error) {
	if !validScalar(&k.d) {
		return [32]byte{}, ErrInvalidPrivateKey
	}
	if pub == nil || !pub.onCurve() {
		return [32]byte{}, ErrInvalidPublicKey
	}
	x, ok := ecdhConst(&k.d, pub)
	if !ok {
		return [32]byte{}, ErrInvalidPublicKey
	}
	return x, nil
}

// ParsePublicKey decodes a public key in any of its three encodings: 64 bytes
// X‖Y, 65 bytes 0x04‖X‖Y (uncompressed SEC 1) or 33 bytes 0x02/0x03‖X
// (compressed SEC 1). It fails unless the point is on secp256k1.
func ParsePublicKey(b []byte) (PublicKey, error) {
	var p PublicKey
	switch {
	case len(b) == 64:
		copy(p[:], b)
	case len(b) == 65 && b[0] == 0x04:
		copy(p[:], b[1:])
	case len(b) == 33 && (b[0] == 0x02 || b[0] == 0x03):
		if !decompressKey((*[33]byte)(b), &p) {
			return PublicKey{}, fmt.Errorf("%w: compressed X is not on the curve", ErrInvalidPublicKey)
		}
		return p, nil
	case len(b) == 65 || len(b) == 33:
		return PublicKey{}, fmt.Errorf("%w: prefix byte 0x%02x for length %d", ErrInvalidPublicKey, b[0], len(b))
	default:
		return PublicKey{}, fmt.Errorf("%w: length %d, want 33, 64 or 65", ErrInvalidPublicKey, len(b))
	}
	if !p.onCurve() {
		return PublicKey{}, fmt.Errorf("%w: point is not on the curve", ErrInvalidPublicKey)
	}
	return p, nil
}

// Compress returns the 33-byte compressed SEC 1 encoding of p: 0x02 or 0x03
// (for even or odd Y) followed by X.
func (p *PublicKey) Compress() [33]byte {
	var c [33]byte
	c[0] = 0x02 | p[63]&1
	copy(c[1:], p[:32])
	return c
}

// Uncompressed returns the 65-byte uncompressed SEC 1 encoding 0x04‖X‖Y.
func (p *PublicKey) Uncompressed() [65]byte {
	var u [65]byte
	u[0] = 0x04
	copy(u[1:], p[:])
	return u
}

// KeccakState is a Keccak-256 hash state (the original Keccak padding that
// Ethereum uses, not SHA3-256). Besides hash.Hash it has Read, which finishes
// the hash and squeezes output without copying the state: Read(out[:32])
// yields the same 32 bytes as Sum, and is the cheap way to get a digest when
// the state is not written to again. After Read, Write and Sum panic until
// Reset; this is a programming error, not an input error.
//
// Sum(dst[:0]) on a dst with capacity for 32 bytes and Read do not allocate.
// A KeccakState is not safe for concurrent use.
type KeccakState interface {
	hash.Hash
	Read([]byte) (int, error)
}

// NewKeccak256 returns a new Keccak-256 state. It is backed by go-ethereum's
// crypto/keccak (amd64 assembly permutation), which measured as fast as
// golang.org/x/crypto/sha3 on large inputs and slightly faster on 32-byte ones
// (BENCH.md).
func NewKeccak256() KeccakState {
	return keccak.NewLegacyKeccak256().(KeccakState)
}

// Keccak256 returns the Keccak-256 digest of the concatenation of data.
func Keccak256(data ...[]byte) [32]byte {
	h := keccak.NewLegacyKeccak256().(KeccakState)
	for _, b := range data {
		h.Write(b)
	}
	var out [32]byte
	h.Read(out[:])
	return out
}

// validScalar reports whether 0 < d < N, in constant time.
func validScalar(d *[32]byte) bool {
	var s secp256k1.ModNScalar
	overflow := s.SetBytes(d)
	valid := overflow == 0 && !s.IsZero()
	s.Zero()
	return valid
}

// onCurve reports whether p encodes a point on secp256k1: both coordinates
// below the field prime and y² = x³ + 7.
func (p *PublicKey) onCurve() bool {
	var x, y secp256k1.FieldVal
	return p.fieldVals(&x, &y)
}

// fieldVals loads the coordinates of p and reports whether p is on the curve.
// On success x and y are normalized.
func (p *PublicKey) fieldVals(x, y *secp256k1.FieldVal) bool {
	if x.SetByteSlice(p[:32]) || y.SetByteSlice(p[32:]) {
		return false // a coordinate is not below the field prime
	}
	var lhs, rhs secp256k1.FieldVal
	lhs.SquareVal(y).Normalize()
	rhs.SquareVal(x).Mul(x).AddInt(7).Normalize()
	return lhs.Equals(&rhs)
}
