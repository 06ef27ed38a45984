package crypto

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"

	"golang.org/x/crypto/sha3"
)

// Keys and derived values of the EIP-8 handshake test vectors
// (/work/shared/vectors/README.md, section 1: the official keys and the
// values derived with go-ethereum v1.17.10).
const (
	vecStaticKeyA    = "49a7b37aa6f6645917e7b807e9d1c00d4fa71f18343b0d4122a4d2df64dd6fee"
	vecStaticKeyB    = "b71c71a67e1177ad4e901695e1b4b9ee17ae16c6668d313eac2f96dbcda3f291"
	vecEphemeralKeyA = "869d6ecf5211f1cc60418a13b9d870b22959d0c16f02bec714c960dd2298a32d"
	vecEphemeralKeyB = "e238eb8e04fee6511ab04c6dd3c89ce097b11f25d584863ac2b6d5b35b1847e4"
	vecNonceA        = "7e968bba13b6c50e2c4cd7f241cc0d64d1ac25c7f5952df231ac6a2bda8ee5d6"

	vecPubA          = "fda1cff674c90c9a197539fe3dfb53086ace64f83ed7c6eabec741f7f381cc803e52ab2cd55d5569bce4347107a310dfd5f88a010cd2ffd1005ca406f1842877"
	vecPubB          = "ca634cae0d49acb401d8a4c6b6fe8c55b70d115bf400769cc1400f3258cd31387574077f301b421bc84df7266c44e9e6d569fc56be00812904767bf5ccd1fc7f"
	vecIDA           = "6469cc2093f39e9117071e660d3ab14bbad3d99f4203bd7a11acb94882050e7e"
	vecIDB           = "a448f24c6d18e575453db13171562b71999873db5b286df957af199ec94617f7"
	vecPubEphemeralA = "654d1044b69c577a44e5f01a1209523adb4026e70c62d1c13a067acabc09d2667a49821a0ad4b634554d330a15a58fe61f8a8e0544b310c6de7b0c8da7528a8d"
	vecPubEphemeralB = "b6d82fa3409da933dbf9cb0140c5dde89f4e64aec88d476af648880f4a10e1e49fe35ef3e69e93dd300b4797765a747c6384a6ecf5db9c2690398607a86181e4"
	vecStaticShared  = "2d21423c1dc3355da36e7f2c2b530eeffcf0680f93201a958b2ec3a7d04958e6"
	vecEphemeralDH   = "1a08ef840fa6b55e5b2630351aa45804cc16b48e526b64e6ee667b224967ef24"

	// Signature carried in Auth₂: the initiator's ephemeral key A signs
	// static-shared-secret XOR Nonce A.
	vecAuthSig = "299ca6acfd35e3d72d8ba3d1e2b60b5561d5af5218eb5bc182045769eb4226910a301acae3b369fffc4a4899d6b02531e89fd4fe36a2cf0d93607ba470b50f7800"

	// curveOrderHex is N; curveOrderHex and above are not private keys.
	curveOrderHex = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustKey(t testing.TB, s string) *PrivateKey {
	t.Helper()
	k, err := HexToPrivateKey(s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestKeyVectors checks public keys, node IDs and ECDH results of the EIP-8
// handshake vectors.
func TestKeyVectors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, key, pub, id string }{
		{"StaticA", vecStaticKeyA, vecPubA, vecIDA},
		{"StaticB", vecStaticKeyB, vecPubB, vecIDB},
		{"EphemeralA", vecEphemeralKeyA, vecPubEphemeralA, ""},
		{"EphemeralB", vecEphemeralKeyB, vecPubEphemeralB, ""},
	} {
		k := mustKey(t, tc.key)
		if got := hex.EncodeToString(k.Public()[:]); got != tc.pub {
			t.Errorf("%s: public key %s, want %s", tc.name, got, tc.pub)
		}
		if got := k.Bytes(); hex.EncodeToString(got[:]) != tc.key {
			t.Errorf("%s: Bytes() = %x", tc.name, got)
		}
		if fresh := publicFast(&k.d); fresh != *k.Public() {
			t.Errorf("%s: fast and constant-time derivation differ", tc.name)
		}
		if tc.id != "" {
			if id := Keccak256(k.Public()[:]); hex.EncodeToString(id[:]) != tc.id {
				t.Errorf("%s: Keccak256(pub) = %x, want %s", tc.name, id, tc.id)
			}
		}
	}

	for _, tc := range []struct{ name, a, b, want string }{
		{"static-shared-secret", vecStaticKeyA, vecStaticKeyB, vecStaticShared},
		{"ephemeral-key", vecEphemeralKeyA, vecEphemeralKeyB, vecEphemeralDH},
	} {
		a, b := mustKey(t, tc.a), mustKey(t, tc.b)
		ab, err := a.ECDH(b.Public())
		if err != nil {
			t.Fatal(err)
		}
		ba, err := b.ECDH(a.Public())
		if err != nil {
			t.Fatal(err)
		}
		if hex.EncodeToString(ab[:]) != tc.want || ab != ba {
			t.Errorf("%s: ECDH = %x / %x, want %s", tc.name, ab, ba, tc.want)
		}
	}
}

func TestPrivateKeyInvalid(t *testing.T) {
	t.Parallel()
	nMinus1 := "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140"
	if _, err := HexToPrivateKey(nMinus1); err != nil {
		t.Errorf("N-1 rejected: %v", err)
	}
	for _, s := range []string{
		strings.Repeat("0", 64),
		curveOrderHex,
		"fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364142",
		strings.Repeat("f", 64),
		strings.Repeat("0", 63),
		strings.Repeat("0", 65),
		"0x" + vecStaticKeyB[2:],
		" " + vecStaticKeyB[1:],
		vecStaticKeyB[:63] + "g",
		"",
	} {
		if _, err := HexToPrivateKey(s); !errors.Is(err, ErrInvalidPrivateKey) {
			t.Errorf("HexToPrivateKey(%q) error = %v, want ErrInvalidPrivateKey", s, err)
		}
	}
	for _, n := range []int{0, 31, 33, 64} {
		if _, err := PrivateKeyFromBytes(make([]byte, n)); !errors.Is(err, ErrInvalidPrivateKey) {
			t.Errorf("PrivateKeyFromBytes(%d bytes) error = %v", n, err)
		}
	}
	if got := mustKey(t, strings.ToUpper(vecStaticKeyB)); got.pub != mustKey(t, vecStaticKeyB).pub {
		t.Error("upper-case hex gives another key")
	}

	// The zero PrivateKey is invalid and says so instead of panicking.
	var zero PrivateKey
	pubB := mustKey(t, vecStaticKeyB).Public()
	if _, err := zero.ECDH(pubB); !errors.Is(err, ErrInvalidPrivateKey) {
		t.Errorf("zero key ECDH error = %v", err)
	}
	if _, err := Sign(make([]byte, 32), &zero); !errors.Is(err, ErrInvalidPrivateKey) {
		t.Errorf("zero key Sign error = %v", err)
	}
	if _, err := Sign(make([]byte, 32), nil); !errors.Is(err, ErrInvalidPrivateKey) {
		t.Errorf("nil key Sign error = %v", err)
	}
	if s := mustKey(t, vecStaticKeyB).String(); strings.Contains(s, vecStaticKeyB[:8]) || !strings.Contains(s, "ca634cae") {
		t.Errorf("String() = %q: must name the public key and hide the scalar", s)
	}
}

// zeroReader returns zeros forever: no valid key can be drawn from it.
type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestGenerateKey(t *testing.T) {
	t.Parallel()
	k1, err := GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	if k1.Bytes() == k2.Bytes() {
		t.Fatal("two random keys are equal")
	}
	d := k1.Bytes()
	if publicConst(&d) != *k1.Public() {
		t.Fatal("GenerateKey public key differs from the constant-time derivation")
	}
	// A deterministic reader gives a deterministic key.
	seed := bytes.Repeat([]byte{0x42}, 32)
	k3, err := GenerateKey(bytes.NewReader(seed))
	if err != nil || hex.EncodeToString(seed) != hex.EncodeToString(k3.d[:]) {
		t.Fatalf("GenerateKey(reader) = %v, %v", k3, err)
	}
	// Invalid draws (zero, ≥ N) are skipped.
	twoDraws := append(mustHex(t, curveOrderHex), seed...)
	if k4, err := GenerateKey(bytes.NewReader(twoDraws)); err != nil || k4.Bytes() != k3.Bytes() {
		t.Fatalf("GenerateKey did not skip N: %v, %v", k4, err)
	}
	if _, err := GenerateKey(zeroReader{}); !errors.Is(err, ErrInvalidPrivateKey) {
		t.Fatalf("GenerateKey(zeros) error = %v", err)
	}
	if _, err := GenerateKey(bytes.NewReader(seed[:10])); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("GenerateKey(short reader) error = %v", err)
	}
}

func TestParsePublicKey(t *testing.T) {
	t.Parallel()
	rng := newTestRand(4)
	for i := range 16 {
		d := randScalar(rng)
		p := decredPubkey(&d)
		if i == 0 {
			p = PublicKey(mustHex(t, vecPubB))
		}
		c, u := p.Compress(), p.Uncompressed()
		for _, enc := range [][]byte{p[:], u[:], c[:]} {
			got, err := ParsePublicKey(enc)
			if err != nil || got != p {
				t.Fatalf("ParsePublicKey(%x) = %x, %v, want %x", enc, got, err, p)
			}
		}
		if c[0] != 0x02+p[63]&1 || u[0] != 0x04 {
			t.Fatalf("bad prefixes %x %x", c[0], u[0])
		}
	}
	pubB := PublicKey(mustHex(t, vecPubB))
	if c := pubB.Compress(); hex.EncodeToString(c[:]) != "03"+vecPubB[:64] {
		t.Errorf("Compress(pub B) = %x", c)
	}
}

func TestParsePublicKeyInvalid(t *testing.T) {
	t.Parallel()
	pub := PublicKey(mustHex(t, vecPubB))
	u, c := pub.Uncompressed(), pub.Compress()
	offCurve := pub
	offCurve[63] ^= 1
	p := mustHex(t, "fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f")
	// x = P is not a reduced coordinate, although it is 0 mod P.
	var unreduced PublicKey
	copy(unreduced[:32], p)
	copy(unreduced[32:], pub[32:])
	// The first small X for which x³ + 7 has no square root.
	var noSqrt [33]byte
	noSqrt[0] = 0x02
	for x := byte(1); ; x++ {
		noSqrt[32] = x
		var tmp PublicKey
		if !decredDecompress(&noSqrt, &tmp) {
			break
		}
	}
	compressedP := append([]byte{0x02}, p...)

	for name, b := range map[string][]byte{
		"empty":              nil,
		"63 bytes":           pub[:63],
		"66 bytes":           append(u[:], 0),
		"32 bytes":           pub[:32],
		"34 bytes":           append(c[:], 0),
		"off curve 64":       offCurve[:],
		"off curve 65":       append([]byte{0x04}, offCurve[:]...),
		"x ≥ P":              unreduced[:],
		"65 prefix 0x00":     append([]byte{0x00}, pub[:]...),
		"hybrid 0x06":        append([]byte{0x06}, pub[:]...),
		"hybrid 0x07":        append([]byte{0x07}, pub[:]...),
		"33 prefix 0x04":     append([]byte{0x04}, pub[:32]...),
		"compressed no sqrt": noSqrt[:],
		"compressed x = P":   compressedP,
		"zero 64":            make([]byte, 64),
	} {
		if _, err := ParsePublicKey(b); !errors.Is(err, ErrInvalidPublicKey) {
			t.Errorf("%s: ParsePublicKey error = %v, want ErrInvalidPublicKey", name, err)
		}
	}

	k := mustKey(t, vecStaticKeyA)
	for name, p := range map[string]*PublicKey{"off curve": &offCurve, "x ≥ P": &unreduced, "zero": {}, "nil": nil} {
		if _, err := k.ECDH(p); !errors.Is(err, ErrInvalidPublicKey) {
			t.Errorf("ECDH(%s) error = %v, want ErrInvalidPublicKey", name, err)
		}
	}
}

// Keccak-256 (original padding) digests: the empty string (the well-known
// "empty code hash" of Ethereum accounts) and "abc".
var keccakVectors = []struct{ in, want string }{
	{"", "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"},
	{"abc", "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"},
}

func TestKeccak256Vectors(t *testing.T) {
	t.Parallel()
	for _, v := range keccakVectors {
		if got := Keccak256([]byte(v.in)); hex.EncodeToString(got[:]) != v.want {
			t.Errorf("Keccak256(%q) = %x, want %s", v.in, got, v.want)
		}
		h := NewKeccak256()
		h.Write([]byte(v.in))
		if got := h.Sum(nil); hex.EncodeToString(got) != v.want {
			t.Errorf("Sum(%q) = %x, want %s", v.in, got, v.want)
		}
	}
	if got := Keccak256(); hex.EncodeToString(got[:]) != keccakVectors[0].want {
		t.Errorf("Keccak256() = %x", got)
	}
}

// TestKeccak256MatchesXCrypto compares the chosen implementation with
// golang.org/x/crypto/sha3 across the rate boundary (136 bytes) and for
// multi-part input.
func TestKeccak256MatchesXCrypto(t *testing.T) {
	t.Parallel()
	data := make([]byte, 3*136+7)
	newTestRand(6).Read(data)
	for n := 0; n <= len(data); n++ {
		ref := sha3.NewLegacyKeccak256()
		ref.Write(data[:n])
		want := ref.Sum(nil)

		got := Keccak256(data[:n/3], data[n/3:n/2], data[n/2:n])
		if !bytes.Equal(got[:], want) {
			t.Fatalf("Keccak256(%d bytes, 3 parts) = %x, want %x", n, got, want)
		}
		h := NewKeccak256()
		h.Write(data[:n])
		if sum := h.Sum(nil); !bytes.Equal(sum, want) {
			t.Fatalf("Sum(%d bytes) = %x, want %x", n, sum, want)
		}
		// Sum does not disturb the state; Read afterwards gives the same digest.
		var out [32]byte
		h.Read(out[:])
		if !bytes.Equal(out[:], want) {
			t.Fatalf("Read(%d bytes) = %x, want %x", n, out, want)
		}
	}
}

func TestKeccakStateInterface(t *testing.T) {
	t.Parallel()
	h := NewKeccak256()
	if h.Size() != 32 || h.BlockSize() != 136 {
		t.Fatalf("Size %d, BlockSize %d", h.Size(), h.BlockSize())
	}
	h.Write([]byte("abc"))
	h.Reset()
	h.Write([]byte("a"))
	h.Write([]byte("bc"))
	var out [32]byte
	h.Read(out[:])
	if hex.EncodeToString(out[:]) != keccakVectors[1].want {
		t.Fatalf("after Reset: %x", out)
	}
	// Read continues to squeeze output after the first 32 bytes, as the
	// RLPx MAC does not need but the interface allows.
	var more [200]byte
	h.Reset()
	h.Write([]byte("abc"))
	h.Read(more[:])
	if !bytes.Equal(more[:32], out[:]) {
		t.Fatal("squeezed output does not start with the digest")
	}
}

// TestKeccakNoAllocs pins the allocation-free paths the RLPx frame MAC relies
// on: Write, Sum into a buffer with room, Read and Reset on a reused state,
// and Keccak256.
func TestKeccakNoAllocs(t *testing.T) {
	h := NewKeccak256()
	data := make([]byte, 1000)
	var out [32]byte
	dst := make([]byte, 0, 32)
	allocs := testing.AllocsPerRun(100, func() {
		h.Reset()
		h.Write(data)
		dst = h.Sum(dst[:0])
		h.Read(out[:])
	})
	if allocs != 0 {
		t.Errorf("Write/Sum/Read/Reset: %v allocations, want 0", allocs)
	}
	if allocs := testing.AllocsPerRun(100, func() { out = Keccak256(data, data[:10]) }); allocs != 0 {
		t.Errorf("Keccak256: %v allocations, want 0", allocs)
	}
}
