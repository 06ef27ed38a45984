package rlpx

import (
	"bytes"
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/devp2p-go/devp2p/crypto"
	"github.com/devp2p-go/devp2p/crypto/ecies"
	"github.com/devp2p-go/devp2p/rlp"
)

const (
	sigLen   = 65
	pubLen   = 64
	nonceLen = 32

	// Pre-EIP-8 packets have fixed sizes and no size prefix.
	legacyAuthPlainLen = sigLen + 32 + pubLen + nonceLen + 1 // 194
	legacyAckPlainLen  = pubLen + nonceLen + 1               // 97
	legacyAuthLen      = legacyAuthPlainLen + ecies.Overhead // 307
	legacyAckLen       = legacyAckPlainLen + ecies.Overhead  // 210

	handshakeVersion = 4
)

// Secrets are the connection keys agreed in the handshake.
type Secrets struct {
	Remote                crypto.PublicKey // static key of the remote
	AES, MAC              [32]byte
	EgressMAC, IngressMAC hash.Hash // running Keccak-256 states
}

// handshake holds the state of one encryption handshake.
type handshake struct {
	key    *crypto.PrivateKey
	rand   io.Reader
	filter func([]byte) error

	remote          crypto.PublicKey // remote static key
	initNonce       [nonceLen]byte
	respNonce       [nonceLen]byte
	ephemeral       *crypto.PrivateKey
	remoteEphemeral crypto.PublicKey

	initiator  bool // this side sends auth
	legacy     bool // the remote used a pre-EIP-8 packet (or we send one, in tests)
	sendLegacy bool // send a pre-EIP-8 auth; only tests set it
}

func (h *handshake) random() io.Reader {
	if h.rand != nil {
		return h.rand
	}
	return crand.Reader
}

// init draws this side's nonce and ephemeral key, unless already set (tests).
func (h *handshake) init(nonce *[nonceLen]byte) error {
	if h.ephemeral == nil {
		k, err := crypto.GenerateKey(h.random())
		if err != nil {
			return err
		}
		h.ephemeral = k
	}
	if *nonce == ([nonceLen]byte{}) {
		if _, err := io.ReadFull(h.random(), nonce[:]); err != nil {
			return err
		}
	}
	return nil
}

// runInitiator sends auth and reads ack.
func (h *handshake) runInitiator(rw io.ReadWriter, remote *crypto.PublicKey) (*Secrets, error) {
	h.remote, h.initiator = *remote, true
	if err := h.init(&h.initNonce); err != nil {
		return nil, err
	}
	auth, err := h.makeAuth()
	if err != nil {
		return nil, err
	}
	if _, err := rw.Write(auth); err != nil {
		return nil, err
	}
	ack, plain, legacy, err := h.readPacket(rw, legacyAckLen)
	if err != nil {
		return nil, err
	}
	if err := h.handleAck(plain, legacy); err != nil {
		return nil, err
	}
	return h.secrets(auth, ack)
}

// runRecipient reads auth and answers with ack.
func (h *handshake) runRecipient(rw io.ReadWriter) (*Secrets, error) {
	auth, plain, legacy, err := h.readPacket(rw, legacyAuthLen)
	if err != nil {
		return nil, err
	}
	if err := h.handleAuth(plain, legacy); err != nil {
		return nil, err
	}
	if err := h.init(&h.respNonce); err != nil {
		return nil, err
	}
	ack, err := h.makeAck()
	if err != nil {
		return nil, err
	}
	if _, err := rw.Write(ack); err != nil {
		return nil, err
	}
	return h.secrets(auth, ack)
}

// authSignedData returns static-shared-secret ^ initNonce, the data the
// initiator signs with its ephemeral key.
func (h *handshake) authSignedData() ([32]byte, error) {
	token, err := h.key.ECDH(&h.remote)
	if err != nil {
		return token, err
	}
	for i := range token {
		token[i] ^= h.initNonce[i]
	}
	return token, nil
}

func (h *handshake) makeAuth() ([]byte, error) {
	signed, err := h.authSignedData()
	if err != nil {
		return nil, err
	}
	sig, err := crypto.Sign(signed[:], h.ephemeral)
	if err != nil {
		return nil, err
	}
	pub := h.key.Public()
	if h.sendLegacy {
		h.legacy = true
		ephHash := crypto.Keccak256(h.ephemeral.Public()[:])
		plain := make([]byte, 0, legacyAuthPlainLen)
		plain = append(plain, sig[:]...)
		plain = append(plain, ephHash[:]...)
		plain = append(plain, pub[:]...)
		plain = append(plain, h.initNonce[:]...)
		plain = append(plain, 0)
		return ecies.Encrypt(h.random(), &h.remote, plain, nil, nil)
	}
	body, mark := rlp.StartList(make([]byte, 0, 512))
	body = rlp.AppendBytes(body, sig[:])
	body = rlp.AppendBytes(body, pub[:])
	body = rlp.AppendBytes(body, h.initNonce[:])
	body = rlp.AppendUint64(body, handshakeVersion)
	body = rlp.EndList(body, mark)
	return h.sealEIP8(body)
}

func (h *handshake) makeAck() ([]byte, error) {
	eph := h.ephemeral.Public()
	if h.legacy {
		plain := make([]byte, 0, legacyAckPlainLen)
		plain = append(plain, eph[:]...)
		plain = append(plain, h.respNonce[:]...)
		plain = append(plain, 0)
		return ecies.Encrypt(h.random(), &h.remote, plain, nil, nil)
	}
	body, mark := rlp.StartList(make([]byte, 0, 512))
	body = rlp.AppendBytes(body, eph[:])
	body = rlp.AppendBytes(body, h.respNonce[:])
	body = rlp.AppendUint64(body, handshakeVersion)
	body = rlp.EndList(body, mark)
	return h.sealEIP8(body)
}

// sealEIP8 pads body with 100–199 zero bytes (so the packet cannot be taken
// for a pre-EIP-8 one), encrypts it to the remote and prepends the size.
func (h *handshake) sealEIP8(body []byte) ([]byte, error) {
	var b [1]byte
	if _, err := io.ReadFull(h.random(), b[:]); err != nil {
		return nil, err
	}
	body = append(body, make([]byte, 100+int(b[0])%100)...)
	var prefix [2]byte
	binary.BigEndian.PutUint16(prefix[:], uint16(len(body)+ecies.Overhead))
	ct, err := ecies.Encrypt(h.random(), &h.remote, body, nil, prefix[:])
	if err != nil {
		return nil, err
	}
	return append(prefix[:], ct...), nil
}

// readPacket reads one auth or ack packet and decrypts it. It returns the
// packet as it was on the wire (for the MAC states), the plaintext, and
// whether the packet was in the pre-EIP-8 format. A packet starting with
// 0x04 may be a pre-EIP-8 one (its first byte is the ECIES point prefix): its
// fixed size is read and tried first, as EIP-8 asks.
//
// The recipient (reading auth, legacyLen == legacyAuthLen) reads greedily:
// its first read takes whatever has arrived, so that the size prefix and the
// body usually come in one system call instead of two. Nothing may follow
// auth before ack (the initiator cannot frame anything without ack), so bytes
// read past the packet are a protocol violation and fail the handshake. The
// initiator reads exactly the packet: the recipient's first frame may follow
// ack at once.
func (h *handshake) readPacket(r io.Reader, legacyLen int) (packet, plain []byte, legacy bool, err error) {
	buf := make([]byte, 2, 1024)
	if legacyLen == legacyAuthLen {
		n, err := io.ReadAtLeast(r, buf[:cap(buf)], 2)
		if err != nil {
			return nil, nil, false, handshakeErr("read", err)
		}
		buf = buf[:n]
	} else if _, err := io.ReadFull(r, buf); err != nil {
		return nil, nil, false, handshakeErr("read", err)
	}
	size := int(binary.BigEndian.Uint16(buf))
	tryLegacy := buf[0] == 0x04 && size+2 >= legacyLen
	if tryLegacy {
		if buf, err = readTo(r, buf, legacyLen); err != nil {
			return nil, nil, false, err
		}
		if err := h.filterPacket(buf[:legacyLen]); err != nil {
			return nil, nil, false, err
		}
		if plain, err := ecies.Decrypt(h.key, buf[:legacyLen], nil, nil); err == nil {
			if len(buf) > legacyLen {
				return nil, nil, false, handshakeErr("read", errTrailingData)
			}
			return buf, plain, true, nil
		}
	}
	if size > MaxHandshakeSize {
		return nil, nil, false, fmt.Errorf("%w (%d bytes)", ErrHandshakeTooLarge, size)
	}
	if size < ecies.Overhead {
		return nil, nil, false, handshakeErr("decode", fmt.Errorf("packet of %d bytes is too short", size))
	}
	if buf, err = readTo(r, buf, size+2); err != nil {
		return nil, nil, false, err
	}
	if len(buf) > size+2 {
		return nil, nil, false, handshakeErr("read", errTrailingData)
	}
	if !tryLegacy { // else filtered above
		if err := h.filterPacket(buf); err != nil {
			return nil, nil, false, err
		}
	}
	plain, err = ecies.Decrypt(h.key, buf[2:], nil, buf[:2])
	if err != nil {
		return nil, nil, false, handshakeErr("decrypt", err)
	}
	return buf, plain, false, nil
}

// errTrailingData fails a handshake whose auth packet came with more bytes
// after it: the initiator must wait for ack before it sends anything else.
var errTrailingData = errors.New("rlpx: data after the handshake packet")

// readTo reads from r until buf, which holds the start of a packet, holds at
// least n bytes. An end of stream before that is io.ErrUnexpectedEOF.
func readTo(r io.Reader, buf []byte, n int) ([]byte, error) {
	have := len(buf)
	if have >= n {
		return buf, nil
	}
	buf = append(buf, make([]byte, n-have)...)
	if _, err := io.ReadFull(r, buf[have:]); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, handshakeErr("read", err)
	}
	return buf, nil
}

func (h *handshake) filterPacket(p []byte) error {
	if h.filter == nil {
		return nil
	}
	return h.filter(p)
}

// handleAuth decodes the initiator's auth message and recovers its ephemeral
// key from the signature.
func (h *handshake) handleAuth(plain []byte, legacy bool) error {
	var sig, pub, nonce []byte
	if legacy {
		if len(plain) != legacyAuthPlainLen {
			return handshakeErr("decode", fmt.Errorf("pre-EIP-8 auth of %d bytes", len(plain)))
		}
		sig = plain[:sigLen]
		pub = plain[sigLen+32 : sigLen+32+pubLen]
		nonce = plain[sigLen+32+pubLen : sigLen+32+pubLen+nonceLen]
	} else {
		var err error
		if sig, pub, nonce, err = decodeAuthBody(plain); err != nil {
			return handshakeErr("decode", err)
		}
	}
	h.legacy = legacy
	remote, err := crypto.ParsePublicKey(pub)
	if err != nil {
		return handshakeErr("decode", fmt.Errorf("initiator key: %w", err))
	}
	h.remote = remote
	copy(h.initNonce[:], nonce)
	signed, err := h.authSignedData()
	if err != nil {
		return handshakeErr("decode", err)
	}
	h.remoteEphemeral, err = crypto.Recover(signed[:], sig)
	if err != nil {
		return handshakeErr("decode", fmt.Errorf("signature: %w", err))
	}
	if legacy {
		want := crypto.Keccak256(h.remoteEphemeral[:])
		if !bytes.Equal(want[:], plain[sigLen:sigLen+32]) {
			return handshakeErr("decode", fmt.Errorf("ephemeral key hash mismatch"))
		}
	}
	return nil
}

// handleAck decodes the recipient's ack message.
func (h *handshake) handleAck(plain []byte, legacy bool) error {
	var eph, nonce []byte
	if legacy {
		if len(plain) != legacyAckPlainLen {
			return handshakeErr("decode", fmt.Errorf("pre-EIP-8 ack of %d bytes", len(plain)))
		}
		eph, nonce = plain[:pubLen], plain[pubLen:pubLen+nonceLen]
	} else {
		var err error
		if eph, nonce, err = decodeAckBody(plain); err != nil {
			return handshakeErr("decode", err)
		}
	}
	k, err := crypto.ParsePublicKey(eph)
	if err != nil {
		return handshakeErr("decode", fmt.Errorf("ephemeral key: %w", err))
	}
	h.remoteEphemeral = k
	copy(h.respNonce[:], nonce)
	return nil
}

// decodeAuthBody decodes [sig, pubkey, nonce, version, ...] from the start of
// plain, ignoring padding after the list and extra list elements.
func decodeAuthBody(plain []byte) (sig, pub, nonce []byte, err error) {
	content, _, err := rlp.SplitList(plain)
	if err != nil {
		return nil, nil, nil, err
	}
	if sig, content, err = splitFixed(content, sigLen, "signature"); err != nil {
		return nil, nil, nil, err
	}
	if pub, content, err = splitFixed(content, pubLen, "public key"); err != nil {
		return nil, nil, nil, err
	}
	if nonce, content, err = splitFixed(content, nonceLen, "nonce"); err != nil {
		return nil, nil, nil, err
	}
	return sig, pub, nonce, checkVersionAndRest(content)
}

// decodeAckBody decodes [ephemeral-pubkey, nonce, version, ...].
func decodeAckBody(plain []byte) (eph, nonce []byte, err error) {
	content, _, err := rlp.SplitList(plain)
	if err != nil {
		return nil, nil, err
	}
	if eph, content, err = splitFixed(content, pubLen, "ephemeral key"); err != nil {
		return nil, nil, err
	}
	if nonce, content, err = splitFixed(content, nonceLen, "nonce"); err != nil {
		return nil, nil, err
	}
	return eph, nonce, checkVersionAndRest(content)
}

// checkVersionAndRest checks that the version is a canonical integer and
// that any further elements are well-formed; their values are ignored.
func checkVersionAndRest(content []byte) error {
	_, rest, err := rlp.SplitUint64(content)
	if err != nil {
		return fmt.Errorf("version: %w", err)
	}
	_, err = rlp.CountValues(rest)
	return err
}

func splitFixed(b []byte, n int, what string) (val, rest []byte, err error) {
	val, rest, err = rlp.SplitString(b)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", what, err)
	}
	if len(val) != n {
		return nil, nil, fmt.Errorf("%s has %d bytes, want %d", what, len(val), n)
	}
	return val, rest, nil
}

// secrets derives the connection keys from the exchanged packets.
func (h *handshake) secrets(auth, ack []byte) (*Secrets, error) {
	ephKey, err := h.ephemeral.ECDH(&h.remoteEphemeral)
	if err != nil {
		return nil, handshakeErr("secrets", err)
	}
	nonceHash := crypto.Keccak256(h.respNonce[:], h.initNonce[:])
	shared := crypto.Keccak256(ephKey[:], nonceHash[:])
	s := &Secrets{Remote: h.remote}
	s.AES = crypto.Keccak256(ephKey[:], shared[:])
	s.MAC = crypto.Keccak256(ephKey[:], s.AES[:])

	mac1 := crypto.NewKeccak256()
	mac1.Write(xor32(s.MAC, h.respNonce))
	mac1.Write(auth)
	mac2 := crypto.NewKeccak256()
	mac2.Write(xor32(s.MAC, h.initNonce))
	mac2.Write(ack)
	if h.initiator {
		s.EgressMAC, s.IngressMAC = mac1, mac2
	} else {
		s.EgressMAC, s.IngressMAC = mac2, mac1
	}
	return s, nil
}

func xor32(a, b [32]byte) []byte {
	out := make([]byte, 32)
	for i := range out {
		out[i] = a[i] ^ b[i]
	}
	return out
}
