package crypto

import (
	"encoding/hex"
	"errors"
	"testing"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
)

// A discv4 ping packet from EIP-8 (vectors README section 4.1; also in
// go-ethereum's v4wire tests): hash(32) ‖ signature(65) ‖ type ‖ data, signed
// by the key B over keccak256(type ‖ data), with hash = keccak256(signature ‖
// type ‖ data).
const vecPing = `
e9614ccfd9fc3e74360018522d30e1419a143407ffcce748de3e22116b7e8dc92ff74788c0b6663a
aa3d67d641936511c8f8d6ad8698b820a7cf9e1be7155e9a241f556658c55428ec0563514365799a
4be2be5a685a80971ddcfa80cb422cdd0101ec04cb847f000001820cfa8215a8d790000000000000
000000000000000000018208ae820d058443b9a3550102`

func TestSignRecoverVerify(t *testing.T) {
	t.Parallel()
	rng := newTestRand(5)
	for i := range 64 {
		d := randScalar(rng)
		k, err := PrivateKeyFromBytes(d[:])
		if err != nil {
			t.Fatal(err)
		}
		var hash [32]byte
		rng.Read(hash[:])
		sig, err := Sign(hash[:], k)
		if err != nil {
			t.Fatal(err)
		}
		if sig[64] > 1 {
			t.Fatalf("recovery id %d", sig[64])
		}
		if highS, ok := parseRS(sig[:]); !ok || highS {
			t.Fatalf("signature %x: valid %v, high s %v", sig, ok, highS)
		}
		if again, _ := Sign(hash[:], k); again != sig {
			t.Fatalf("signing is not deterministic")
		}
		pub, err := Recover(hash[:], sig[:])
		if err != nil || pub != *k.Public() {
			t.Fatalf("Recover = %x, %v, want %x", pub, err, k.Public())
		}
		if !Verify(&pub, hash[:], sig[:]) || !Verify(&pub, hash[:], sig[:64]) {
			t.Fatalf("Verify failed (key %d)", i)
		}
		hash[i%32] ^= 1 << (i % 8)
		if Verify(&pub, hash[:], sig[:64]) {
			t.Fatalf("Verify accepted a changed hash")
		}
		if got, err := Recover(hash[:], sig[:]); err == nil && got == pub {
			t.Fatalf("Recover on a changed hash gave the signer")
		}
	}
}

// TestRecoverVectors recovers signers from signatures made by other
// implementations.
func TestRecoverVectors(t *testing.T) {
	t.Parallel()
	// EIP-8 Auth₂: ephemeral key A signs static-shared-secret XOR Nonce A.
	shared, nonce := mustHex(t, vecStaticShared), mustHex(t, vecNonceA)
	msg := make([]byte, 32)
	for i := range msg {
		msg[i] = shared[i] ^ nonce[i]
	}
	sig := mustHex(t, vecAuthSig)
	pub, err := Recover(msg, sig)
	if err != nil || hex.EncodeToString(pub[:]) != vecPubEphemeralA {
		t.Errorf("Recover(Auth₂ signature) = %x, %v, want %s", pub, err, vecPubEphemeralA)
	}
	if !Verify(&pub, msg, sig) {
		t.Error("Verify(Auth₂ signature) failed")
	}
	// The vector's signature was not made with RFC 6979 nonces, so ours
	// differs; it must still recover to the same key.
	mine, err := Sign(msg, mustKey(t, vecEphemeralKeyA))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := Recover(msg, mine[:]); err != nil || got != pub {
		t.Errorf("Recover(our Auth₂ signature) = %x, %v", got, err)
	}

	// EIP-8 discv4 ping, signed by B.
	pkt := mustHex(t, vecPing)
	if h := Keccak256(pkt[32:]); hex.EncodeToString(h[:]) != hex.EncodeToString(pkt[:32]) {
		t.Errorf("ping hash = %x, want %x", h, pkt[:32])
	}
	sigHash := Keccak256(pkt[97:])
	pub, err = Recover(sigHash[:], pkt[32:97])
	if err != nil || hex.EncodeToString(pub[:]) != vecPubB {
		t.Errorf("Recover(ping) = %x, %v, want %s", pub, err, vecPubB)
	}
}

func TestSignatureInvalid(t *testing.T) {
	t.Parallel()
	k := mustKey(t, vecStaticKeyB)
	hash := Keccak256([]byte("devp2p"))
	sig, err := Sign(hash[:], k)
	if err != nil {
		t.Fatal(err)
	}
	pub := k.Public()

	with := func(f func(s []byte)) []byte {
		s := append([]byte(nil), sig[:]...)
		f(s)
		return s
	}
	order := mustHex(t, curveOrderHex)
	high := highS(sig)

	// High s: Recover accepts it (as go-ethereum's Ecrecover does), Verify
	// does not.
	if got, err := Recover(hash[:], high[:]); err != nil || got != *pub {
		t.Errorf("Recover(high s) = %x, %v", got, err)
	}
	if Verify(pub, hash[:], high[:]) || Verify(pub, hash[:], high[:64]) {
		t.Error("Verify accepted high s")
	}

	badSigs := map[string][]byte{
		"recovery id 4":  with(func(s []byte) { s[64] = 4 }),
		"recovery id 27": with(func(s []byte) { s[64] = 27 }),
		"r = 0":          with(func(s []byte) { clear(s[:32]) }),
		"s = 0":          with(func(s []byte) { clear(s[32:64]) }),
		"r = N":          with(func(s []byte) { copy(s[:32], order) }),
		"s = N":          with(func(s []byte) { copy(s[32:64], order) }),
		"r = 2^256-1":    with(func(s []byte) { copy(s[:32], mustHex(t, "ff"+curveOrderHex[2:62]+"ff")) }),
		"64 bytes":       sig[:64],
		"66 bytes":       append(sig[:], 0),
		"empty":          nil,
	}
	wantErr := map[string]error{
		"recovery id 4": ErrInvalidRecoveryID, "recovery id 27": ErrInvalidRecoveryID,
	}
	for name, s := range badSigs {
		want := wantErr[name]
		if want == nil {
			want = ErrInvalidSignature
		}
		if _, err := Recover(hash[:], s); !errors.Is(err, want) {
			t.Errorf("Recover(%s) error = %v, want %v", name, err, want)
		}
		if name != "64 bytes" && Verify(pub, hash[:], s) {
			t.Errorf("Verify(%s) = true", name)
		}
	}

	// r whose point does not exist: x = r with no y on the curve.
	var noPoint [65]byte
	copy(noPoint[32:64], sig[32:64])
	for x := byte(1); ; x++ {
		noPoint[31] = x
		var c [33]byte
		c[0] = 0x02
		copy(c[1:], noPoint[:32])
		var tmp PublicKey
		if !decredDecompress(&c, &tmp) {
			break
		}
	}
	if _, err := Recover(hash[:], noPoint[:]); !errors.Is(err, ErrInvalidSignature) {
		t.Errorf("Recover(r not an x coordinate) error = %v", err)
	}

	for _, n := range []int{0, 31, 33} {
		h := make([]byte, n)
		if _, err := Sign(h, k); !errors.Is(err, ErrInvalidHashLength) {
			t.Errorf("Sign(%d-byte hash) error = %v", n, err)
		}
		if _, err := Recover(h, sig[:]); !errors.Is(err, ErrInvalidHashLength) {
			t.Errorf("Recover(%d-byte hash) error = %v", n, err)
		}
		if Verify(pub, h, sig[:]) {
			t.Errorf("Verify(%d-byte hash) = true", n)
		}
	}

	offCurve := *pub
	offCurve[0] ^= 1
	if Verify(&offCurve, hash[:], sig[:]) || Verify(nil, hash[:], sig[:]) || Verify(&PublicKey{}, hash[:], sig[:]) {
		t.Error("Verify accepted an invalid public key")
	}
	if Verify(mustKey(t, vecStaticKeyA).Public(), hash[:], sig[:]) {
		t.Error("Verify accepted another key")
	}
}

// TestHighSHelper checks the test helper: N - s of a low s is high.
func TestHighSHelper(t *testing.T) {
	sig, _ := Sign(make([]byte, 32), mustKey(t, vecStaticKeyA))
	h := highS(sig)
	var s secp256k1.ModNScalar
	s.SetByteSlice(h[32:64])
	if !s.IsOverHalfOrder() || h[64] == sig[64] {
		t.Fatalf("highS(%x) = %x", sig, h)
	}
}
