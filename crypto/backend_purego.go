//go:build !cgo

package crypto

// Operations of the pure Go build (CGO_ENABLED=0): decred for everything but
// constant-time multiplication, which decred does not offer and ctmul.go
// provides (BENCH.md has the figures).

// nativeOps lists the back-ends that exist only in this build: none.
var nativeOps []curveOps

// publicFast derives the public key of a fresh key with decred's
// variable-time fixed-base table.
func publicFast(d *[32]byte) PublicKey { return decredPubkey(d) }

// publicConst derives the public key of a loaded (long-term) key in constant
// time.
func publicConst(d *[32]byte) PublicKey { return ctPubkey(d) }

// ecdhConst is ECDH in constant time: 1.64× the cost of decred's
// variable-time multiplication (256 µs against 156 µs, BENCH.md), which leaks
// the scalar through timing and secret-indexed tables and is therefore not
// used for ECDH.
func ecdhConst(d *[32]byte, pub *PublicKey) ([32]byte, bool) { return ctECDH(d, pub) }

// signHash makes a recoverable signature. decred multiplies the nonce by G in
// variable time, as go-ethereum's own CGO_ENABLED=0 build does.
func signHash(hash []byte, d *[32]byte) ([65]byte, bool) { return decredSign(hash, d) }

// recoverHash recovers the signer's public key.
func recoverHash(hash, sig []byte) (PublicKey, bool) { return decredRecover(hash, sig) }

// verifyHash checks a 64-byte signature.
func verifyHash(pub *PublicKey, hash, sig []byte) bool { return decredVerify(pub, hash, sig) }

// decompressKey decodes a compressed public key.
func decompressKey(c *[33]byte, p *PublicKey) bool { return decredDecompress(c, p) }
