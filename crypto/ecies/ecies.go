// Package ecies implements the Elliptic Curve Integrated Encryption Scheme as
// devp2p uses it for the RLPx handshake, byte-compatible with go-ethereum's
// crypto/ecies for secp256k1 keys (AES-128-CTR, HMAC-SHA-256 and the NIST
// SP 800-56 concatenation KDF with SHA-256).
//
// A ciphertext is
//
//	0x04 ‖ R (64 bytes) ‖ IV (16 bytes) ‖ AES-128-CTR(ke, IV, msg) ‖ tag (32 bytes)
//
// where R = r·G for a fresh random key r, z is the X coordinate of r·pub (the
// recipient derives it as k·R), K = KDF(z, s1) is 32 bytes, ke = K[0:16],
// km = SHA-256(K[16:32]) and tag = HMAC-SHA-256(km, IV ‖ ciphertext ‖ s2).
// s1 is mixed into the key derivation and s2 is authenticated by the tag;
// neither is sent. RLPx passes nil s1 and uses the 2-byte EIP-8 size prefix as
// s2.
//
// Decrypt checks the tag in constant time before it decrypts anything. The
// package never panics on malformed input, never logs and starts no
// goroutines.
package ecies

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/devp2p-go/devp2p/crypto"
)

// Sizes of the parts of a ciphertext.
const (
	pubLen = 65 // 0x04 ‖ X ‖ Y
	ivLen  = aes.BlockSize
	tagLen = sha256.Size
	keLen  = 16 // AES-128
)

// Overhead is how many bytes a ciphertext is longer than its plaintext: the
// uncompressed ephemeral public key, the IV and the HMAC-SHA-256 tag.
const Overhead = 65 + 16 + 32

// Errors returned by Encrypt and Decrypt. Match them with errors.Is.
var (
	// ErrInvalidMessage means a ciphertext is shorter than Overhead.
	ErrInvalidMessage = errors.New("ecies: invalid message")
	// ErrInvalidPublicKey means the recipient's public key (Encrypt) or the
	// ephemeral public key in a ciphertext (Decrypt) is not an uncompressed
	// point on secp256k1.
	ErrInvalidPublicKey = errors.New("ecies: invalid public key")
	// ErrInvalidMAC means the tag does not match: the ciphertext was altered,
	// truncated, encrypted to another key, or s1 or s2 differ.
	ErrInvalidMAC = errors.New("ecies: message authentication failed")
)

// Encrypt encrypts msg to pub. It reads the ephemeral private key and the IV
// from r; if r is nil, crypto/rand is used. s1 and s2 are the optional shared
// information described in the package documentation. The result is
// len(msg)+Overhead bytes.
func Encrypt(r io.Reader, pub *crypto.PublicKey, msg, s1, s2 []byte) ([]byte, error) {
	if r == nil {
		r = rand.Reader
	}
	if pub == nil {
		return nil, ErrInvalidPublicKey
	}
	eph, err := crypto.GenerateKey(r)
	if err != nil {
		return nil, fmt.Errorf("ecies: generating ephemeral key: %w", err)
	}
	z, err := eph.ECDH(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidPublicKey, err)
	}
	ke, km := deriveKeys(&z, s1)
	clear(z[:])

	out := make([]byte, Overhead+len(msg))
	rb := eph.Public().Uncompressed()
	copy(out, rb[:])
	iv := out[pubLen : pubLen+ivLen]
	if _, err := io.ReadFull(r, iv); err != nil {
		return nil, fmt.Errorf("ecies: reading IV: %w", err)
	}
	body := out[pubLen+ivLen : pubLen+ivLen+len(msg)]
	if err := xorKeyStream(&ke, iv, body, msg); err != nil {
		return nil, err
	}
	tag := messageTag(&km, out[pubLen:pubLen+ivLen+len(msg)], s2)
	copy(out[pubLen+ivLen+len(msg):], tag[:])
	clear(ke[:])
	clear(km[:])
	return out, nil
}

// Decrypt decrypts and authenticates the ciphertext ct with k. s1 and s2 must
// equal those given to Encrypt. It returns ErrInvalidMessage if ct is too short,
// ErrInvalidPublicKey if its ephemeral key is malformed and ErrInvalidMAC if
// authentication fails; an invalid k gives crypto.ErrInvalidPrivateKey. The
// plaintext is a new slice of len(ct)-Overhead bytes.
func Decrypt(k *crypto.PrivateKey, ct, s1, s2 []byte) ([]byte, error) {
	if k == nil {
		return nil, crypto.ErrInvalidPrivateKey
	}
	if len(ct) < Overhead {
		return nil, fmt.Errorf("%w: %d bytes, want at least %d", ErrInvalidMessage, len(ct), Overhead)
	}
	if ct[0] != 0x04 {
		return nil, fmt.Errorf("%w: prefix byte 0x%02x, want 0x04", ErrInvalidPublicKey, ct[0])
	}
	R, err := crypto.ParsePublicKey(ct[:pubLen])
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidPublicKey, err)
	}
	z, err := k.ECDH(&R)
	if err != nil {
		return nil, err // only an invalid k: R was checked above
	}
	ke, km := deriveKeys(&z, s1)
	clear(z[:])
	defer clear(ke[:])

	macStart := len(ct) - tagLen
	tag := messageTag(&km, ct[pubLen:macStart], s2)
	clear(km[:])
	if !hmac.Equal(tag[:], ct[macStart:]) {
		return nil, ErrInvalidMAC
	}
	iv := ct[pubLen : pubLen+ivLen]
	msg := make([]byte, macStart-pubLen-ivLen)
	if err := xorKeyStream(&ke, iv, msg, ct[pubLen+ivLen:macStart]); err != nil {
		return nil, err
	}
	return msg, nil
}

// deriveKeys returns the AES key ke and the HMAC key km for the shared secret z:
// K = concatKDF(z, s1), ke = K[:16], km = SHA-256(K[16:32]).
func deriveKeys(z *[32]byte, s1 []byte) (ke [keLen]byte, km [sha256.Size]byte) {
	K := concatKDF(z, s1)
	copy(ke[:], K[:keLen])
	km = sha256.Sum256(K[keLen:])
	clear(K[:])
	return ke, km
}

// concatKDF is the NIST SP 800-56A concatenation key derivation function with
// SHA-256 and "other info" s1, producing 32 bytes: one hash block,
// SHA-256(counter ‖ z ‖ s1) with the 32-bit big-endian counter 1.
func concatKDF(z *[32]byte, s1 []byte) [32]byte {
	var in [4 + 32 + 64]byte
	binary.BigEndian.PutUint32(in[:4], 1)
	copy(in[4:], z[:])
	if len(s1) <= 64 {
		// One call on a stack buffer: no hash state on the heap.
		copy(in[36:], s1)
		K := sha256.Sum256(in[:36+len(s1)])
		clear(in[:])
		return K
	}
	h := sha256.New()
	h.Write(in[:36])
	h.Write(s1)
	clear(in[:])
	var K [32]byte
	h.Sum(K[:0])
	return K
}

// messageTag returns HMAC-SHA-256(km, ivct ‖ s2), the tag of SEC 1, 3.5.
// It is RFC 2104's construction written out (the key is one SHA-256 output,
// shorter than the block), which allocates one hash state where crypto/hmac
// allocates five objects.
func messageTag(km *[sha256.Size]byte, ivct, s2 []byte) [tagLen]byte {
	const blockSize = 64
	var pad [blockSize + sha256.Size]byte
	for i := range blockSize {
		var k byte
		if i < len(km) {
			k = km[i]
		}
		pad[i] = k ^ 0x36
	}
	inner := sha256.New()
	inner.Write(pad[:blockSize])
	inner.Write(ivct)
	inner.Write(s2)
	inner.Sum(pad[blockSize:blockSize])
	for i := range blockSize {
		var k byte
		if i < len(km) {
			k = km[i]
		}
		pad[i] = k ^ 0x5c
	}
	tag := sha256.Sum256(pad[:])
	clear(pad[:])
	return tag
}

// xorKeyStream sets dst = AES-128-CTR(ke, iv) XOR src.
func xorKeyStream(ke *[keLen]byte, iv, dst, src []byte) error {
	block, err := aes.NewCipher(ke[:])
	if err != nil {
		return fmt.Errorf("ecies: %w", err) // cannot happen: the key is 16 bytes
	}
	cipher.NewCTR(block, iv).XORKeyStream(dst, src)
	return nil
}
