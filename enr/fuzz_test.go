package enr

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/devp2p-go/devp2p/rlp"
)

// FuzzDecodeRecord checks that decoding never panics and that every accepted
// input is the canonical encoding of the decoded record: re-encoding it, and
// rebuilding it from its pairs, give the input back.
func FuzzDecodeRecord(f *testing.F) {
	f.Add(mustHex(eip778Hex))
	var r Record
	r.Set(IDv4)
	r.Set(Secp256k1{2})
	r.Set(IPv4(netip.MustParseAddr("1.2.3.4")))
	r.Set(IPv6(netip.MustParseAddr("2001:db8::1")))
	r.Set(TCP(30303))
	r.Set(UDP(30301))
	r.Set(WithEntry("eth", []any{[]any{[]byte{1, 2, 3, 4}, uint(0)}}))
	r.SetSeq(1 << 33)
	r.SetSig(fixedScheme{1, 2, 3}, []byte{1, 2, 3})
	enc, _ := r.AppendRLP(nil)
	f.Add(enc)
	for _, test := range decodeRejectTests {
		f.Add(test.input)
	}

	f.Fuzz(func(t *testing.T, input []byte) {
		var r Record
		if err := r.UnmarshalRLP(input); err != nil {
			if len(input) > SizeLimit && err != ErrTooBig {
				t.Fatalf("%d-byte input: %v, want ErrTooBig", len(input), err)
			}
			return
		}
		if len(input) > SizeLimit {
			t.Fatalf("accepted %d-byte record", len(input))
		}
		enc, err := r.AppendRLP(nil)
		if err != nil || !bytes.Equal(enc, input) {
			t.Fatalf("re-encoding: %v\n got %x\nwant %x", err, enc, input)
		}
		if r.Size() != len(input) {
			t.Fatalf("Size %d, input %d bytes", r.Size(), len(input))
		}

		// Rebuild through the public API.
		var r2 Record
		for k, v := range r.Pairs() {
			r2.Set(WithEntry(k, rlp.RawValue(v)))
		}
		r2.SetSeq(r.Seq())
		sig := r.Signature()
		if err := r2.SetSig(fixedScheme(sig), sig); err != nil {
			t.Fatalf("rebuilt record: SetSig: %v", err)
		}
		if enc2, _ := r2.AppendRLP(nil); !bytes.Equal(enc2, input) {
			t.Fatalf("rebuilt record encodes differently:\n got %x\nwant %x", enc2, input)
		}

		// Text round trip.
		text, err := r.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		r3, err := Parse(string(text))
		if err != nil {
			t.Fatalf("Parse(%s): %v", text, err)
		}
		if enc3, _ := r3.AppendRLP(nil); !bytes.Equal(enc3, input) {
			t.Fatal("text round trip changed the record")
		}

		// Loading standard entries must not panic.
		for _, e := range []Entry{new(ID), new(Secp256k1), new(IPv4), new(IPv6), new(TCP), new(UDP), new(TCP6), new(UDP6)} {
			r.Load(e)
		}
		r.IdentityScheme()
	})
}
