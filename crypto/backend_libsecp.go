//go:build cgo

package crypto

// The cgo back-end: libsecp256k1 through go-ethereum's leaf package
// crypto/secp256k1. That package exposes Sign (RFC 6979, low s, constant
// time), RecoverPubkey, VerifySignature (rejects high s), DecompressPubkey,
// CompressPubkey and S256().ScalarMult, which calls libsecp256k1's
// secp256k1_ecmult_const: a constant-time multiplication of an arbitrary point.
// It does not expose the fixed-base table (secp256k1_ec_pubkey_create), so key
// derivation here goes through the generic multiplication of G. (The package
// itself imports go-ethereum's common/math, a leaf; nothing else of
// go-ethereum is used.)
//
// Back-end functions take inputs the exported API has already checked (see
// backend_decred.go). ScalarMult does not check that its point is on the
// curve; callers have.

import (
	"math/big"

	"github.com/ethereum/go-ethereum/crypto/secp256k1"
)

// libsecpOps is the libsecp256k1 back-end.
var libsecpOps = curveOps{
	name:    "libsecp256k1",
	pubkey:  libsecpPubkey,
	ecdh:    libsecpECDH,
	sign:    libsecpSign,
	recover: libsecpRecover,
	verify:  libsecpVerify,

	decompress: libsecpDecompress,
}

// nativeOps lists the back-ends that exist only in this build, for tests and
// benchmarks.
var nativeOps = []curveOps{libsecpOps}

// Operations of the cgo build, each from the back-end that measured fastest
// among those acceptable for it (BENCH.md).

// publicFast derives the public key of a fresh key: decred's variable-time
// fixed-base table measured 12% faster than libsecp256k1's generic
// constant-time multiplication of G (BENCH.md).
func publicFast(d *[32]byte) PublicKey { return decredPubkey(d) }

// publicConst derives the public key of a loaded (long-term) key in constant
// time.
func publicConst(d *[32]byte) PublicKey { return libsecpPubkey(d) }

// ecdhConst is ECDH in constant time.
func ecdhConst(d *[32]byte, pub *PublicKey) ([32]byte, bool) { return libsecpECDH(d, pub) }

// signHash makes a recoverable signature in constant time.
func signHash(hash []byte, d *[32]byte) ([65]byte, bool) { return libsecpSign(hash, d) }

// recoverHash recovers the signer's public key.
func recoverHash(hash, sig []byte) (PublicKey, bool) { return libsecpRecover(hash, sig) }

// verifyHash checks a 64-byte signature.
func verifyHash(pub *PublicKey, hash, sig []byte) bool { return libsecpVerify(pub, hash, sig) }

// decompressKey decodes a compressed public key.
func decompressKey(c *[33]byte, p *PublicKey) bool { return libsecpDecompress(c, p) }

// libsecpPubkey computes d·G with secp256k1_ecmult_const.
func libsecpPubkey(d *[32]byte) PublicKey {
	x, y := secp256k1.S256().ScalarBaseMult(d[:])
	var p PublicKey
	if x == nil {
		return p
	}
	x.FillBytes(p[:32])
	y.FillBytes(p[32:])
	return p
}

// libsecpECDH computes the X coordinate of d·pub with secp256k1_ecmult_const.
func libsecpECDH(d *[32]byte, pub *PublicKey) ([32]byte, bool) {
	px := new(big.Int).SetBytes(pub[:32])
	py := new(big.Int).SetBytes(pub[32:])
	x, _ := secp256k1.S256().ScalarMult(px, py, d[:])
	var out [32]byte
	if x == nil {
		return out, false
	}
	x.FillBytes(out[:])
	return out, true
}

// libsecpSign makes a deterministic (RFC 6979), low-s recoverable signature.
func libsecpSign(hash []byte, d *[32]byte) ([65]byte, bool) {
	var sig [65]byte
	s, err := secp256k1.Sign(hash, d[:])
	if err != nil {
		return sig, false
	}
	copy(sig[:], s)
	return sig, true
}

// libsecpRecover recovers the public key from a 65-byte signature r‖s‖v.
func libsecpRecover(hash, sig []byte) (PublicKey, bool) {
	var p PublicKey
	u, err := secp256k1.RecoverPubkey(hash, sig)
	if err != nil || len(u) != 65 {
		return p, false
	}
	copy(p[:], u[1:])
	return p, true
}

// libsecpVerify checks the 64-byte signature r‖s against pub and hash.
func libsecpVerify(pub *PublicKey, hash, sig []byte) bool {
	u := pub.Uncompressed()
	return secp256k1.VerifySignature(u[:], hash, sig[:64])
}

// libsecpDecompress sets p to the point with the given compressed encoding.
func libsecpDecompress(c *[33]byte, p *PublicKey) bool {
	x, y := secp256k1.DecompressPubkey(c[:])
	if x == nil {
		return false
	}
	x.FillBytes(p[:32])
	y.FillBytes(p[32:])
	return true
}
