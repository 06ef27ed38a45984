package rlp

import (
	"bytes"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestAppendUint64(t *testing.T) {
	tests := []struct {
		x    uint64
		want string
	}{
		{0, "80"},
		{1, "01"},
		{0x7F, "7F"},
		{0x80, "8180"},
		{0xFF, "81FF"},
		{0x100, "820100"},
		{0xFFFF, "82FFFF"},
		{0x10000, "83010000"},
		{0xFFFFFF, "83FFFFFF"},
		{0xFFFFFFFF, "84FFFFFFFF"},
		{0x100000000, "850100000000"},
		{0xFFFFFFFFFFFF, "86FFFFFFFFFFFF"},
		{0x0100000000000000, "880100000000000000"},
		{0xFFFFFFFFFFFFFFFF, "88FFFFFFFFFFFFFFFF"},
	}
	for _, test := range tests {
		if got := AppendUint64([]byte{0xEE}, test.x); !bytes.Equal(got, unhex("EE"+test.want)) {
			t.Errorf("AppendUint64(%#x) = %X, want EE%s", test.x, got, test.want)
		}
	}
}

func TestAppendUint64Random(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		x := r.Uint64() >> r.IntN(64)
		enc := AppendUint64(nil, x)
		got, rest, err := SplitUint64(enc)
		if err != nil || got != x || len(rest) != 0 {
			t.Fatalf("%#x: encoded %X, decoded %#x %X %v", x, enc, got, rest, err)
		}
		var viaBig big.Int
		if ref := AppendBigInt(nil, viaBig.SetUint64(x)); !bytes.Equal(ref, enc) {
			t.Fatalf("%#x: AppendBigInt %X, AppendUint64 %X", x, ref, enc)
		}
	}
}

func TestAppendStrings(t *testing.T) {
	tests := []struct {
		s    string
		want string
	}{
		{"", "80"},
		{"\x00", "00"},
		{"\x7F", "7F"},
		{"\x80", "8180"},
		{"dog", "83646F67"},
		{strings.Repeat("a", 55), "B7" + strings.Repeat("61", 55)},
		{strings.Repeat("a", 56), "B838" + strings.Repeat("61", 56)},
		{strings.Repeat("a", 1024), "B90400" + strings.Repeat("61", 1024)},
	}
	for _, test := range tests {
		want := unhex(test.want)
		if got := AppendString(nil, test.s); !bytes.Equal(got, want) {
			t.Errorf("AppendString(%q) = %X", test.s, got)
		}
		if got := AppendBytes(nil, []byte(test.s)); !bytes.Equal(got, want) {
			t.Errorf("AppendBytes(%q) = %X", test.s, got)
		}
		if len(test.s) != 1 {
			got := append(AppendStringHeader(nil, len(test.s)), test.s...)
			if !bytes.Equal(got, want) {
				t.Errorf("AppendStringHeader(%d) = %X", len(test.s), got)
			}
		}
	}
}

func TestAppendBoolBigRaw(t *testing.T) {
	if got := AppendBool(nil, true); !bytes.Equal(got, []byte{0x01}) {
		t.Errorf("true: %X", got)
	}
	if got := AppendBool(nil, false); !bytes.Equal(got, []byte{0x80}) {
		t.Errorf("false: %X", got)
	}
	if got := AppendBigInt(nil, nil); !bytes.Equal(got, []byte{0x80}) {
		t.Errorf("nil big: %X", got)
	}
	if got := AppendBigInt(nil, veryBigInt); !bytes.Equal(got, unhex("89FFFFFFFFFFFFFFFFFF")) {
		t.Errorf("big: %X", got)
	}
	// FillBytes must clear stale bytes in reused capacity.
	buf := bytes.Repeat([]byte{0xEE}, 64)[:0]
	if got := AppendBigInt(buf, new(big.Int).Lsh(big.NewInt(1), 64)); !bytes.Equal(got, unhex("89010000000000000000")) {
		t.Errorf("reused buffer: %X", got)
	}
	if got := AppendRaw([]byte{1}, []byte{0xC1, 0x02}); !bytes.Equal(got, []byte{1, 0xC1, 2}) {
		t.Errorf("raw: %X", got)
	}
	defer func() {
		if recover() == nil {
			t.Error("no panic for negative big.Int")
		}
	}()
	AppendBigInt(nil, big.NewInt(-1))
}

func TestStartEndList(t *testing.T) {
	// Compare nested lists of every interesting size with the reflection
	// encoder's output.
	for _, n := range []int{0, 1, 54, 55, 56, 57, 255, 256, 300, 1 << 16} {
		payload := bytes.Repeat([]byte{0x42}, n)
		want, _ := EncodeToBytes([]any{uint(1), []any{payload, []any{}}, "x"})

		b := []byte{0xEE} // data before the list must survive
		b, outer := StartList(b)
		b = AppendUint64(b, 1)
		b, inner := StartList(b)
		b = AppendBytes(b, payload)
		b, empty := StartList(b)
		b = EndList(b, empty)
		b = EndList(b, inner)
		b = AppendString(b, "x")
		b = EndList(b, outer)
		if b[0] != 0xEE || !bytes.Equal(b[1:], want) {
			t.Errorf("payload %d: got %X, want %X", n, b, want)
		}
	}
}

func TestAppendListHeader(t *testing.T) {
	for _, n := range []int{0, 55, 56, 1 << 20} {
		content := bytes.Repeat([]byte{1}, n)
		got := append(AppendListHeader(nil, n), content...)
		c, rest, err := SplitList(got)
		if err != nil || len(c) != n || len(rest) != 0 {
			t.Errorf("%d: %v", n, err)
		}
	}
}

func TestEndListBadMark(t *testing.T) {
	for _, mark := range []int{-1, 3} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("mark %d: no panic", mark)
				}
			}()
			EndList([]byte{1, 2, 3}, mark)
		}()
	}
}

// The low-level API must not allocate when the buffer has room.
func TestLowLevelAllocs(t *testing.T) {
	msg := buildPingLowLevel(make([]byte, 0, 256))
	long := bytes.Repeat([]byte{7}, 300)
	bigx := new(big.Int).Lsh(big.NewInt(1), 200)
	buf := make([]byte, 0, 1024)
	checks := map[string]func(){
		"Split": func() {
			if _, _, _, err := Split(msg); err != nil {
				t.Fatal(err)
			}
		},
		"SplitList+SplitString+SplitUint64": func() {
			c, _, _ := SplitList(msg)
			x, c, _ := SplitUint64(c)
			ep, _, _ := SplitList(c)
			_, _, err := SplitString(ep)
			if x != 4 || err != nil {
				t.Fatal(x, err)
			}
		},
		"CountValues": func() {
			c, _, _ := SplitList(msg)
			if n, err := CountValues(c); n != 4 || err != nil {
				t.Fatal(n, err)
			}
		},
		"Append": func() {
			b := AppendUint64(buf[:0], 1<<40)
			b = AppendBytes(b, long)
			b = AppendString(b, "hello")
			b = AppendBool(b, true)
			b = AppendBigInt(b, bigx)
			b = AppendRaw(b, msg)
			b = AppendListHeader(b, 3)
			_ = AppendStringHeader(b, 3)
		},
		"StartList/EndList": func() {
			b, outer := StartList(buf[:0])
			b, inner := StartList(b)
			b = AppendBytes(b, long) // long inner list: EndList moves content
			b = EndList(b, inner)
			b = AppendUint64(b, 5)
			_ = EndList(b, outer)
		},
		"BuildPing": func() { buildPingLowLevel(buf[:0]) },
	}
	for name, f := range checks {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s: %v allocations, want 0", name, n)
		}
	}
}

// A discv4-ping-like message built and parsed with the low-level API.

type testEndpoint struct {
	IP  []byte
	UDP uint16
	TCP uint16
}

type testPing struct {
	Version    uint
	From, To   testEndpoint
	Expiration uint64
	Rest       []RawValue `rlp:"tail"`
}

var pingIP = []byte{127, 0, 0, 1}

func appendEndpoint(b []byte, ip []byte, udp, tcp uint64) []byte {
	b, mark := StartList(b)
	b = AppendBytes(b, ip)
	b = AppendUint64(b, udp)
	b = AppendUint64(b, tcp)
	return EndList(b, mark)
}

func buildPingLowLevel(b []byte) []byte {
	b, mark := StartList(b)
	b = AppendUint64(b, 4)
	b = appendEndpoint(b, pingIP, 30303, 30303)
	b = appendEndpoint(b, pingIP, 30304, 0)
	b = AppendUint64(b, 1700000000)
	return EndList(b, mark)
}

func TestPingLowLevelMatchesReflection(t *testing.T) {
	p := &testPing{Version: 4, From: testEndpoint{pingIP, 30303, 30303}, To: testEndpoint{pingIP, 30304, 0}, Expiration: 1700000000}
	want, err := EncodeToBytes(p)
	if err != nil {
		t.Fatal(err)
	}
	if got := buildPingLowLevel(nil); !bytes.Equal(got, want) {
		t.Fatalf("got %X, want %X", got, want)
	}
}
