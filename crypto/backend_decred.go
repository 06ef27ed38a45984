package crypto

// The pure Go back-end: github.com/decred/dcrd/dcrec/secp256k1/v4. It is
// compiled into both builds: without cgo it serves every operation but ECDH
// and constant-time key derivation (see ctmul.go); with cgo it serves the
// operations where it measured faster than libsecp256k1 (BENCH.md).
//
// Back-end functions take inputs the exported API has already checked: scalars
// in [1, N-1], public keys on the curve, 32-byte hashes, signatures with r and s
// in [1, N-1] and a recovery id in [0, 3].

import (
	"math/big"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
)

// compactSigMagic is the offset decred (like Bitcoin) adds to the recovery id
// in the first byte of a compact signature.
const compactSigMagic = 27

// decredOps is the decred back-end.
var decredOps = curveOps{
	name:    "decred",
	pubkey:  decredPubkey,
	ecdh:    decredECDH,
	sign:    decredSign,
	recover: decredRecover,
	verify:  decredVerify,

	decompress: decredDecompress,
}

// curveOps is one back-end's implementation of the curve operations, so that
// tests and benchmarks can run the back-ends side by side. A nil field means
// the back-end does not provide that operation.
type curveOps struct {
	name    string
	pubkey  func(d *[32]byte) PublicKey
	ecdh    func(d *[32]byte, pub *PublicKey) ([32]byte, bool)
	sign    func(hash []byte, d *[32]byte) ([65]byte, bool)
	recover func(hash, sig []byte) (PublicKey, bool)
	verify  func(pub *PublicKey, hash, sig []byte) bool

	decompress func(c *[33]byte, p *PublicKey) bool
}

// decredPubkey computes d·G with decred's precomputed byte-wise table. It is
// variable time, and so is its conversion to affine coordinates.
func decredPubkey(d *[32]byte) PublicKey {
	var k secp256k1.ModNScalar
	k.SetBytes(d)
	var r secp256k1.JacobianPoint
	secp256k1.ScalarBaseMultNonConst(&k, &r)
	k.Zero()
	var p PublicKey
	affineVarTime(&r, &p)
	return p
}

// fieldPrime is the secp256k1 field prime P.
var fieldPrime = secp256k1.S256().P

// affineVarTime writes the affine coordinates of the Jacobian point r (not the
// point at infinity) to p. It inverts Z with math/big's variable-time extended
// GCD (about 1 µs here) instead of decred's Fermat inversion (ToAffine, about
// 13 µs), which is a third of a key generation (BENCH.md). Only for the
// variable-time key derivation: the GCD's running time depends on Z.
func affineVarTime(r *secp256k1.JacobianPoint, p *PublicKey) {
	var zb [32]byte
	r.Z.Normalize()
	r.Z.PutBytesUnchecked(zb[:])
	var z big.Int
	z.SetBytes(zb[:])
	z.ModInverse(&z, fieldPrime)
	z.FillBytes(zb[:])
	var zInv, zInv2 secp256k1.FieldVal
	zInv.SetBytes(&zb)
	zInv2.SquareVal(&zInv)
	r.X.Mul(&zInv2).Normalize()
	r.Y.Mul(zInv2.Mul(&zInv)).Normalize()
	r.X.PutBytesUnchecked(p[:32])
	r.Y.PutBytesUnchecked(p[32:])
}

// decredECDH computes the X coordinate of d·pub with decred's GLV/wNAF
// multiplication. It is variable time and only used in benchmarks.
func decredECDH(d *[32]byte, pub *PublicKey) ([32]byte, bool) {
	var k secp256k1.ModNScalar
	k.SetBytes(d)
	var p, r secp256k1.JacobianPoint
	if !pub.fieldVals(&p.X, &p.Y) {
		return [32]byte{}, false
	}
	p.Z.SetInt(1)
	secp256k1.ScalarMultNonConst(&k, &p, &r)
	k.Zero()
	if r.Z.IsZero() {
		return [32]byte{}, false
	}
	r.ToAffine()
	var x [32]byte
	r.X.PutBytes(&x)
	return x, true
}

// decredSign makes a deterministic (RFC 6979), low-s recoverable signature
// r‖s‖v. decred multiplies the nonce by G in variable time.
func decredSign(hash []byte, d *[32]byte) ([65]byte, bool) {
	key := secp256k1.PrivKeyFromBytes(d[:])
	compact := ecdsa.SignCompact(key, hash, false)
	key.Zero()
	var sig [65]byte
	copy(sig[:64], compact[1:])
	sig[64] = compact[0] - compactSigMagic
	return sig, true
}

// decredRecover recovers the public key from a 65-byte signature r‖s‖v.
func decredRecover(hash, sig []byte) (PublicKey, bool) {
	var compact [65]byte
	compact[0] = compactSigMagic + sig[64]
	copy(compact[1:], sig[:64])
	pub, _, err := ecdsa.RecoverCompact(compact[:], hash)
	if err != nil {
		return PublicKey{}, false
	}
	var p PublicKey
	copy(p[:], pub.SerializeUncompressed()[1:])
	return p, true
}

// decredVerify checks the 64-byte signature r‖s against pub and hash.
func decredVerify(pub *PublicKey, hash, sig []byte) bool {
	var r, s secp256k1.ModNScalar
	if r.SetByteSlice(sig[:32]) || s.SetByteSlice(sig[32:64]) {
		return false
	}
	var x, y secp256k1.FieldVal
	if !pub.fieldVals(&x, &y) {
		return false
	}
	return ecdsa.NewSignature(&r, &s).Verify(hash, secp256k1.NewPublicKey(&x, &y))
}

// decredDecompress sets p to the point with the compressed encoding c
// (0x02 or 0x03 ‖ X); the prefix has been checked.
func decredDecompress(c *[33]byte, p *PublicKey) bool {
	var x, y secp256k1.FieldVal
	if x.SetByteSlice(c[1:]) {
		return false // X is not below the field prime
	}
	if !secp256k1.DecompressY(&x, c[0] == 0x03, &y) {
		return false
	}
	x.PutBytesUnchecked(p[:32])
	y.PutBytesUnchecked(p[32:])
	return true
}
