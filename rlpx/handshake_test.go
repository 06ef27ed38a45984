package rlpx

import (
	"bytes"
	"encoding/hex"
	"errors"
	"net"
	"testing"
	"testing/iotest"
	"time"

	"github.com/devp2p-go/devp2p/crypto"
	"github.com/devp2p-go/devp2p/rlp"
)

// Keys and nonces of the EIP-8 handshake vectors.
const (
	hexKeyA  = "49a7b37aa6f6645917e7b807e9d1c00d4fa71f18343b0d4122a4d2df64dd6fee"
	hexKeyB  = "b71c71a67e1177ad4e901695e1b4b9ee17ae16c6668d313eac2f96dbcda3f291"
	hexEphA  = "869d6ecf5211f1cc60418a13b9d870b22959d0c16f02bec714c960dd2298a32d"
	hexEphB  = "e238eb8e04fee6511ab04c6dd3c89ce097b11f25d584863ac2b6d5b35b1847e4"
	hexNonce = "7e968bba13b6c50e2c4cd7f241cc0d64d1ac25c7f5952df231ac6a2bda8ee5d6"
	hexNoncB = "559aead08264d5795d3909718cdd05abd49572e84fe55590eef31a88a08fdffd"
	hexSig   = "299ca6acfd35e3d72d8ba3d1e2b60b5561d5af5218eb5bc182045769eb4226910a301acae3b369fffc4a4899d6b02531e89fd4fe36a2cf0d93607ba470b50f7800"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustKey(t testing.TB, s string) *crypto.PrivateKey {
	t.Helper()
	k, err := crypto.HexToPrivateKey(s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func nonce(t testing.TB, s string) (n [32]byte) {
	copy(n[:], mustHex(t, s))
	return n
}

// readVector runs readPacket over a vector as the side holding key.
func readVector(t testing.TB, key *crypto.PrivateKey, vec string, legacyLen int) (packet, plain []byte, legacy bool) {
	t.Helper()
	wire := mustHex(t, vec)
	h := &handshake{key: key}
	packet, plain, legacy, err := h.readPacket(bytes.NewReader(wire), legacyLen)
	if err != nil {
		t.Fatalf("readPacket: %v", err)
	}
	if !bytes.Equal(packet, wire) {
		t.Fatalf("packet is not the wire bytes")
	}
	return packet, plain, legacy
}

func TestVectorAuth(t *testing.T) {
	keyA, keyB := mustKey(t, hexKeyA), mustKey(t, hexKeyB)
	for _, tc := range []struct {
		name    string
		vec     string
		legacy  bool
		version uint64
		rest    int
	}{
		{"Auth1_PreEIP8", vecAuth1, true, 0, 0},
		{"Auth2_EIP8_v4", vecAuth2, false, 4, 0},
		{"Auth3_EIP8_v56_extra", vecAuth3, false, 56, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, plain, legacy := readVector(t, keyB, tc.vec, legacyAuthLen)
			if legacy != tc.legacy {
				t.Fatalf("legacy = %v, want %v", legacy, tc.legacy)
			}
			h := &handshake{key: keyB}
			if err := h.handleAuth(plain, legacy); err != nil {
				t.Fatalf("handleAuth: %v", err)
			}
			if h.remote != *keyA.Public() {
				t.Errorf("initiator key mismatch")
			}
			if h.initNonce != nonce(t, hexNonce) {
				t.Errorf("nonce mismatch")
			}
			if h.remoteEphemeral != *mustKey(t, hexEphA).Public() {
				t.Errorf("recovered ephemeral key mismatch")
			}
			if legacy {
				return
			}
			sig, _, _, err := decodeAuthBody(plain)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(sig, mustHex(t, hexSig)) {
				t.Errorf("signature = %x", sig)
			}
			content, _, _ := rlp.SplitList(plain)
			items := splitAll(t, content)
			if v, _, _ := rlp.SplitUint64(items[3]); v != tc.version {
				t.Errorf("version = %d, want %d", v, tc.version)
			}
			if got := len(items) - 4; got != tc.rest {
				t.Errorf("extra elements = %d, want %d", got, tc.rest)
			}
		})
	}
}

func TestVectorAck(t *testing.T) {
	keyA := mustKey(t, hexKeyA)
	for _, tc := range []struct {
		name    string
		vec     string
		legacy  bool
		version uint64
		rest    int
	}{
		{"Ack1_PreEIP8", vecAck1, true, 0, 0},
		{"Ack2_EIP8_v4", vecAck2, false, 4, 0},
		{"Ack3_EIP8_v57_extra", vecAck3, false, 57, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, plain, legacy := readVector(t, keyA, tc.vec, legacyAckLen)
			if legacy != tc.legacy {
				t.Fatalf("legacy = %v, want %v", legacy, tc.legacy)
			}
			h := &handshake{key: keyA}
			if err := h.handleAck(plain, legacy); err != nil {
				t.Fatalf("handleAck: %v", err)
			}
			if h.remoteEphemeral != *mustKey(t, hexEphB).Public() {
				t.Errorf("ephemeral key mismatch")
			}
			if h.respNonce != nonce(t, hexNoncB) {
				t.Errorf("nonce mismatch")
			}
			if legacy {
				return
			}
			content, _, _ := rlp.SplitList(plain)
			items := splitAll(t, content)
			if v, _, _ := rlp.SplitUint64(items[2]); v != tc.version {
				t.Errorf("version = %d, want %d", v, tc.version)
			}
			if got := len(items) - 3; got != tc.rest {
				t.Errorf("extra elements = %d, want %d", got, tc.rest)
			}
		})
	}
}

func splitAll(t *testing.T, b []byte) (items [][]byte) {
	for len(b) > 0 {
		_, _, rest, err := rlp.Split(b)
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, b[:len(b)-len(rest)])
		b = rest
	}
	return items
}

// vectorSecrets derives the secrets of the (Auth₂, Ack₂) session on side A
// (initiator) or B (recipient), as the vectors do.
func vectorSecrets(t testing.TB, initiator bool) *Secrets {
	keyA, keyB := mustKey(t, hexKeyA), mustKey(t, hexKeyB)
	auth, ack := mustHex(t, vecAuth2), mustHex(t, vecAck2)
	var h *handshake
	if initiator {
		h = &handshake{key: keyA, initiator: true, remote: *keyB.Public(), ephemeral: mustKey(t, hexEphA),
			initNonce: nonce(t, hexNonce), respNonce: nonce(t, hexNoncB), remoteEphemeral: *mustKey(t, hexEphB).Public()}
	} else {
		h = &handshake{key: keyB, ephemeral: mustKey(t, hexEphB), respNonce: nonce(t, hexNoncB)}
		_, plain, _ := readVector(t, keyB, vecAuth2, legacyAuthLen)
		if err := h.handleAuth(plain, false); err != nil {
			t.Fatal(err)
		}
	}
	sec, err := h.secrets(auth, ack)
	if err != nil {
		t.Fatal(err)
	}
	return sec
}

func TestVectorSecrets(t *testing.T) {
	wantAES := "80e8632c05fed6fc2a13b0f8d31a3cf645366239170ea067065aba8e28bac487"
	wantMAC := "2ea74ec5dae199227dff1af715362700e989d889d7a493cb0639691efb8e5f98"
	for _, initiator := range []bool{false, true} {
		sec := vectorSecrets(t, initiator)
		if hex.EncodeToString(sec.AES[:]) != wantAES {
			t.Errorf("initiator=%v: aes-secret = %x", initiator, sec.AES)
		}
		if hex.EncodeToString(sec.MAC[:]) != wantMAC {
			t.Errorf("initiator=%v: mac-secret = %x", initiator, sec.MAC)
		}
	}
	// B's ingress MAC on "foo".
	sec := vectorSecrets(t, false)
	sec.IngressMAC.Write([]byte("foo"))
	if got := hex.EncodeToString(sec.IngressMAC.Sum(nil)); got != "0c7ec6340062cc46f5e9f1e3cf86f8c8c403c5a0964f5df0ebd34a75ddc86db5" {
		t.Errorf("ingress-mac(foo) = %s", got)
	}
}

// TestVectorMACStates checks the derived (unofficial) initial MAC digests.
func TestVectorMACStates(t *testing.T) {
	a, b := vectorSecrets(t, true), vectorSecrets(t, false)
	for _, tc := range []struct {
		name string
		got  []byte
		want string
	}{
		{"A egress", a.EgressMAC.Sum(nil), "1876ff58fc175e0a177afd2044d57eff497080dc0386a382aa44d9eb2f182aab"},
		{"A ingress", a.IngressMAC.Sum(nil), "7a076efd50d3771655f22190654053ba82f6f47f3123be6a4ba61df58845abc6"},
		{"B egress", b.EgressMAC.Sum(nil), "7a076efd50d3771655f22190654053ba82f6f47f3123be6a4ba61df58845abc6"},
		{"B ingress", b.IngressMAC.Sum(nil), "1876ff58fc175e0a177afd2044d57eff497080dc0386a382aa44d9eb2f182aab"},
	} {
		if hex.EncodeToString(tc.got) != tc.want {
			t.Errorf("%s digest = %x, want %s", tc.name, tc.got, tc.want)
		}
	}
}

// pipePair returns two connected Conns that ran a handshake over net.Pipe.
func pipePair(t testing.TB, cfg *Config, legacy bool) (initiator, recipient *Conn) {
	t.Helper()
	keyA, keyB := mustKey(t, hexKeyA), mustKey(t, hexKeyB)
	fa, fb := net.Pipe()
	a := NewConn(fa, keyB.Public(), cfg)
	b := NewConn(fb, nil, cfg)
	errc := make(chan error, 1)
	go func() {
		pub, err := b.Handshake(keyB)
		if err == nil && *pub != *keyA.Public() {
			err = errors.New("recipient saw wrong initiator key")
		}
		errc <- err
	}()
	var err error
	if legacy {
		err = handshakeLegacy(a, keyA)
	} else {
		_, err = a.Handshake(keyA)
	}
	if err != nil {
		t.Fatalf("initiator handshake: %v", err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("recipient handshake: %v", err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// handshakeLegacy runs the initiator side with a pre-EIP-8 auth packet.
func handshakeLegacy(c *Conn, key *crypto.PrivateKey) error {
	h := &handshake{key: key, sendLegacy: true}
	sec, err := h.runInitiator(c.fd, c.remote)
	if err != nil {
		return err
	}
	if !h.legacy {
		return errors.New("legacy flag lost")
	}
	c.InitWithSecrets(sec)
	return nil
}

func TestHandshakeRoundTrip(t *testing.T) {
	for _, legacy := range []bool{false, true} {
		a, b := pipePair(t, nil, legacy)
		if !a.Initiator() || b.Initiator() {
			t.Fatal("roles wrong")
		}
		exchange(t, a, b, 7, []byte("hello"))
		exchange(t, b, a, 8, []byte("world"))
	}
}

func exchange(t *testing.T, from, to *Conn, code uint64, payload []byte) {
	t.Helper()
	errc := make(chan error, 1)
	go func() { _, err := from.WriteMsg(code, payload); errc <- err }()
	gotCode, data, _, err := to.ReadMsg()
	if err != nil {
		t.Fatalf("ReadMsg: %v", err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("WriteMsg: %v", err)
	}
	if gotCode != code || !bytes.Equal(data, payload) {
		t.Fatalf("got code %d, %d bytes; want code %d, %d bytes", gotCode, len(data), code, len(payload))
	}
}

func TestHandshakeWrongKey(t *testing.T) {
	keyA, keyB, keyC := mustKey(t, hexKeyA), mustKey(t, hexKeyB), mustKey(t, hexEphA)
	fa, fb := net.Pipe()
	defer fa.Close()
	defer fb.Close()
	a := NewConn(fa, keyC.Public(), &Config{HandshakeTimeout: time.Second}) // dials the wrong key
	b := NewConn(fb, nil, &Config{HandshakeTimeout: time.Second})
	errc := make(chan error, 1)
	go func() { _, err := b.Handshake(keyB); fb.Close(); errc <- err }()
	if _, err := a.Handshake(keyA); err == nil {
		t.Fatal("initiator handshake succeeded against the wrong key")
	}
	var herr *HandshakeError
	if err := <-errc; !errors.As(err, &herr) || herr.Phase != "decrypt" {
		t.Fatalf("recipient error = %v, want decrypt HandshakeError", err)
	}
}

// TestReadAuthPieces checks that the recipient's greedy first read still
// assembles auth packets that arrive a byte at a time, in both formats.
func TestReadAuthPieces(t *testing.T) {
	keyB := mustKey(t, hexKeyB)
	for _, v := range []string{vecAuth1, vecAuth2, vecAuth3} {
		wire := mustHex(t, v)
		packet, _, _, err := (&handshake{key: keyB}).readPacket(iotest.OneByteReader(bytes.NewReader(wire)), legacyAuthLen)
		if err != nil {
			t.Fatalf("readPacket: %v", err)
		}
		if !bytes.Equal(packet, wire) {
			t.Fatalf("packet differs from the wire bytes")
		}
	}
}

// TestReadAuthTrailingData checks that bytes after auth, which an initiator
// cannot send before ack, fail the handshake in both formats.
func TestReadAuthTrailingData(t *testing.T) {
	keyB := mustKey(t, hexKeyB)
	for _, v := range []string{vecAuth1, vecAuth2} {
		wire := append(mustHex(t, v), 1, 2, 3)
		_, _, _, err := (&handshake{key: keyB}).readPacket(bytes.NewReader(wire), legacyAuthLen)
		if !errors.Is(err, errTrailingData) {
			t.Fatalf("err = %v, want errTrailingData", err)
		}
	}
}
