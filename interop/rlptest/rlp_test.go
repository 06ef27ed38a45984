package rlptest

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strings"
	"testing"

	ourrlp "github.com/devp2p-go/devp2p/rlp"
	gethrlp "github.com/ethereum/go-ethereum/rlp"
)

func u64p(x uint64) *uint64 { return &x }
func strp(s string) *string { return &s }
func u32p(x uint32) *uint32 { return &x }

func bigExp(base, exp int64) *big.Int {
	return new(big.Int).Exp(big.NewInt(base), big.NewInt(exp), nil)
}

func bigHex(s string) *big.Int {
	x, ok := new(big.Int).SetString(s, 16)
	if !ok {
		panic("bad hex " + s)
	}
	return x
}

// encodeCases are values both libraries must encode to the same bytes and
// read back from each other's encoding.
func encodeCases() []any {
	long := strings.Repeat("x", 1024)
	var hash [32]byte
	for i := range hash {
		hash[i] = byte(i * 7)
	}
	return []any{
		// unsigned integers
		uint64(0), uint64(1), uint64(0x7f), uint64(0x80), uint64(0xff), uint64(0x100),
		uint64(0xffff), uint64(0x10000), uint64(1 << 32), uint64(math.MaxUint64),
		uint8(0), uint8(0x7f), uint8(0x80), uint8(0xff),
		uint16(0x1234), uint32(0xdeadbeef), uint(1 << 40),
		// big integers
		big.NewInt(0), big.NewInt(1), big.NewInt(127), big.NewInt(128), big.NewInt(0xffffff),
		new(big.Int).SetUint64(math.MaxUint64), bigExp(2, 64), bigExp(2, 255), bigExp(2, 256),
		new(big.Int).Sub(bigExp(2, 256), big.NewInt(1)), bigExp(2, 1000), bigExp(3, 300),
		bigHex("0100000000000000000000000000000000000000000000000000000000000000000000"),
		*big.NewInt(0), *bigExp(2, 100),
		// booleans
		false, true,
		// strings and byte slices
		"", "a", "\x00", "\x7f", "\x80", "\xff", "dog", strings.Repeat("a", 55),
		strings.Repeat("b", 56), strings.Repeat("c", 255), strings.Repeat("d", 256), long,
		strings.Repeat("e", 70000),
		[]byte{}, []byte{0}, []byte{0x7f}, []byte{0x80}, []byte("Lorem ipsum dolor sit amet, consectetur adipisicing elit"),
		bytes.Repeat([]byte{0xaa}, 1<<16),
		// byte arrays
		[0]byte{}, [1]byte{0}, [1]byte{0x7f}, [1]byte{0x80}, [4]byte{1, 2, 3, 4}, [20]byte{19: 1}, hash,
		[64]byte{63: 0xff},
		// lists
		[]uint64{}, []uint64{0, 1, 128, math.MaxUint64}, [3]uint64{1, 2, 3},
		[]string{"cat", "dog"}, []string{"", "", ""}, [][]byte{{}, {0}, {1, 2}},
		[][]uint64{{}, {1}, {1, 2}}, [][][]uint8{{{}}, {{1}, {2, 3}}},
		[]*big.Int{big.NewInt(0), bigExp(2, 70)},
		[]any{}, []any{[]any{}, []any{[]any{}}}, []any{uint64(1), "two", []byte{3}, []any{true, false}},
		[]any{[]any{}, []any{[]any{}}, []any{[]any{}, []any{[]any{}}}},
		make([]uint64, 1000),
		[]any{strings.Repeat("z", 60), []any{strings.Repeat("y", 60)}},
		// structs
		simple{}, simple{A: 1, B: "b", C: []byte{0xc}, D: big.NewInt(0xd), E: true},
		simple{A: math.MaxUint64, B: long, C: []byte(long), D: bigExp(2, 300)},
		withOptional{}, withOptional{A: 1}, withOptional{B: 2}, withOptional{C: []byte{3}},
		withOptional{D: big.NewInt(4)}, withOptional{E: []uint16{5}}, withOptional{A: 1, B: 2, C: []byte{3}, D: big.NewInt(4), E: []uint16{5, 6}},
		withOptional{A: 1, E: []uint16{}},
		withTail{}, withTail{A: 1, B: "x"}, withTail{A: 1, B: "x", Rest: []uint64{}}, withTail{Rest: []uint64{1, 2, 3}},
		withTailStructs{}, withTailStructs{A: []byte{1}, Rest: []simple{{A: 1}, {B: "2"}}},
		withOptionalAndTail{}, withOptionalAndTail{A: 1, B: []byte{2}}, withOptionalAndTail{A: 1, Rest: [][]byte{{3}, {4}}},
		withIgnored{A: 1, B: 2, C: []byte{3}, d: 4},
		withNilPointers{}, withNilPointers{A: u64p(0), B: &[]byte{}, C: &simple{}, D: u32p(0), E: &withOptional{}, F: big.NewInt(0)},
		withNilPointers{A: u64p(5), B: &[]byte{1}, C: &simple{A: 1}, D: u32p(7), E: &withOptional{B: 1}, F: big.NewInt(9)},
		withPointers{}, withPointers{A: u64p(1), B: &simple{E: true}, C: &[4]byte{1}, D: strp("p")},
		nested{}, nested{
			Items:  []simple{{A: 1}, {B: "x"}},
			Opt:    &withOptional{C: []byte{1}},
			Pair:   [2]uint8{1, 0xff},
			Blobs:  [][]byte{{}, []byte(long)},
			Hash:   hash,
			Lists:  [][]uint64{{1}, {}},
			Any:    []any{uint64(1), []any{"a", []byte{}}},
			Inner:  withTail{A: 1, Rest: []uint64{9}},
			BigVal: *bigExp(2, 90),
		},
		// pointers at top level
		u64p(0), u64p(300), strp(""), &simple{A: 1}, (*uint64)(nil), (*simple)(nil), (*big.Int)(nil),
		(*[]byte)(nil), (*[]uint64)(nil), (*[4]byte)(nil),
	}
}

func TestGethRLPEncode(t *testing.T) {
	for i, v := range encodeCases() {
		name := fmt.Sprintf("%d/%T", i, v)
		want, err := gethrlp.EncodeToBytes(v)
		if err != nil {
			t.Fatalf("%s: go-ethereum cannot encode %#v: %v", name, v, err)
		}
		got, err := ourrlp.EncodeToBytes(v)
		if err != nil {
			t.Errorf("%s: ours cannot encode %v: %v", name, short(v), err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: encoding of %v differs\n ours: %x\n geth: %x", name, short(v), trim(got), trim(want))
		}
		// Our append API must give the same bytes after a prefix.
		prefix := []byte{0xde, 0xad}
		app, err := ourrlp.AppendValue(prefix, v)
		if err != nil || !bytes.Equal(app[:2], prefix) || !bytes.Equal(app[2:], want) {
			t.Errorf("%s: AppendValue = %x, %v; want prefix + %x", name, trim(app), err, trim(want))
		}
		// Encode to a writer.
		var buf bytes.Buffer
		if err := ourrlp.Encode(&buf, v); err != nil || !bytes.Equal(buf.Bytes(), want) {
			t.Errorf("%s: Encode = %x, %v; want %x", name, trim(buf.Bytes()), err, trim(want))
		}
	}
}

// TestGethRLPDecodeCrossed decodes each library's encoding with the other one
// and requires both decoded values to be equal and to encode back to the same
// bytes.
func TestGethRLPDecodeCrossed(t *testing.T) {
	for i, v := range encodeCases() {
		typ := reflect.TypeOf(v)
		if typ.Kind() == reflect.Pointer && reflect.ValueOf(v).IsNil() {
			continue // nothing to decode into beyond what the non-nil cases do
		}
		name := fmt.Sprintf("%d/%T", i, v)
		enc, err := gethrlp.EncodeToBytes(v)
		if err != nil {
			t.Fatalf("%s: go-ethereum cannot encode: %v", name, err)
		}
		ours, theirs := reflect.New(typ), reflect.New(typ)
		oerr := ourrlp.DecodeBytes(enc, ours.Interface())
		gerr := gethrlp.DecodeBytes(enc, theirs.Interface())
		switch {
		case gerr != nil && oerr != nil:
			// Not every encoding decodes back (a nil struct pointer encodes as
			// the empty list, which lacks the struct's fields); both agree.
			continue
		case gerr != nil:
			t.Errorf("%s: ours decodes %x, go-ethereum does not: %v", name, trim(enc), gerr)
			continue
		case oerr != nil:
			t.Errorf("%s: ours cannot decode go-ethereum's %x: %v", name, trim(enc), oerr)
			continue
		}
		if !reflect.DeepEqual(ours.Interface(), theirs.Interface()) {
			t.Errorf("%s: decoded values differ for %x\n ours: %v\n geth: %v", name, trim(enc), short(ours.Elem().Interface()), short(theirs.Elem().Interface()))
		}
		// go-ethereum reads back what we wrote.
		ourEnc, err := ourrlp.EncodeToBytes(ours.Interface())
		if err != nil {
			t.Errorf("%s: ours cannot re-encode: %v", name, err)
			continue
		}
		back := reflect.New(typ)
		if err := gethrlp.DecodeBytes(ourEnc, back.Interface()); err != nil {
			t.Errorf("%s: go-ethereum cannot decode our %x: %v", name, trim(ourEnc), err)
			continue
		}
		if !reflect.DeepEqual(back.Interface(), theirs.Interface()) {
			t.Errorf("%s: go-ethereum reads our encoding as %v, want %v", name, short(back.Elem().Interface()), short(theirs.Elem().Interface()))
		}
		if reenc, _ := gethrlp.EncodeToBytes(back.Interface()); !bytes.Equal(reenc, enc) {
			t.Errorf("%s: round trip through both libraries changed %x to %x", name, trim(enc), trim(reenc))
		}
	}
}

// TestGethRLPRawValue checks the tail-of-raw-items shape of the RLPx auth
// body and a RawValue field, whose Go types differ between the libraries.
func TestGethRLPRawValue(t *testing.T) {
	g := gethAuthLike{Version: 4, Rest: []gethrlp.RawValue{{0x01}, {0x82, 0xab, 0xcd}, {0xc2, 0x80, 0x80}}}
	g.Signature[0], g.Pubkey[63], g.Nonce[31] = 1, 2, 3
	gEnc, err := gethrlp.EncodeToBytes(&g)
	if err != nil {
		t.Fatal(err)
	}
	var o ourAuthLike
	if err := ourrlp.DecodeBytes(gEnc, &o); err != nil {
		t.Fatalf("ours cannot decode: %v", err)
	}
	if o.Signature != g.Signature || o.Pubkey != g.Pubkey || o.Nonce != g.Nonce || o.Version != g.Version || len(o.Rest) != len(g.Rest) {
		t.Fatalf("decoded %+v, want %+v", o, g)
	}
	for i := range o.Rest {
		if !bytes.Equal(o.Rest[i], g.Rest[i]) {
			t.Errorf("Rest[%d] = %x, want %x", i, o.Rest[i], g.Rest[i])
		}
	}
	oEnc, err := ourrlp.EncodeToBytes(&o)
	if err != nil || !bytes.Equal(oEnc, gEnc) {
		t.Fatalf("ours encodes %x, %v; want %x", oEnc, err, gEnc)
	}

	gr := gethRawField{A: 7, Raw: gethrlp.RawValue{0xc3, 0x01, 0x02, 0x03}, B: []gethrlp.RawValue{{0x80}, {0xc0}}}
	grEnc, _ := gethrlp.EncodeToBytes(&gr)
	var or ourRawField
	if err := ourrlp.DecodeBytes(grEnc, &or); err != nil {
		t.Fatalf("ours cannot decode %x: %v", grEnc, err)
	}
	orEnc, err := ourrlp.EncodeToBytes(&or)
	if err != nil || !bytes.Equal(orEnc, grEnc) {
		t.Fatalf("ours encodes %x, %v; want %x", orEnc, err, grEnc)
	}
}

// TestGethRLPEncodeErrors: values neither library may encode.
func TestGethRLPEncodeErrors(t *testing.T) {
	type badTail struct {
		A []uint `rlp:"tail"`
		B uint
	}
	type badOptional struct {
		A uint `rlp:"optional"`
		B uint
	}
	type badTailType struct {
		A uint
		B uint `rlp:"tail"`
	}
	for i, v := range []any{
		int(1), int64(-1), 1.5, map[string]uint{}, make(chan int), func() {},
		big.NewInt(-1), *big.NewInt(-5), []int{1}, struct{ A int }{1},
		badTail{}, badOptional{}, badTailType{},
	} {
		_, gerr := gethrlp.EncodeToBytes(v)
		_, oerr := ourrlp.EncodeToBytes(v)
		if gerr == nil {
			t.Fatalf("%d: go-ethereum encodes %T", i, v)
		}
		if oerr == nil {
			t.Errorf("%d: ours encodes %T; go-ethereum says %v", i, v, gerr)
		}
	}
}

// TestGethRLPDecodeInvalid: inputs both decoders reject (a fixed list; the
// differential test explores many more).
func TestGethRLPDecodeInvalid(t *testing.T) {
	cases := []struct {
		hex string
		typ reflect.Type
	}{
		{"00", reflect.TypeFor[uint64]()},                       // single zero byte is not an integer
		{"8100", reflect.TypeFor[uint64]()},                     // leading zero
		{"820001", reflect.TypeFor[uint64]()},                   // leading zero
		{"8105", reflect.TypeFor[uint64]()},                     // single byte in a string header
		{"8105", reflect.TypeFor[[]byte]()},                     // same for bytes
		{"b800", reflect.TypeFor[[]byte]()},                     // long size for a short string
		{"b90002aaaa", reflect.TypeFor[[]byte]()},               // leading zero in size
		{"c0", reflect.TypeFor[uint64]()},                       // list for an integer
		{"80", reflect.TypeFor[[]uint64]()},                     // string for a list
		{"8a0100000000000000000000", reflect.TypeFor[uint64]()}, // 80 bits
		{"02", reflect.TypeFor[bool]()},                         // bool out of range
		{"8180", reflect.TypeFor[bool]()},                       // bool out of range
		{"83616263", reflect.TypeFor[[2]byte]()},                // wrong array length
		{"c30102", reflect.TypeFor[[]uint64]()},                 // list longer than input
		{"c10102", reflect.TypeFor[[]uint64]()},                 // trailing data
		{"8201", reflect.TypeFor[string]()},                     // string longer than input
		{"bf0100000000000000", reflect.TypeFor[string]()},       // huge declared size
		{"ffffffffffffffffff", reflect.TypeFor[any]()},          // huge declared list size
		{"c2c0", reflect.TypeFor[any]()},                        // inner list exceeds outer
		{"c101", reflect.TypeFor[simple]()},                     // too few struct fields
		{"c6010203040506", reflect.TypeFor[simple]()},           // too many struct fields
		{"", reflect.TypeFor[uint64]()},                         // empty input
		{"c0", reflect.TypeFor[[1]uint64]()},                    // array too short
	}
	for _, c := range cases {
		in, err := hex.DecodeString(c.hex)
		if err != nil {
			t.Fatal(err)
		}
		gerr := gethrlp.DecodeBytes(in, reflect.New(c.typ).Interface())
		oerr := ourrlp.DecodeBytes(in, reflect.New(c.typ).Interface())
		if gerr == nil {
			t.Fatalf("%s into %v: go-ethereum accepts", c.hex, c.typ)
		}
		if oerr == nil {
			t.Errorf("%s into %v: ours accepts; go-ethereum says %v", c.hex, c.typ, gerr)
		}
	}
}

func trim(b []byte) []byte {
	if len(b) > 96 {
		return b[:96]
	}
	return b
}

func short(v any) string {
	s := fmt.Sprintf("%+v", v)
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}
