package rlpx

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"hash"
)

// zeroHeader is header-data = rlp([capability-id, context-id]) = [0, 0],
// followed by the zero padding of the 16-byte header.
var zeroHeader = [13]byte{0xC2, 0x80, 0x80}

// session is the cipher and MAC state of one direction of a connection.
type session struct {
	stream cipher.Stream // AES-256-CTR with a zero IV, continuous over the connection
	mac    frameMAC
}

func newSessionPair(s *Secrets) (ingress, egress *session) {
	encBlock, err := aes.NewCipher(s.AES[:])
	if err != nil {
		panic("rlpx: invalid AES secret: " + err.Error())
	}
	macBlock, err := aes.NewCipher(s.MAC[:])
	if err != nil {
		panic("rlpx: invalid MAC secret: " + err.Error())
	}
	var iv [aes.BlockSize]byte
	ingress = &session{stream: cipher.NewCTR(encBlock, iv[:]), mac: frameMAC{block: macBlock, h: s.IngressMAC}}
	egress = &session{stream: cipher.NewCTR(encBlock, iv[:]), mac: frameMAC{block: macBlock, h: s.EgressMAC}}
	return ingress, egress
}

// frameMAC is the RLPx MAC: a running Keccak-256 state mixed with single
// AES blocks keyed by the MAC secret.
type frameMAC struct {
	block cipher.Block
	h     hash.Hash
	sum   [32]byte
	seed  [16]byte
}

// header returns the MAC of a 16-byte header ciphertext and updates the state.
func (m *frameMAC) header(ct []byte) []byte {
	sum := m.h.Sum(m.sum[:0])
	return m.mix(sum, ct)
}

// frameEnd returns the MAC of a frame whose ciphertext has already been
// written to m.h, and updates the state.
func (m *frameMAC) frameEnd() []byte {
	sum := m.h.Sum(m.sum[:0])
	return m.mix(sum, sum)
}

// mix computes keccak(state ‖ AES(mac-secret, sum[:16]) ^ seed)[:16].
func (m *frameMAC) mix(sum, seed []byte) []byte {
	m.block.Encrypt(m.seed[:], sum[:16])
	subtle.XORBytes(m.seed[:], m.seed[:], seed[:16])
	m.h.Write(m.seed[:])
	return m.h.Sum(m.sum[:0])[:16]
}

func putUint24(b []byte, v uint32) {
	b[0], b[1], b[2] = byte(v>>16), byte(v>>8), byte(v)
}

func readUint24(b []byte) uint32 {
	return uint32(b[0])<<16 | uint32(b[1])<<8 | uint32(b[2])
}

func padded(n int) int { return (n + 15) &^ 15 }
