package p2p

import (
	"bytes"
	"reflect"
	"testing"
)

// FuzzHello checks that Hello decoding never panics, accepts only what
// re-encodes to the same fields, and round-trips.
func FuzzHello(f *testing.F) {
	f.Add(mustHex(f, eip8Hello))
	key := newTestKey(f)
	f.Add(appendHello(nil, &hello{Version: 5, Name: "geth", Caps: []Cap{{"eth", 68}, {"snap", 1}}, ID: key.Public()[:]}))
	f.Add(appendHello(nil, &hello{}))
	f.Add([]byte{0xc0})
	f.Add([]byte{0xc5, 0x05, 0x80, 0xc0, 0x80, 0x80})
	known := []Protocol{{Name: "eth"}, {Name: "snap"}}
	f.Fuzz(func(t *testing.T, data []byte) {
		var h hello
		if err := decodeHello(data, &h, known); err != nil {
			return
		}
		if len(data) > maxHelloSize {
			t.Fatal("accepted an oversized Hello")
		}
		enc := appendHello(nil, &h)
		var h2 hello
		if err := decodeHello(enc, &h2, known); err != nil {
			t.Fatalf("re-encoded Hello does not decode: %v", err)
		}
		if len(h.Caps) == 0 {
			h.Caps = nil
		}
		if len(h2.Caps) == 0 {
			h2.Caps = nil
		}
		if !reflect.DeepEqual(h, h2) && len(enc) <= maxHelloSize {
			t.Fatalf("round trip changed the Hello:\n%+v\n%+v", h, h2)
		}
		// The accepted input starts with the canonical encoding of its first
		// five elements, except for the list header and the ignored tail.
		if !bytes.Contains(data, enc[len(enc)-len(h.ID):]) {
			t.Fatal("ID not found in input")
		}
	})
}

// FuzzDisconnect checks that Disconnect decoding never panics and that
// every reason it returns round-trips through our encoding.
func FuzzDisconnect(f *testing.F) {
	for _, seed := range []string{"c104", "04", "80", "c180", "c0", "", "c20405", "c2820100", "f865"} {
		f.Add(mustHex(f, seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := decodeDisconnect(data)
		if r == DiscInvalid {
			return
		}
		if got := decodeDisconnect(appendDisconnect(nil, r)); got != r {
			t.Fatalf("reason %v re-decoded as %v", r, got)
		}
	})
}
