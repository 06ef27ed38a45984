package enr

import (
	"bytes"
	"encoding/base64"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/devp2p-go/devp2p/rlp"
)

// EIP-778 "Test Vectors" (devp2p enr.md): the example record, signed with the
// "v4" scheme. Its signature is checked in package enode (TestEIP778Vector).
const (
	eip778Text = "enr:-IS4QHCYrYZbAKWCBRlAy5zzaDZXJBGkcnh4MHcBFZntXNFrdvJjX04jRzjzCBOonrkTfj499SZuOh8R33Ls8RRcy5wBgmlkgnY0gmlwhH8AAAGJc2VjcDI1NmsxoQPKY0yuDUmstAHYpMa2_oxVtw0RW_QAdpzBQA8yWM0xOIN1ZHCCdl8"
	eip778Hex  = "f884b8407098ad865b00a582051940cb9cf36836572411a47278783077011599ed5cd16b76f2635f4e234738f30813a89eb9137e3e3df5266e3a1f11df72ecf1145ccb9c01826964827634826970847f00000189736563703235366b31a103ca634cae0d49acb401d8a4c6b6fe8c55b70d115bf400769cc1400f3258cd31388375647082765f"
	eip778Sig  = "7098ad865b00a582051940cb9cf36836572411a47278783077011599ed5cd16b76f2635f4e234738f30813a89eb9137e3e3df5266e3a1f11df72ecf1145ccb9c"
	eip778Key  = "03ca634cae0d49acb401d8a4c6b6fe8c55b70d115bf400769cc1400f3258cd3138"
)

func TestEIP778VectorDecode(t *testing.T) {
	t.Parallel()
	raw := mustHex(eip778Hex)
	var r Record
	if err := rlp.DecodeBytes(raw, &r); err != nil {
		t.Fatalf("decode: %v", err)
	}
	if r.Seq() != 1 || !bytes.Equal(r.Signature(), mustHex(eip778Sig)) {
		t.Errorf("seq %d, signature %x", r.Seq(), r.Signature())
	}
	var (
		ip  IPv4
		udp UDP
		key Secp256k1
	)
	if err := r.Load(&ip); err != nil || netip.Addr(ip) != netip.MustParseAddr("127.0.0.1") {
		t.Errorf("ip = %v, %v", netip.Addr(ip), err)
	}
	if err := r.Load(&udp); err != nil || udp != 30303 {
		t.Errorf("udp = %d, %v", udp, err)
	}
	if err := r.Load(&key); err != nil || !bytes.Equal(key[:], mustHex(eip778Key)) {
		t.Errorf("secp256k1 = %x, %v", key, err)
	}
	if r.IdentityScheme() != "v4" || r.Size() != len(raw) {
		t.Errorf("scheme %q, size %d", r.IdentityScheme(), r.Size())
	}
	enc, err := rlp.EncodeToBytes(&r)
	if err != nil || !bytes.Equal(enc, raw) {
		t.Errorf("re-encoding: %v\n got %x\nwant %x", err, enc, raw)
	}
	// Rebuilding the record from its entries yields the same content.
	var r2 Record
	r2.Set(IDv4)
	r2.Set(IPv4(netip.MustParseAddr("127.0.0.1")))
	r2.Set(key)
	r2.Set(UDP(30303))
	r2.SetSeq(1)
	if !bytes.Equal(r2.AppendContent(nil), r.AppendContent(nil)) {
		t.Errorf("content mismatch:\n got %x\nwant %x", r2.AppendContent(nil), r.AppendContent(nil))
	}
	if !bytes.Equal(r2.encode(mustHex(eip778Sig)), raw) {
		t.Error("rebuilt record encodes differently")
	}

	// Text form.
	pr, err := Parse(eip778Text)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if enc, _ := pr.AppendRLP(nil); !bytes.Equal(enc, raw) {
		t.Errorf("Parse gave %x", enc)
	}
	text, err := pr.MarshalText()
	if err != nil || string(text) != eip778Text {
		t.Errorf("MarshalText = %q, %v", text, err)
	}
	var ur Record
	if err := ur.UnmarshalText([]byte(eip778Text)); err != nil || ur.Seq() != 1 {
		t.Errorf("UnmarshalText: %v", err)
	}
}

func TestRecordRoundTrip(t *testing.T) {
	t.Parallel()
	type custom struct {
		A uint
		B []byte
		C []string
	}
	var r Record
	r.Set(IDv4)
	r.Set(Secp256k1{3, 0xca, 0x63})
	r.Set(IPv4(netip.MustParseAddr("192.168.1.1")))
	r.Set(IPv6(netip.MustParseAddr("::1")))
	r.Set(TCP(1))
	r.Set(UDP(127))
	r.Set(TCP6(128))
	r.Set(UDP6(65535))
	r.Set(QUIC(256))
	r.Set(QUIC6(0))
	r.Set(WithEntry("", "empty key"))
	r.Set(WithEntry("eth", []any{[]any{[]byte{0xfc, 0x64, 0xec, 0x04}, uint(0)}}))
	r.Set(WithEntry("snap", []any{}))
	r.Set(WithEntry("x", custom{A: 7, B: []byte{0}, C: []string{"a", ""}}))
	r.Set(WithEntry("z\x00\xff", rlp.RawValue{0x7f}))
	r.SetSeq(1 << 40)
	signTest(t, &r)

	enc, err := rlp.EncodeToBytes(&r)
	if err != nil {
		t.Fatal(err)
	}
	var dec Record
	if err := rlp.DecodeBytes(enc, &dec); err != nil {
		t.Fatalf("decode: %v", err)
	}
	if err := dec.VerifySignature(testScheme{}); err != nil {
		t.Errorf("decoded record: %v", err)
	}
	if dec.Seq() != 1<<40 || dec.Len() != r.Len() {
		t.Errorf("seq %d, len %d", dec.Seq(), dec.Len())
	}
	for k, v := range r.Pairs() {
		if _, ok := dec.search(k); !ok {
			t.Errorf("key %q missing after decoding", k)
			continue
		}
		i, _ := dec.search(k)
		if !bytes.Equal(dec.pairs[i].v, v) {
			t.Errorf("key %q: value %x, want %x", k, dec.pairs[i].v, v)
		}
	}
	var c custom
	if err := dec.Load(WithEntry("x", &c)); err != nil || c.A != 7 || len(c.C) != 2 {
		t.Errorf("custom entry: %+v, %v", c, err)
	}
	if enc2, _ := dec.AppendRLP(nil); !bytes.Equal(enc2, enc) {
		t.Error("re-encoding differs")
	}
	// Decoding must not alias the input.
	enc[len(enc)-1] ^= 0xff
	if enc2, _ := dec.AppendRLP(nil); bytes.Equal(enc2, enc) {
		t.Error("decoded record aliases its input")
	}
	// Appending to a decoded record's values must not corrupt it.
	_ = append(dec.pairs[0].v, 1, 2, 3)
	if err := dec.VerifySignature(testScheme{}); err != nil {
		t.Error("append to value changed the record")
	}
}

func TestSizeLimit(t *testing.T) {
	t.Parallel()
	// A record with a 64-byte signature, seq 0 and one entry "k" of n bytes
	// encodes to 3 (list header) + 66 + 1 + 1 + (2 + n) bytes when n ≥ 56.
	build := func(n int) *Record {
		var r Record
		r.Set(WithEntry("k", bytes.Repeat([]byte{0xaa}, n)))
		return &r
	}
	sig := bytes.Repeat([]byte{1}, 64)
	exact := build(SizeLimit - 73)
	if err := exact.SetSig(fixedScheme(sig), sig); err != nil {
		t.Fatalf("300-byte record: %v", err)
	}
	enc, _ := exact.AppendRLP(nil)
	if len(enc) != SizeLimit {
		t.Fatalf("test record is %d bytes", len(enc))
	}
	var dec Record
	if err := dec.UnmarshalRLP(enc); err != nil {
		t.Errorf("decoding 300-byte record: %v", err)
	}
	big := build(SizeLimit - 72)
	if big.Size() != SizeLimit+1-66 { // 2-byte list header, 1-byte signature
		t.Errorf("Size of unsigned record = %d", big.Size())
	}
	if err := big.SetSig(fixedScheme(sig), sig); !errors.Is(err, ErrTooBig) {
		t.Errorf("301-byte record: SetSig = %v, want ErrTooBig", err)
	}
	if big.IsSigned() {
		t.Error("too big record was signed")
	}
	// Decoding checks the size before anything else.
	tooBig := append(rlp.AppendListHeader(nil, SizeLimit), make([]byte, SizeLimit)...)
	if err := dec.UnmarshalRLP(tooBig); !errors.Is(err, ErrTooBig) {
		t.Errorf("decoding 303-byte record: %v, want ErrTooBig", err)
	}
	if err := rlp.DecodeBytes(tooBig, &dec); !errors.Is(err, ErrTooBig) {
		t.Errorf("rlp.DecodeBytes of 303-byte record: %v, want ErrTooBig", err)
	}
	if err := dec.UnmarshalRLP(bytes.Repeat([]byte{0xff}, SizeLimit+1)); !errors.Is(err, ErrTooBig) {
		t.Errorf("decoding 301 garbage bytes: %v, want ErrTooBig", err)
	}
	longText := "enr:" + strings.Repeat("A", maxTextLen+1)
	if _, err := Parse(longText); !errors.Is(err, ErrTooBig) {
		t.Errorf("Parse of long text: %v, want ErrTooBig", err)
	}
	if _, err := Parse("enr:" + base64.RawURLEncoding.EncodeToString(tooBig[:SizeLimit])); errors.Is(err, ErrTooBig) {
		t.Errorf("Parse of 300 bytes: %v", err)
	}
}

// Items for hand-built records.
var (
	sig64 = rlp.AppendBytes(nil, bytes.Repeat([]byte{9}, 64))
	seq1  = []byte{0x01}
	keyA  = rlp.AppendString(nil, "a")
	keyB  = rlp.AppendString(nil, "b")
	val1  = []byte{0x01}
	val2  = []byte{0x02}
)

func list(items ...[]byte) []byte {
	content := bytes.Join(items, nil)
	return append(rlp.AppendListHeader(nil, len(content)), content...)
}

var decodeRejectTests = []struct {
	name  string
	input []byte
	want  error // matched with errors.Is
}{
	{"not a list", rlp.AppendString(nil, "abc"), rlp.ErrExpectedList},
	{"empty input", nil, nil},
	{"empty list", list(), errIncompleteList},
	{"signature only", list(sig64), errIncompleteList},
	{"signature is a list", list(list(), seq1), rlp.ErrExpectedString},
	{"seq is a list", list(sig64, list()), rlp.ErrExpectedString},
	{"seq leading zero", list(sig64, []byte{0x82, 0x00, 0x01}), rlp.ErrCanonInt},
	{"seq zero byte", list(sig64, []byte{0x00}), rlp.ErrCanonInt},
	{"seq overflow", list(sig64, rlp.AppendBytes(nil, bytes.Repeat([]byte{1}, 9))), rlp.ErrUintOverflow},
	{"incomplete pair", list(sig64, seq1, keyA), errIncompletePair},
	{"unsorted keys", list(sig64, seq1, keyB, val1, keyA, val2), errNotSorted},
	{"duplicate keys", list(sig64, seq1, keyA, val1, keyA, val2), errDuplicateKey},
	{"key is a list", list(sig64, seq1, list(), val1), rlp.ErrExpectedString},
	{"key single byte in string header", list(sig64, seq1, []byte{0x81, 'a'}, val1), rlp.ErrCanonSize},
	{"value single byte in string header", list(sig64, seq1, keyA, []byte{0x81, 0x05}), rlp.ErrCanonSize},
	{"value long form for short size", list(sig64, seq1, keyA, []byte{0xb8, 0x02, 1, 2}), rlp.ErrCanonSize},
	{"list long form for short size", append([]byte{0xf8, 0x03}, 0x80, 0x01, 0x80), rlp.ErrCanonSize},
	{"value overruns list", list(sig64, seq1, keyA, []byte{0x83, 1}), rlp.ErrValueTooLarge},
	{"trailing data", append(list(sig64, seq1, keyA, val1), 0x00), rlp.ErrMoreThanOneValue},
	{"trailing item", append(list(sig64, seq1), list()...), rlp.ErrMoreThanOneValue},
}

func TestDecodeReject(t *testing.T) {
	t.Parallel()
	for _, test := range decodeRejectTests {
		t.Run(test.name, func(t *testing.T) {
			var r Record
			r.Set(UDP(1))
			err := r.UnmarshalRLP(test.input)
			if err == nil {
				t.Fatal("no error")
			}
			if test.want != nil && !errors.Is(err, test.want) {
				t.Errorf("got %v, want %v", err, test.want)
			}
			if !r.Has("udp") {
				t.Error("failed decode modified the record")
			}
			if err := rlp.DecodeBytes(test.input, &r); err == nil {
				t.Error("rlp.DecodeBytes accepted the input")
			}
		})
	}
	// The well-formed base of the cases above decodes.
	var r Record
	if err := r.UnmarshalRLP(list(sig64, seq1, keyA, val1, keyB, val2)); err != nil {
		t.Fatalf("valid record: %v", err)
	}
}

func TestDecodeTruncated(t *testing.T) {
	t.Parallel()
	raw := mustHex(eip778Hex)
	for n := range len(raw) {
		var r Record
		if err := r.UnmarshalRLP(raw[:n]); err == nil {
			t.Errorf("accepted the first %d of %d bytes", n, len(raw))
		}
	}
	// Shorten the list header to cut the content at every position: only
	// cuts at pair boundaries leave a valid record.
	content := raw[2:]
	off := 66 + 1 // signature and seq
	boundaries := map[int]bool{off: true}
	for rest := content[off:]; len(rest) > 0; {
		_, _, after, _ := rlp.Split(rest)
		_, _, after, _ = rlp.Split(after)
		off += len(rest) - len(after)
		boundaries[off] = true
		rest = after
	}
	for n := range len(content) {
		cut := list(content[:n])
		var r Record
		err := r.UnmarshalRLP(cut)
		if boundaries[n] != (err == nil) {
			t.Errorf("content cut to %d bytes: err %v, pair boundary %t", n, err, boundaries[n])
		}
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		input string
		want  string
	}{
		{"", ErrMissingPrefix.Error()},
		{"-IS4QHCY", ErrMissingPrefix.Error()},
		{"ENR:-IS4QHCY", ErrMissingPrefix.Error()},
		{"enr:", "EOF"},
		{"enr:x", "illegal base64 data at input byte 0"},
		{"enr:-IS4QHCY=", "illegal base64 data"},
		{strings.TrimSuffix(eip778Text, "Cdl8"), "exceeds available input"},
	}
	for _, test := range tests {
		_, err := Parse(test.input)
		if err == nil || !strings.Contains(err.Error(), test.want) {
			t.Errorf("Parse(%q) = %v, want error containing %q", test.input, err, test.want)
		}
	}
}

// fixedScheme accepts one signature.
type fixedScheme []byte

func (s fixedScheme) Verify(r *Record, sig []byte) error {
	if !bytes.Equal(sig, s) {
		return ErrInvalidSig
	}
	return nil
}

func (fixedScheme) NodeAddr(*Record) []byte { return nil }
