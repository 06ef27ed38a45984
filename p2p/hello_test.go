package p2p

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/devp2p-go/devp2p/crypto"
	"github.com/devp2p-go/devp2p/rlp"
)

// EIP-8, section "devp2p Base Protocol": a Hello advertising version 55
// (the prose says 22) with additional list elements, which a conforming
// decoder must ignore.
const eip8Hello = "f87137916b6e6574682f76302e39312f706c616e39cdc5836574683dc6846d6f726b1682270fb840" +
	"fda1cff674c90c9a197539fe3dfb53086ace64f83ed7c6eabec741f7f381cc803e52ab2cd55d5569" +
	"bce4347107a310dfd5f88a010cd2ffd1005ca406f1842877c883666f6f836261720304"

// Key A of the EIP-8 handshake vectors; its public key is the Hello's ID.
const eip8KeyA = "49a7b37aa6f6645917e7b807e9d1c00d4fa71f18343b0d4122a4d2df64dd6fee"

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestHelloEIP8Vector(t *testing.T) {
	data := mustHex(t, eip8Hello)
	var h hello
	if err := decodeHello(data, &h, nil); err != nil {
		t.Fatal(err)
	}
	key, err := crypto.HexToPrivateKey(eip8KeyA)
	if err != nil {
		t.Fatal(err)
	}
	want := hello{
		Version:    55,
		Name:       "kneth/v0.91/plan9",
		Caps:       []Cap{{"eth", 61}, {"mork", 22}},
		ListenPort: 9999,
		ID:         key.Public()[:],
	}
	if !reflect.DeepEqual(h, want) {
		t.Fatalf("decoded %+v\nwant %+v", h, want)
	}
	// The whole setup path accepts it too: identity, size and code checks.
	got, err := readHello(&fakeMsgReader{code: helloMsg, data: data}, key.Public(), nil)
	if err != nil || got.Version != 55 {
		t.Fatalf("readHello: %v, %v", got, err)
	}
}

func TestHelloRoundTrip(t *testing.T) {
	key := newTestKey(t)
	h := &hello{
		Version: baseVersion,
		Name:    "devp2p-go/test",
		Caps:    []Cap{{"eth", 68}, {"eth", 69}, {"snap", 1}},
		ID:      key.Public()[:],
	}
	enc := appendHello(nil, h)
	// Cross-check with the reflection encoder: the same list of five.
	ref, err := rlp.EncodeToBytes([]any{h.Version, h.Name, h.Caps, h.ListenPort, h.ID})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(enc, ref) {
		t.Fatalf("appendHello %x\nreflection %x", enc, ref)
	}
	var dec hello
	if err := decodeHello(enc, &dec, []Protocol{{Name: "eth"}}); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&dec, h) {
		t.Fatalf("round trip %+v\nwant %+v", dec, h)
	}
	if n := testing.AllocsPerRun(100, func() { enc = appendHello(enc[:0], h) }); n != 0 {
		t.Errorf("appendHello allocates %v times", n)
	}
}

// Hello handling cases of go-ethereum's handshake tests, and ours.
func TestReadHelloErrors(t *testing.T) {
	key := newTestKey(t)
	pub := key.Public()
	good := func(mod func(*hello)) []byte {
		h := &hello{Version: 5, Name: "x", Caps: []Cap{{"a", 1}}, ID: pub[:]}
		if mod != nil {
			mod(h)
		}
		return appendHello(nil, h)
	}
	other := newTestKey(t)
	tests := []struct {
		name       string
		code       uint64
		data       []byte
		wantReason DiscReason
		wantRemote bool // bare DiscReason: sent by the remote
	}{
		{name: "disconnect list", code: discMsg, data: []byte{0xc1, 0x04}, wantReason: DiscTooManyPeers, wantRemote: true},
		{name: "disconnect bare byte", code: discMsg, data: []byte{0x05}, wantReason: DiscAlreadyConnected, wantRemote: true},
		{name: "disconnect requested", code: discMsg, data: []byte{0xc1, 0x80}, wantReason: DiscRequested, wantRemote: true},
		{name: "disconnect garbage", code: discMsg, data: []byte{0xff}, wantReason: DiscInvalid, wantRemote: true},
		{name: "wrong code", code: pingMsg, data: []byte{0xc0}, wantReason: DiscProtocolError},
		{name: "protocol message", code: 0x10, data: []byte{0xc0}, wantReason: DiscProtocolError},
		{name: "oversized", code: helloMsg, data: append(good(nil), make([]byte, maxHelloSize)...), wantReason: DiscProtocolError},
		{name: "not a list", code: helloMsg, data: []byte{0x83, 1, 2, 3}, wantReason: DiscProtocolError},
		{name: "garbage", code: helloMsg, data: []byte{0xf8, 0xff, 0x01}, wantReason: DiscProtocolError},
		{name: "empty", code: helloMsg, data: nil, wantReason: DiscProtocolError},
		{name: "no ID", code: helloMsg, data: mustEncode(t, []any{uint(5), "x", []Cap{}, uint(0)}), wantReason: DiscProtocolError},
		{name: "short ID", code: helloMsg, data: good(func(h *hello) { h.ID = h.ID[:63] }), wantReason: DiscInvalidIdentity},
		{name: "zero ID", code: helloMsg, data: good(func(h *hello) { h.ID = make([]byte, 64) }), wantReason: DiscInvalidIdentity},
		{name: "other ID", code: helloMsg, data: good(func(h *hello) { h.ID = other.Public()[:] }), wantReason: DiscUnexpectedIdentity},
		{name: "cap with 3 elements", code: helloMsg, data: mustEncode(t, []any{uint(5), "x", []any{[]any{"a", uint(1), uint(2)}}, uint(0), pub[:]}), wantReason: DiscProtocolError},
		{name: "non-canonical version", code: helloMsg, data: mustEncode(t, []any{rlp.RawValue{0x81, 0x05}, "x", []Cap{}, uint(0), pub[:]}), wantReason: DiscProtocolError},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readHello(&fakeMsgReader{code: tc.code, data: tc.data}, pub, nil)
			if err == nil {
				t.Fatal("no error")
			}
			if got := DiscReasonFor(err); got != tc.wantReason {
				t.Errorf("reason %v, want %v (err %v)", got, tc.wantReason, err)
			}
			var pe *PeerError
			if isLocal := errors.As(err, &pe); isLocal == tc.wantRemote {
				t.Errorf("local decision %v, want %v (err %v)", isLocal, !tc.wantRemote, err)
			}
		})
	}
	// Extra elements and a higher version are fine.
	data := mustEncode(t, []any{uint(99), "x", []Cap{{"a", 1}}, uint(30303), pub[:], "extra", []any{uint(1)}})
	if _, err := readHello(&fakeMsgReader{code: helloMsg, data: data}, pub, nil); err != nil {
		t.Fatal(err)
	}
}

func TestDisconnectCodec(t *testing.T) {
	for r := range 256 {
		reason := DiscReason(r)
		enc := appendDisconnect(nil, reason)
		ref := mustEncode(t, []any{uint(r)})
		if !bytes.Equal(enc, ref) {
			t.Fatalf("reason %d: %x, want %x", r, enc, ref)
		}
		if got := decodeDisconnect(enc); got != reason {
			t.Fatalf("reason %d decoded as %d", r, got)
		}
	}
	tests := []struct {
		in   string
		want DiscReason
	}{
		{"c104", DiscTooManyPeers},
		{"04", DiscTooManyPeers}, // legacy bare integer
		{"80", DiscRequested},    // legacy zero
		{"c180", DiscRequested},
		{"c10b", DiscReadTimeout},
		{"c110", DiscSubprotocolError},
		{"c20405", DiscTooManyPeers}, // extra list elements ignored
		{"c10400", DiscTooManyPeers}, // data after the item ignored
		{"c0", DiscInvalid},          // empty list
		{"", DiscInvalid},
		{"c100", DiscInvalid},     // non-canonical zero
		{"c2820100", DiscInvalid}, // 256 does not fit
		{"c1c0", DiscInvalid},     // list in list
		{"c3820004", DiscInvalid}, // leading zero
		{"c5", DiscInvalid},       // truncated
		{"c0" + strings.Repeat("00", 200), DiscInvalid},
	}
	for _, tc := range tests {
		if got := decodeDisconnect(mustHex(t, tc.in)); got != tc.want {
			t.Errorf("decodeDisconnect(%s) = %v, want %v", tc.in, got, tc.want)
		}
	}
	// An item over 100 bytes is refused, as go-ethereum's stream limit does.
	big := append([]byte{0xf8, 101, 0x04}, make([]byte, 100)...)
	if got := decodeDisconnect(big); got != DiscInvalid {
		t.Errorf("oversized Disconnect decoded as %v", got)
	}
	if n := testing.AllocsPerRun(100, func() { decodeDisconnect([]byte{0xc1, 0x04}) }); n != 0 {
		t.Errorf("decodeDisconnect allocates %v times", n)
	}
}

// Code below here is shared by the tests of this package.

type fakeMsgReader struct {
	code uint64
	data []byte
	err  error
}

func (r *fakeMsgReader) ReadMsg() (uint64, []byte, int, error) {
	return r.code, r.data, len(r.data), r.err
}

func newTestKey(t testing.TB) *crypto.PrivateKey {
	t.Helper()
	k, err := crypto.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustEncode(t testing.TB, v any) []byte {
	t.Helper()
	b, err := rlp.EncodeToBytes(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
