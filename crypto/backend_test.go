package crypto

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
)

// testBackends lists every back-end compiled into this build.
var testBackends = append([]curveOps{decredOps, ctOps}, nativeOps...)

// selectedOps is what this build's exported functions use.
var selectedOps = curveOps{
	name:    "selected",
	pubkey:  publicConst,
	ecdh:    ecdhConst,
	sign:    signHash,
	recover: recoverHash,
	verify:  verifyHash,

	decompress: decompressKey,
}

// newTestRand returns a deterministic random source for tests.
func newTestRand(seed byte) *rand.ChaCha8 {
	return rand.NewChaCha8([32]byte{seed})
}

// randScalar returns a deterministic pseudo-random valid scalar.
func randScalar(rng *rand.ChaCha8) [32]byte {
	for {
		var d [32]byte
		rng.Read(d[:])
		if validScalar(&d) {
			return d
		}
	}
}

// edgeScalars are scalars that exercise the ends of the range and the window
// boundaries of the constant-time multiplication.
var edgeScalars = []string{
	"0000000000000000000000000000000000000000000000000000000000000001",
	"0000000000000000000000000000000000000000000000000000000000000002",
	"000000000000000000000000000000000000000000000000000000000000000f",
	"0000000000000000000000000000000000000000000000000000000000000010",
	"fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140", // N-1
	"fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd036413f", // N-2
	"8000000000000000000000000000000000000000000000000000000000000000",
	"7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0", // (N-1)/2
}

func testScalars(t testing.TB, n int) [][32]byte {
	rng := newTestRand(1)
	var out [][32]byte
	for _, s := range edgeScalars {
		k, err := HexToPrivateKey(s)
		if err != nil {
			t.Fatalf("edge scalar %s: %v", s, err)
		}
		out = append(out, k.Bytes())
	}
	for range n {
		out = append(out, randScalar(rng))
	}
	return out
}

// TestBackendsAgree checks every back-end against decred on key derivation,
// ECDH, signing, recovery and verification.
func TestBackendsAgree(t *testing.T) {
	t.Parallel()
	n := 24
	if testing.Short() {
		n = 4
	}
	scalars := testScalars(t, n)
	rng := newTestRand(2)
	for _, ops := range append(testBackends, selectedOps) {
		t.Run(ops.name, func(t *testing.T) {
			for i, d := range scalars {
				want := decredPubkey(&d)
				if !want.onCurve() {
					t.Fatalf("decred public key %d not on curve", i)
				}
				if ops.pubkey != nil {
					if got := ops.pubkey(&d); got != want {
						t.Fatalf("pubkey(%x) = %x, want %x", d, got, want)
					}
				}
				other := decredPubkey(&scalars[(i+1)%len(scalars)])
				wantX, _ := decredECDH(&d, &other)
				if ops.ecdh != nil {
					gotX, ok := ops.ecdh(&d, &other)
					if !ok || gotX != wantX {
						t.Fatalf("ecdh(%x) = %x, %v, want %x", d, gotX, ok, wantX)
					}
				}
				var hash [32]byte
				rng.Read(hash[:])
				if ops.sign != nil {
					sig, ok := ops.sign(hash[:], &d)
					wantSig, _ := decredSign(hash[:], &d)
					if !ok || sig != wantSig {
						t.Fatalf("sign(%x) = %x, want %x (RFC 6979 is deterministic)", d, sig, wantSig)
					}
				}
				sig, _ := decredSign(hash[:], &d)
				if ops.recover != nil {
					got, ok := ops.recover(hash[:], sig[:])
					if !ok || got != want {
						t.Fatalf("recover = %x, %v, want %x", got, ok, want)
					}
					hs := highS(sig)
					got, ok = ops.recover(hash[:], hs[:])
					if !ok || got != want {
						t.Fatalf("recover(high s) = %x, %v, want %x", got, ok, want)
					}
				}
				if ops.decompress != nil {
					var got PublicKey
					c := want.Compress()
					if !ops.decompress(&c, &got) || got != want {
						t.Fatalf("decompress(%x) = %x, want %x", c, got, want)
					}
				}
				if ops.verify != nil {
					if !ops.verify(&want, hash[:], sig[:64]) {
						t.Fatalf("verify failed for key %x", d)
					}
					if ops.verify(&other, hash[:], sig[:64]) {
						t.Fatalf("verify accepted the wrong key")
					}
				}
			}
		})
	}
}

// highS returns the other valid form of sig: s' = N - s and the recovery id's
// parity bit flipped.
func highS(sig [65]byte) [65]byte {
	var s secp256k1.ModNScalar
	s.SetByteSlice(sig[32:64])
	s.Negate()
	b := s.Bytes()
	copy(sig[32:64], b[:])
	sig[64] ^= 1
	return sig
}

// TestCtAddDouble checks the complete formulas on their exceptional cases:
// P + P, P + (-P), P + O, O + O and 2·O.
func TestCtAddDouble(t *testing.T) {
	t.Parallel()
	var d [32]byte
	d[31] = 7
	p := decredPubkey(&d)
	var pp projPoint
	if !p.fieldVals(&pp.x, &pp.y) {
		t.Fatal("bad point")
	}
	pp.z.SetInt(1)
	var o projPoint
	o.y.SetInt(1)

	affine := func(q *projPoint) (PublicKey, bool) {
		var z, x, y secp256k1.FieldVal
		z.Set(&q.z).Normalize()
		if z.IsZero() {
			return PublicKey{}, false
		}
		z.Inverse()
		x.Mul2(&q.x, &z).Normalize()
		y.Mul2(&q.y, &z).Normalize()
		var out PublicKey
		x.PutBytesUnchecked(out[:32])
		y.PutBytesUnchecked(out[32:])
		return out, true
	}
	d[31] = 14
	twoP := decredPubkey(&d)

	var r projPoint
	ctAdd(&r, &pp, &pp)
	if got, ok := affine(&r); !ok || got != twoP {
		t.Errorf("P+P = %x, want %x", got, twoP)
	}
	ctDouble(&r, &pp)
	if got, ok := affine(&r); !ok || got != twoP {
		t.Errorf("2P = %x, want %x", got, twoP)
	}
	neg := pp
	neg.y.Negate(1).Normalize()
	ctAdd(&r, &pp, &neg)
	if _, ok := affine(&r); ok {
		t.Errorf("P + (-P) is not the identity")
	}
	ctAdd(&r, &pp, &o)
	if got, ok := affine(&r); !ok || got != p {
		t.Errorf("P + O = %x, want P", got)
	}
	ctAdd(&r, &o, &o)
	if _, ok := affine(&r); ok {
		t.Errorf("O + O is not the identity")
	}
	ctDouble(&r, &o)
	if _, ok := affine(&r); ok {
		t.Errorf("2·O is not the identity")
	}
}

// TestGeneratorConstant checks the hard-coded base point against decred.
func TestGeneratorConstant(t *testing.T) {
	var one [32]byte
	one[31] = 1
	if g := decredPubkey(&one); !bytes.Equal(g[:], generator[:]) {
		t.Fatalf("generator = %x, want %x", generator, g)
	}
}
