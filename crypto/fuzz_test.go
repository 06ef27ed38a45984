package crypto

import (
	"bytes"
	"testing"
)

// FuzzParsePublicKey checks that ParsePublicKey never panics, accepts only
// points on the curve, and that every encoding of an accepted key parses back
// to it.
func FuzzParsePublicKey(f *testing.F) {
	pub := PublicKey(mustHex(f, vecPubB))
	u, c := pub.Uncompressed(), pub.Compress()
	f.Add(pub[:])
	f.Add(u[:])
	f.Add(c[:])
	f.Add([]byte{0x02})
	f.Add(append([]byte{0x03}, mustHex(f, curveOrderHex)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePublicKey(b)
		if err != nil {
			return
		}
		if !p.onCurve() {
			t.Fatalf("accepted %x, not on the curve", b)
		}
		u, c := p.Uncompressed(), p.Compress()
		for _, enc := range [][]byte{p[:], u[:], c[:]} {
			if q, err := ParsePublicKey(enc); err != nil || q != p {
				t.Fatalf("re-parsing %x: %x, %v", enc, q, err)
			}
		}
		// Every back-end decompresses alike.
		for _, ops := range testBackends {
			if ops.decompress == nil {
				continue
			}
			var q PublicKey
			if !ops.decompress(&c, &q) || q != p {
				t.Fatalf("%s: decompress(%x) = %x", ops.name, c, q)
			}
		}
	})
}

// FuzzRecover checks that Recover never panics and that all back-ends recover
// the same key from any signature the API accepts.
func FuzzRecover(f *testing.F) {
	shared, nonce := mustHex(f, vecStaticShared), mustHex(f, vecNonceA)
	msg := make([]byte, 32)
	for i := range msg {
		msg[i] = shared[i] ^ nonce[i]
	}
	f.Add(msg, mustHex(f, vecAuthSig))
	pkt := mustHex(f, vecPing)
	h := Keccak256(pkt[97:])
	f.Add(h[:], pkt[32:97])
	f.Fuzz(func(t *testing.T, hash, sig []byte) {
		pub, err := Recover(hash, sig)
		if err != nil {
			return
		}
		for _, ops := range testBackends {
			if ops.recover == nil {
				continue
			}
			if got, ok := ops.recover(hash, sig); !ok || got != pub {
				t.Fatalf("%s: recover = %x, %v, want %x", ops.name, got, ok, pub)
			}
		}
		// A low-s signature that recovers to pub also verifies against it.
		if highS, _ := parseRS(sig); !highS && !Verify(&pub, hash, sig) {
			t.Fatalf("recovered %x but Verify fails", pub)
		}
	})
}

// FuzzScalarMult compares the constant-time multiplication with decred's on
// fuzzer-chosen scalars and points.
func FuzzScalarMult(f *testing.F) {
	for _, s := range edgeScalars {
		f.Add(mustHex(f, s), mustHex(f, vecStaticKeyB))
	}
	f.Add(mustHex(f, vecStaticKeyA), mustHex(f, vecStaticKeyB))
	f.Fuzz(func(t *testing.T, db, eb []byte) {
		if len(db) != 32 || len(eb) != 32 {
			return
		}
		d, e := [32]byte(db), [32]byte(eb)
		if !validScalar(&d) || !validScalar(&e) {
			return
		}
		if got, want := ctPubkey(&d), decredPubkey(&d); got != want {
			t.Fatalf("ctPubkey(%x) = %x, want %x", d, got, want)
		}
		p := decredPubkey(&e)
		got, ok := ctECDH(&d, &p)
		want, _ := decredECDH(&d, &p)
		if !ok || !bytes.Equal(got[:], want[:]) {
			t.Fatalf("ctECDH(%x, %x) = %x, want %x", d, p, got, want)
		}
	})
}
