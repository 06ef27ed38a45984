package crypto

import (
	"errors"
	"fmt"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
)

// SignatureLength is the length of a recoverable signature r‖s‖v.
const SignatureLength = 65

// errSignFailed is returned if a back-end cannot sign a valid input, which
// does not happen with a sound back-end.
var errSignFailed = errors.New("crypto: signing failed")

// Sign signs the 32-byte hash with k and returns the recoverable signature
// r‖s‖v: r and s as 32-byte big-endian integers, s in the lower half of the
// group order ("low s", as Ethereum requires), and the recovery id v in {0, 1}
// (2 and 3 are possible in theory, with probability about 2^-127). Signatures
// are deterministic (RFC 6979), so equal inputs give equal signatures in both
// builds.
func Sign(hash []byte, k *PrivateKey) ([65]byte, error) {
	if len(hash) != 32 {
		return [65]byte{}, fmt.Errorf("%w: got %d", ErrInvalidHashLength, len(hash))
	}
	if k == nil || !validScalar(&k.d) {
		return [65]byte{}, ErrInvalidPrivateKey
	}
	sig, ok := signHash(hash, &k.d)
	if !ok {
		return [65]byte{}, errSignFailed
	}
	return sig, nil
}

// Recover returns the public key that made the 65-byte signature sig (r‖s‖v)
// over the 32-byte hash. Like go-ethereum's Ecrecover it accepts high s and
// recovery ids 0 to 3; it fails if r or s is not in [1, N-1] or no key matches.
func Recover(hash, sig []byte) (PublicKey, error) {
	if len(hash) != 32 {
		return PublicKey{}, fmt.Errorf("%w: got %d", ErrInvalidHashLength, len(hash))
	}
	if len(sig) != SignatureLength {
		return PublicKey{}, fmt.Errorf("%w: length %d, want %d", ErrInvalidSignature, len(sig), SignatureLength)
	}
	if sig[64] > 3 {
		return PublicKey{}, fmt.Errorf("%w: %d", ErrInvalidRecoveryID, sig[64])
	}
	if _, ok := parseRS(sig); !ok {
		return PublicKey{}, fmt.Errorf("%w: r or s is not in [1, N-1]", ErrInvalidSignature)
	}
	pub, ok := recoverHash(hash, sig)
	if !ok {
		return PublicKey{}, fmt.Errorf("%w: no public key recoverable", ErrInvalidSignature)
	}
	return pub, nil
}

// Verify reports whether sig is a valid signature of the 32-byte hash by pub.
// sig is r‖s (64 bytes) or r‖s‖v (65 bytes; v must be in [0, 3] and is
// otherwise ignored). Signatures with s in the upper half of the group order
// are rejected, as are malformed inputs and public keys that are not on the
// curve.
func Verify(pub *PublicKey, hash, sig []byte) bool {
	if pub == nil || len(hash) != 32 {
		return false
	}
	switch {
	case len(sig) == 64:
	case len(sig) == 65 && sig[64] <= 3:
	default:
		return false
	}
	highS, ok := parseRS(sig)
	if !ok || highS || !pub.onCurve() {
		return false
	}
	return verifyHash(pub, hash, sig[:64])
}

// parseRS checks that r and s (the first 64 bytes of sig) are in [1, N-1] and
// reports whether s is above N/2.
func parseRS(sig []byte) (highS, ok bool) {
	var r, s secp256k1.ModNScalar
	if r.SetByteSlice(sig[:32]) || s.SetByteSlice(sig[32:64]) {
		return false, false
	}
	if r.IsZero() || s.IsZero() {
		return false, false
	}
	return s.IsOverHalfOrder(), true
}
