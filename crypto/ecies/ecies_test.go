package ecies

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/devp2p-go/devp2p/crypto"
)

func mustKey(t testing.TB, s string) *crypto.PrivateKey {
	t.Helper()
	k, err := crypto.HexToPrivateKey(s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestEncryptDecrypt(t *testing.T) {
	t.Parallel()
	k := mustKey(t, staticKeyB)
	rng := rand.NewChaCha8([32]byte{1})
	for _, n := range []int{0, 1, 15, 16, 17, 100, 194, 1000, 4096} {
		msg := make([]byte, n)
		rng.Read(msg)
		for _, shared := range [][2][]byte{{nil, nil}, {[]byte("s1"), nil}, {nil, []byte{0x01, 0xb3}}, {[]byte("one"), []byte("two")}} {
			s1, s2 := shared[0], shared[1]
			ct, err := Encrypt(nil, k.Public(), msg, s1, s2)
			if err != nil {
				t.Fatal(err)
			}
			if len(ct) != n+Overhead || ct[0] != 0x04 {
				t.Fatalf("ciphertext of %d bytes for %d-byte message, prefix %x", len(ct), n, ct[0])
			}
			pt, err := Decrypt(k, ct, s1, s2)
			if err != nil || !bytes.Equal(pt, msg) {
				t.Fatalf("Decrypt(%d bytes, s1 %q, s2 %q) = %x, %v", n, s1, s2, pt, err)
			}
		}
	}
}

// TestEncryptDeterministic checks that Encrypt takes all its randomness from
// r: the ephemeral key first, then the IV.
func TestEncryptDeterministic(t *testing.T) {
	t.Parallel()
	pub := mustKey(t, staticKeyB).Public()
	msg := []byte("hello devp2p")
	seed := bytes.Repeat([]byte{0x11}, 48)
	ct1, err := Encrypt(bytes.NewReader(seed), pub, msg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ct2, _ := Encrypt(bytes.NewReader(seed), pub, msg, nil, nil)
	if !bytes.Equal(ct1, ct2) {
		t.Fatal("same randomness gave different ciphertexts")
	}
	eph, _ := crypto.PrivateKeyFromBytes(seed[:32])
	if u := eph.Public().Uncompressed(); !bytes.Equal(ct1[:65], u[:]) || !bytes.Equal(ct1[65:81], seed[32:48]) {
		t.Fatal("ciphertext does not start with R = r·G and the IV read from r")
	}
	if _, err := Encrypt(bytes.NewReader(seed[:40]), pub, msg, nil, nil); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("short randomness: error %v", err)
	}
}

// TestDecryptTampered flips every bit of a ciphertext and truncates it at
// every length: each must fail with a typed error, never succeed.
func TestDecryptTampered(t *testing.T) {
	t.Parallel()
	k := mustKey(t, staticKeyB)
	s1, s2 := []byte("shared one"), []byte{0x00, 0x99}
	msg := []byte("a short message of some bytes")
	ct, err := Encrypt(nil, k.Public(), msg, s1, s2)
	if err != nil {
		t.Fatal(err)
	}
	typed := func(err error) bool {
		return errors.Is(err, ErrInvalidMAC) || errors.Is(err, ErrInvalidPublicKey) || errors.Is(err, ErrInvalidMessage)
	}
	for i := range ct {
		for bit := range 8 {
			bad := bytes.Clone(ct)
			bad[i] ^= 1 << bit
			pt, err := Decrypt(k, bad, s1, s2)
			if err == nil || !typed(err) {
				t.Fatalf("flip byte %d bit %d: Decrypt = %x, %v", i, bit, pt, err)
			}
			// A flip in the body or tag leaves R valid: only the MAC catches it.
			if i >= 65 && !errors.Is(err, ErrInvalidMAC) {
				t.Fatalf("flip byte %d bit %d: error %v, want ErrInvalidMAC", i, bit, err)
			}
		}
	}
	for n := range len(ct) {
		_, err := Decrypt(k, ct[:n], s1, s2)
		if !typed(err) {
			t.Fatalf("truncated to %d bytes: error %v", n, err)
		}
		if n < Overhead && !errors.Is(err, ErrInvalidMessage) {
			t.Fatalf("truncated to %d bytes: error %v, want ErrInvalidMessage", n, err)
		}
	}
	if _, err := Decrypt(k, append(bytes.Clone(ct), 0), s1, s2); !errors.Is(err, ErrInvalidMAC) {
		t.Fatalf("extended: error %v", err)
	}
	for name, sh := range map[string][2][]byte{
		"wrong s1": {[]byte("shared two"), s2},
		"wrong s2": {s1, []byte{0x00, 0x98}},
		"no s2":    {s1, nil},
		"no s1":    {nil, s2},
	} {
		if _, err := Decrypt(k, ct, sh[0], sh[1]); !errors.Is(err, ErrInvalidMAC) {
			t.Errorf("%s: error %v, want ErrInvalidMAC", name, err)
		}
	}
	if _, err := Decrypt(mustKey(t, staticKeyA), ct, s1, s2); !errors.Is(err, ErrInvalidMAC) {
		t.Errorf("wrong key: error %v, want ErrInvalidMAC", err)
	}
}

func TestInvalidArguments(t *testing.T) {
	t.Parallel()
	k := mustKey(t, staticKeyB)
	ct, _ := Encrypt(nil, k.Public(), []byte("x"), nil, nil)
	if _, err := Decrypt(nil, ct, nil, nil); !errors.Is(err, crypto.ErrInvalidPrivateKey) {
		t.Errorf("nil key: %v", err)
	}
	if _, err := Decrypt(&crypto.PrivateKey{}, ct, nil, nil); !errors.Is(err, crypto.ErrInvalidPrivateKey) {
		t.Errorf("zero key: %v", err)
	}
	for _, prefix := range []byte{0x00, 0x02, 0x03, 0x05, 0x06} {
		bad := bytes.Clone(ct)
		bad[0] = prefix
		if _, err := Decrypt(k, bad, nil, nil); !errors.Is(err, ErrInvalidPublicKey) {
			t.Errorf("prefix %#x: %v", prefix, err)
		}
	}
	offCurve := *k.Public()
	offCurve[10] ^= 1
	for name, pub := range map[string]*crypto.PublicKey{"nil": nil, "zero": {}, "off curve": &offCurve} {
		if _, err := Encrypt(nil, pub, []byte("x"), nil, nil); !errors.Is(err, ErrInvalidPublicKey) {
			t.Errorf("Encrypt to %s key: %v", name, err)
		}
	}
}

// FuzzDecrypt checks that Decrypt never panics and that whatever it accepts has
// the right length. Seeds are valid ciphertexts (with and without s2) and
// near-misses.
func FuzzDecrypt(f *testing.F) {
	k := mustKey(f, staticKeyB)
	for _, msg := range [][]byte{nil, []byte("x"), bytes.Repeat([]byte("devp2p"), 40)} {
		for _, s2 := range [][]byte{nil, {0x01, 0xb3}} {
			ct, err := Encrypt(nil, k.Public(), msg, nil, s2)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(ct, s2)
			f.Add(ct[:len(ct)-1], s2)
		}
	}
	auth2 := mustHex(f, eip8Auth2)
	f.Add(auth2[2:], auth2[:2])
	f.Add([]byte{}, []byte{})
	f.Add([]byte{0x04}, []byte{})
	f.Fuzz(func(t *testing.T, ct, s2 []byte) {
		pt, err := Decrypt(k, ct, nil, s2)
		if err != nil {
			if !errors.Is(err, ErrInvalidMAC) && !errors.Is(err, ErrInvalidPublicKey) && !errors.Is(err, ErrInvalidMessage) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		if len(pt) != len(ct)-Overhead {
			t.Fatalf("plaintext of %d bytes from %d-byte ciphertext", len(pt), len(ct))
		}
	})
}

func BenchmarkEncrypt(b *testing.B) {
	pub := mustKey(b, staticKeyB).Public()
	msg := make([]byte, 300)
	for b.Loop() {
		if _, err := Encrypt(nil, pub, msg, nil, []byte{1, 2}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecrypt(b *testing.B) {
	k := mustKey(b, staticKeyB)
	ct, _ := Encrypt(nil, k.Public(), make([]byte, 300), nil, []byte{1, 2})
	for b.Loop() {
		if _, err := Decrypt(k, ct, nil, []byte{1, 2}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestMessageTagHMAC checks the written-out HMAC against crypto/hmac, and
// the stack-buffer KDF against the streaming one for a long s1.
func TestMessageTagHMAC(t *testing.T) {
	for _, n := range []int{0, 1, 63, 64, 65, 500} {
		km := sha256.Sum256([]byte{byte(n)})
		ivct := bytes.Repeat([]byte{byte(n), 7}, n)
		s2 := []byte{byte(n >> 8), byte(n)}
		mac := hmac.New(sha256.New, km[:])
		mac.Write(ivct)
		mac.Write(s2)
		if got := messageTag(&km, ivct, s2); !bytes.Equal(got[:], mac.Sum(nil)) {
			t.Fatalf("tag differs from crypto/hmac for %d bytes", n)
		}
		z := sha256.Sum256(ivct)
		h := sha256.New()
		h.Write([]byte{0, 0, 0, 1})
		h.Write(z[:])
		h.Write(ivct)
		if got := concatKDF(&z, ivct); !bytes.Equal(got[:], h.Sum(nil)) {
			t.Fatalf("KDF differs for an s1 of %d bytes", n)
		}
	}
}
