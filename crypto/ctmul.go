package crypto

// A constant-time scalar multiplication for the pure Go build, on top of
// decred's field arithmetic (whose Mul, Square, Add, Negate, MulInt, Normalize
// and Inverse are constant time). decred itself only offers variable-time
// multiplication, which leaks the scalar through timing and through
// secret-dependent table indices; that is unacceptable for a long-lived node
// key used in ECDH with any peer that asks.
//
// Method: projective coordinates (X:Y:Z), x = X/Z, y = Y/Z, with the complete
// addition and doubling formulas for prime-order curves y² = x³ + b of Renes,
// Costello and Batina, "Complete addition formulas for prime order elliptic
// curves" (EUROCRYPT 2016), Algorithms 7 and 9 with b3 = 3b = 21 (applied as
// MulInt(21) then Normalize, cheaper than a Mul). Complete formulas have no
// exceptional cases (identity, P+P, P-P), hence no branches.
// The scalar is consumed in 4-bit windows, most significant first; each window
// is four doublings and one addition of a table entry in {0·P … 15·P} read by
// scanning the whole table with arithmetic masks, so the memory access pattern
// is independent of the scalar.
//
// Magnitudes (decred's bound on unreduced limbs) are tracked in the comments:
// Mul and Square need inputs of magnitude ≤ 8 and return 1; Add sums them;
// NegateVal(v, m) returns m+1.

import (
	"crypto/subtle"
	"encoding/hex"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
)

// ctOps is the constant-time pure Go back-end (key derivation and ECDH only).
var ctOps = curveOps{
	name:   "purego-ct",
	pubkey: ctPubkey,
	ecdh:   ctECDH,
}

// projPoint is a point in homogeneous projective coordinates. Coordinates have
// magnitude ≤ 3 as produced by ctAdd and ctDouble.
type projPoint struct {
	x, y, z secp256k1.FieldVal
}

// generator is the base point G of secp256k1 (SEC 2, section 2.4.1).
var generator = func() PublicKey {
	g, err := hex.DecodeString("79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798" +
		"483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8")
	if err != nil {
		panic(err)
	}
	return PublicKey(g)
}()

// sub sets r = a - b, where b has magnitude mb. r has magnitude mag(a)+mb+1.
func sub(r, a, b *secp256k1.FieldVal, mb uint32) {
	var nb secp256k1.FieldVal
	nb.NegateVal(b, mb)
	r.Add2(a, &nb)
}

// ctAdd sets r = p + q (RCB16 Algorithm 7, a = 0). Inputs have magnitude ≤ 3;
// r has magnitude ≤ 3. r may alias p or q.
func ctAdd(r, p, q *projPoint) {
	var t0, t1, t2, t3, t4, x3, y3, z3 secp256k1.FieldVal
	t0.Mul2(&p.x, &q.x)                   // 1
	t1.Mul2(&p.y, &q.y)                   // 1
	t2.Mul2(&p.z, &q.z)                   // 1
	t3.Add2(&p.x, &p.y)                   // ≤ 6
	t4.Add2(&q.x, &q.y)                   // ≤ 6
	t3.Mul(&t4)                           // 1
	t4.Add2(&t0, &t1)                     // 2
	sub(&t3, &t3, &t4, 2)                 // 4
	t4.Add2(&p.y, &p.z)                   // ≤ 6
	x3.Add2(&q.y, &q.z)                   // ≤ 6
	t4.Mul(&x3)                           // 1
	x3.Add2(&t1, &t2)                     // 2
	sub(&t4, &t4, &x3, 2)                 // 4
	x3.Add2(&p.x, &p.z)                   // ≤ 6
	y3.Add2(&q.x, &q.z)                   // ≤ 6
	x3.Mul(&y3)                           // 1
	y3.Add2(&t0, &t2)                     // 2
	sub(&y3, &x3, &y3, 2)                 // 4
	x3.Add2(&t0, &t0)                     // 2
	t0.Add2(&x3, &t0)                     // 3
	t2.MulInt(21).Normalize()             // b3·t2: 21 → 1
	z3.Add2(&t1, &t2)                     // 2
	sub(&t1, &t1, &t2, 1)                 // 3
	y3.Normalize().MulInt(21).Normalize() // b3·y3: 4 → 1 → 21 → 1
	x3.Mul2(&t4, &y3)                     // 1
	t2.Mul2(&t3, &t1)                     // 1
	sub(&x3, &t2, &x3, 1)                 // 3
	y3.Mul(&t0)                           // 1
	t1.Mul(&z3)                           // 1
	y3.Add(&t1)                           // 2
	t0.Mul(&t3)                           // 1
	z3.Mul(&t4)                           // 1
	z3.Add(&t0)                           // 2
	r.x, r.y, r.z = x3, y3, z3
}

// ctDouble sets r = 2p (RCB16 Algorithm 9, a = 0). Inputs have magnitude ≤ 8;
// r has magnitude ≤ 2. r may alias p.
func ctDouble(r, p *projPoint) {
	var t0, t1, t2, x3, y3, z3 secp256k1.FieldVal
	t0.SquareVal(&p.y)        // 1
	z3.Add2(&t0, &t0)         // 2
	z3.Add(&z3)               // 4
	z3.Add(&z3)               // 8
	t1.Mul2(&p.y, &p.z)       // 1
	t2.SquareVal(&p.z)        // 1
	t2.MulInt(21).Normalize() // b3·t2: 21 → 1
	x3.Mul2(&t2, &z3)         // 1
	y3.Add2(&t0, &t2)         // 2
	z3.Mul(&t1)               // 1
	t1.Add2(&t2, &t2)         // 2
	t2.Add(&t1)               // 3
	sub(&t0, &t0, &t2, 3)     // 5
	y3.Mul(&t0)               // 1
	y3.Add(&x3)               // 2
	t1.Mul2(&p.x, &p.y)       // 1
	x3.Mul2(&t0, &t1)         // 1
	x3.Add(&x3)               // 2
	r.x, r.y, r.z = x3, y3, z3
}

// ctSelect sets r = table[idx] without secret-dependent branches or memory
// indices: every entry is multiplied by 0 or 1 and summed. Table entries must
// be normalized; exactly one term is non-zero, so r has the limbs of that entry
// (magnitude 1).
func ctSelect(r *projPoint, table *[16]projPoint, idx uint8) {
	var t secp256k1.FieldVal
	r.x.Zero()
	r.y.Zero()
	r.z.Zero()
	for i := range table {
		bit := uint8(subtle.ConstantTimeByteEq(uint8(i), idx))
		r.x.Add(t.Set(&table[i].x).MulInt(bit))
		r.y.Add(t.Set(&table[i].y).MulInt(bit))
		r.z.Add(t.Set(&table[i].z).MulInt(bit))
	}
}

// ctScalarMult returns d·P in affine coordinates for d in [1, N-1] and P on
// the curve (given as normalized x, y), in time independent of d. ok is false
// only if the result is the point at infinity, which cannot happen for valid
// inputs.
func ctScalarMult(d *[32]byte, px, py *secp256k1.FieldVal) (x, y secp256k1.FieldVal, ok bool) {
	var table [16]projPoint
	table[0].y.SetInt(1) // identity (0:1:0)
	table[1].x.Set(px)
	table[1].y.Set(py)
	table[1].z.SetInt(1)
	for i := 2; i < 16; i++ {
		if i%2 == 0 {
			ctDouble(&table[i], &table[i/2])
		} else {
			ctAdd(&table[i], &table[i-1], &table[1])
		}
		table[i].x.Normalize()
		table[i].y.Normalize()
		table[i].z.Normalize()
	}

	var acc, entry projPoint
	acc.y.SetInt(1)
	for _, b := range d {
		for _, nibble := range [2]uint8{b >> 4, b & 0x0f} {
			ctDouble(&acc, &acc)
			ctDouble(&acc, &acc)
			ctDouble(&acc, &acc)
			ctDouble(&acc, &acc)
			ctSelect(&entry, &table, nibble)
			ctAdd(&acc, &acc, &entry)
		}
	}
	clear(table[:])

	var zinv secp256k1.FieldVal
	zinv.Set(&acc.z).Normalize()
	ok = !zinv.IsZero()
	zinv.Inverse()
	x.Mul2(&acc.x, &zinv).Normalize()
	y.Mul2(&acc.y, &zinv).Normalize()
	return x, y, ok
}

// ctPubkey computes d·G in constant time.
func ctPubkey(d *[32]byte) PublicKey {
	var gx, gy secp256k1.FieldVal
	generator.fieldVals(&gx, &gy)
	x, y, _ := ctScalarMult(d, &gx, &gy)
	var p PublicKey
	x.PutBytesUnchecked(p[:32])
	y.PutBytesUnchecked(p[32:])
	return p
}

// ctECDH computes the X coordinate of d·pub in constant time.
func ctECDH(d *[32]byte, pub *PublicKey) ([32]byte, bool) {
	var px, py secp256k1.FieldVal
	if !pub.fieldVals(&px, &py) {
		return [32]byte{}, false
	}
	x, _, ok := ctScalarMult(d, &px, &py)
	var out [32]byte
	x.PutBytes(&out)
	return out, ok
}
