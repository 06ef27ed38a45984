package rlp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"
	"testing"
)

type encodeTest struct {
	val    any
	output string // hex
	err    error  // sentinel the error must match, or
	errMsg string // exact error message
}

var lorem = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. Curabitur mauris magna"

var encodeTests = []encodeTest{
	// booleans
	{val: true, output: "01"},
	{val: false, output: "80"},

	// unsigned integers, at every byte-length boundary
	{val: uint8(0), output: "80"},
	{val: uint8(1), output: "01"},
	{val: uint8(0x7F), output: "7F"},
	{val: uint8(0x80), output: "8180"},
	{val: uint8(0xFF), output: "81FF"},
	{val: uint16(0x100), output: "820100"},
	{val: uint16(0xFFFF), output: "82FFFF"},
	{val: uint32(0x10000), output: "83010000"},
	{val: uint32(0xFFFFFF), output: "83FFFFFF"},
	{val: uint32(0xFFFFFFFF), output: "84FFFFFFFF"},
	{val: uint64(0xFFFFFFFFFF), output: "85FFFFFFFFFF"},
	{val: uint64(0xFFFFFFFFFFFF), output: "86FFFFFFFFFFFF"},
	{val: uint64(0xFFFFFFFFFFFFFF), output: "87FFFFFFFFFFFFFF"},
	{val: uint64(0xFFFFFFFFFFFFFFFF), output: "88FFFFFFFFFFFFFFFF"},
	{val: uint64(0x0102030405060708), output: "880102030405060708"},
	{val: uint(1024), output: "820400"},
	{val: uintptr(0x80), output: "8180"},

	// big integers: the same as uint64 where they fit
	{val: big.NewInt(0), output: "80"},
	{val: big.NewInt(1), output: "01"},
	{val: big.NewInt(0x7F), output: "7F"},
	{val: big.NewInt(0x80), output: "8180"},
	{val: big.NewInt(0xFFFFFF), output: "83FFFFFF"},
	{val: new(big.Int).SetUint64(0xFFFFFFFFFFFFFFFF), output: "88FFFFFFFFFFFFFFFF"},
	{val: veryBigInt, output: "89FFFFFFFFFFFFFFFFFF"},
	{val: new(big.Int).SetBytes(unhex("102030405060708090A0B0C0D0E0F2")), output: "8F102030405060708090A0B0C0D0E0F2"},
	{val: new(big.Int).Lsh(big.NewInt(1), 256), output: "A1010000000000000000000000000000000000000000000000000000000000000000"},
	{val: veryVeryBigInt, output: "B848" + fmt.Sprintf("%X", veryVeryBigInt.Bytes())},
	{val: *big.NewInt(0), output: "80"},
	{val: *big.NewInt(0xFFFFFF), output: "83FFFFFF"},
	{val: big.NewInt(-1), err: ErrNegativeBigInt},
	{val: *big.NewInt(-1), err: ErrNegativeBigInt},
	{val: (*big.Int)(nil), output: "80"},

	// byte arrays
	{val: [0]byte{}, output: "80"},
	{val: [1]byte{0}, output: "00"},
	{val: [1]byte{0x7F}, output: "7F"},
	{val: [1]byte{0x80}, output: "8180"},
	{val: [3]byte{1, 2, 3}, output: "83010203"},
	{val: &[3]byte{1, 2, 3}, output: "83010203"},
	{val: [57]byte{1, 2, 3}, output: "B839010203" + strings.Repeat("00", 54)},
	{val: [1]namedByte{0x80}, output: "8180"},
	{val: [3]namedByte{1, 2, 3}, output: "83010203"},

	// byte slices
	{val: []byte{}, output: "80"},
	{val: []byte(nil), output: "80"},
	{val: []byte{0}, output: "00"},
	{val: []byte{0x7F}, output: "7F"},
	{val: []byte{0x80}, output: "8180"},
	{val: []byte{1, 2, 3}, output: "83010203"},
	{val: []namedByte{0x7E}, output: "7E"},
	{val: []namedByte{1, 2, 3}, output: "83010203"},

	// strings, around the 55/56 byte header boundary
	{val: "", output: "80"},
	{val: "\x00", output: "00"},
	{val: "\x7F", output: "7F"},
	{val: "\x80", output: "8180"},
	{val: "dog", output: "83646F67"},
	{val: lorem[:55], output: "B7" + fmt.Sprintf("%X", lorem[:55])},
	{val: lorem[:56], output: "B838" + fmt.Sprintf("%X", lorem[:56])},
	{val: strings.Repeat("a", 256), output: "B90100" + strings.Repeat("61", 256)},
	{val: strings.Repeat("a", 1024), output: "B90400" + strings.Repeat("61", 1024)},
	{val: strings.Repeat("a", 1<<16), output: "BA010000" + strings.Repeat("61", 1<<16)},

	// slices and arrays of non-bytes
	{val: []uint{}, output: "C0"},
	{val: []uint(nil), output: "C0"},
	{val: []uint{1, 2, 3}, output: "C3010203"},
	{val: [4]uint64{1, 2, 3, 4}, output: "C401020304"},
	{val: [0]uint64{}, output: "C0"},
	{val: []any{[]any{}, [][]any{{}}, []any{[]any{}, [][]any{{}}}}, output: "C7C0C1C0C3C0C1C0"}, // set theoretic three
	{val: []string{"cat", "dog"}, output: "C88363617483646F67"},
	{val: []any{uint(1), uint(0xFFFFFF), []any{[]uint{4, 5, 5}}, "abc"}, output: "CE0183FFFFFFC4C304050583616263"},
	{val: repeat("aaa", 15), output: "F83C" + strings.Repeat("83616161", 15)},
	{val: repeat(repeat("asdf", 4), 32), output: "F902A0" + strings.Repeat("D4"+strings.Repeat("8461736466", 4), 32)},
	{val: [][]byte{{}, {0}, {0x80}}, output: "C4800081 80"},

	// RawValue is copied verbatim
	{val: RawValue(unhex("01")), output: "01"},
	{val: RawValue(unhex("82FFFF")), output: "82FFFF"},
	{val: RawValue{}, output: ""},
	{val: []RawValue{unhex("01"), unhex("02")}, output: "C20102"},

	// structs
	{val: simpleStruct{}, output: "C28080"},
	{val: simpleStruct{A: 3, B: "foo"}, output: "C50383666F6F"},
	{val: &recursiveStruct{5, nil}, output: "C205C0"},
	{val: &recursiveStruct{5, &recursiveStruct{4, &recursiveStruct{3, nil}}}, output: "C605C404C203C0"},
	{val: &embeddedOuter{simpleStruct{1, "a"}, simpleStruct{2, "b"}, true}, output: "C4C2026201"}, // unexported embedded type skipped
	{val: &tailPrivateFields{A: 1, Tail: []uint{2}, x: true}, output: "C20102"},
	{val: struct{}{}, output: "C0"},

	// struct tag "-"
	{val: &ignoredField{A: 1, B: 2, C: 3}, output: "C20103"},

	// struct tag "tail"
	{val: &tailRaw{A: 1, Tail: []RawValue{unhex("02"), unhex("03")}}, output: "C3010203"},
	{val: &tailRaw{A: 1, Tail: []RawValue{}}, output: "C101"},
	{val: &tailRaw{A: 1}, output: "C101"},
	{val: &byteSliceTail{A: 1, B: []byte{2, 3}}, output: "C401820203"},
	{val: &byteSliceTail{A: 1}, output: "C20180"},
	{val: &rawValueTail{A: 1, R: RawValue{0xC1, 0x05}}, output: "C301C105"},

	// struct tag "optional": trailing zero values are left out
	{val: &optionalFields{}, output: "C180"},
	{val: &optionalFields{A: 1}, output: "C101"},
	{val: &optionalFields{A: 1, B: 2}, output: "C20102"},
	{val: &optionalFields{A: 1, B: 2, C: 3}, output: "C3010203"},
	{val: &optionalFields{A: 1, C: 3}, output: "C3018003"},
	{val: &optionalAndTail{A: 1}, output: "C101"},
	{val: &optionalAndTail{A: 1, B: 2}, output: "C20102"},
	{val: &optionalAndTail{A: 1, Tail: []uint{5, 6}}, output: "C401800506"},
	{val: &optionalAndTail{A: 1, Tail: []uint{}}, output: "C20180"}, // an empty, non-nil tail is not zero
	{val: &optionalBigInt{A: 1}, output: "C101"},
	{val: &optionalBigInt{A: 1, B: big.NewInt(0)}, output: "C20180"},
	{val: &optionalPtr{A: 1}, output: "C101"},
	{val: &optionalPtrNil{A: 1}, output: "C101"},
	{val: &multipleOptional{}, output: "C0"},
	{val: &multipleOptional{A: &[3]byte{1, 2, 3}, B: &[3]byte{1, 2, 3}}, output: "C88301020383010203"},
	{val: &multipleOptional{B: &[3]byte{1, 2, 3}}, output: "C58083010203"}, // encodes, but does not decode
	{val: &nonOptionalPtr{A: 1}, output: "C20180"},                         // encodes, but does not decode

	// nil pointers: the empty string or the empty list, by element type
	{val: (*uint)(nil), output: "80"},
	{val: (*bool)(nil), output: "80"},
	{val: (*string)(nil), output: "80"},
	{val: (*[]byte)(nil), output: "80"},
	{val: (*[10]byte)(nil), output: "80"},
	{val: (*[]string)(nil), output: "C0"},
	{val: (*[10]string)(nil), output: "C0"},
	{val: (*[]any)(nil), output: "C0"},
	{val: (*simpleStruct)(nil), output: "C0"},
	{val: (*any)(nil), output: "C0"},
	{val: (**uint)(nil), output: "C0"},
	{val: (*[]byteMarshaler)(nil), output: "C0"},
	{val: struct{ X *[]byte }{}, output: "C180"},
	{val: struct{ X *[2]byte }{}, output: "C180"},
	{val: struct{ X *uint64 }{}, output: "C180"},
	{val: struct{ X *[]uint64 }{}, output: "C1C0"},
	{val: &nilListUint{}, output: "C1C0"},
	{val: &nilStringSlice{}, output: "C180"},
	{val: &bigIntNilTag{}, output: "C180"},
	{val: &recursiveStruct{}, output: "C280C0"},
	{val: uintp(7), output: "07"},

	// interfaces
	{val: []any{uint(1), "a", nil}, output: "C30161C0"},
	{val: []io.Reader{bytes.NewReader(nil)}, output: "C1C0"}, // a struct without exported fields
	{val: []fmt.Stringer{big.NewInt(3)}, output: "C103"},
	{val: nil, output: "C0"},
	{val: []any{&simpleStruct{1, "x"}}, output: "C3C20178"},

	// Marshaler
	{val: (*ptrMarshaler)(nil), output: "C0"},
	{val: &ptrMarshaler{}, output: "850001000100"},
	{val: ptrMarshaler{}, output: "850001000100"}, // not addressable: encoded from a copy
	{val: &ptrMarshaler{err: io.ErrShortWrite}, err: io.ErrShortWrite},
	{val: &struct{ M ptrMarshaler }{}, output: "C6850001000100"},
	{val: struct{ M valueMarshaler }{}, output: "C382FAFE"},
	{val: struct{ M *valueMarshaler }{}, output: "C1C0"},
	{val: funcMarshaler(func() {}), output: "C101"},
	{val: []byteMarshaler{0, 1, 2}, output: "C3C0C0C0"},
	{val: &pairUnmarshaler{A: 1, B: 0x80}, output: "C3018180"},

	// unsupported types
	{val: 1, errMsg: "rlp: type int is not RLP-serializable"},
	{val: 1.5, err: ErrUnsupportedType},
	{val: map[string]uint{}, err: ErrUnsupportedType},
	{val: make(chan bool), err: ErrUnsupportedType},
	{val: &intField{X: 3}, errMsg: "rlp: type int is not RLP-serializable (struct field rlp.intField.X)"},
	{val: []int{1}, err: ErrUnsupportedType},
	{val: &invalidNilTag{}, errMsg: `rlp: invalid struct tag "nil" for rlp.invalidNilTag.X (field is not a pointer)`},
	{val: &invalidTailNotLast{}, errMsg: `rlp: invalid struct tag "tail" for rlp.invalidTailNotLast.A (must be on last field)`},
	{val: &invalidTailNotSlice{}, errMsg: `rlp: invalid struct tag "tail" for rlp.invalidTailNotSlice.B (field type is not slice)`},
	{val: &invalidOptionalOrder{}, errMsg: `rlp: invalid struct tag "" for rlp.invalidOptionalOrder.B (must be optional because preceding field "A" is optional)`},
	{val: &invalidTailOptional{}, errMsg: `rlp: invalid struct tag "optional" for rlp.invalidTailOptional.T (also has "tail" tag)`},
	{val: &invalidOptionalTail{}, errMsg: `rlp: invalid struct tag "tail" for rlp.invalidOptionalTail.T (also has "optional" tag)`},
	{val: &invalidUnknownTag{}, err: ErrInvalidTag},
}

func repeat[T any](v T, n int) []T {
	s := make([]T, n)
	for i := range s {
		s[i] = v
	}
	return s
}

func checkEncodeTest(t *testing.T, i int, test encodeTest, output []byte, err error) {
	t.Helper()
	switch {
	case test.err != nil || test.errMsg != "":
		if err == nil {
			t.Errorf("test %d (%T): no error, want %v", i, test.val, test.err)
		} else if test.err != nil && !errors.Is(err, test.err) {
			t.Errorf("test %d (%T): error %q is not %q", i, test.val, err, test.err)
		} else if test.errMsg != "" && err.Error() != test.errMsg {
			t.Errorf("test %d (%T): error mismatch\ngot  %v\nwant %v", i, test.val, err, test.errMsg)
		}
	case err != nil:
		t.Errorf("test %d (%T): unexpected error: %v", i, test.val, err)
	case !bytes.Equal(output, unhex(test.output)):
		t.Errorf("test %d (%T): output mismatch\ngot  %X\nwant %s", i, test.val, output, strings.ReplaceAll(test.output, " ", ""))
	}
}

func TestEncodeToBytes(t *testing.T) {
	for i, test := range encodeTests {
		out, err := EncodeToBytes(test.val)
		checkEncodeTest(t, i, test, out, err)
		if err == nil && out == nil {
			t.Errorf("test %d: nil output", i)
		}
	}
}

func TestEncode(t *testing.T) {
	for i, test := range encodeTests {
		var buf bytes.Buffer
		err := Encode(&buf, test.val)
		checkEncodeTest(t, i, test, buf.Bytes(), err)
	}
}

func TestAppendValue(t *testing.T) {
	prefix := []byte{0xAA, 0xBB}
	for i, test := range encodeTests {
		dst := append(make([]byte, 0, 4), prefix...)
		out, err := AppendValue(dst, test.val)
		if !bytes.HasPrefix(out, prefix) {
			t.Fatalf("test %d: prefix lost: %X", i, out)
		}
		if err != nil && len(out) != len(prefix) {
			t.Errorf("test %d: AppendValue changed dst on error: %X", i, out)
		}
		checkEncodeTest(t, i, test, out[len(prefix):], err)
	}
}

// TestEncodeNonAddressable checks that values reached through interfaces
// (and hence not addressable) encode like addressable ones.
func TestEncodeNonAddressable(t *testing.T) {
	type withArrays struct {
		A [1]byte
		B [1]byte
		C [40]byte
		M ptrMarshaler
		I big.Int
	}
	v := withArrays{A: [1]byte{5}, B: [1]byte{0x90}, C: [40]byte{1, 2}, I: *big.NewInt(0x1234)}
	want, err := EncodeToBytes(&v)
	if err != nil {
		t.Fatal(err)
	}
	for _, val := range []any{v, []any{v}} {
		got, err := EncodeToBytes(val)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := val.([]any); ok {
			if got, _, err = SplitList(got); err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%T: got %X, want %X", val, got, want)
		}
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, io.ErrClosedPipe }

func TestEncodeWriteError(t *testing.T) {
	if err := Encode(failWriter{}, uint(1)); err != io.ErrClosedPipe {
		t.Fatalf("got %v, want %v", err, io.ErrClosedPipe)
	}
}

// TestAppendValueAllocs checks that reflection encoding of a pointer to a
// struct into a buffer with room allocates nothing once the codec exists.
func TestAppendValueAllocs(t *testing.T) {
	buf := make([]byte, 0, 512)
	n := testing.AllocsPerRun(100, func() {
		var err error
		if buf, err = AppendValue(buf[:0], benchHelloValue); err != nil {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Fatalf("AppendValue allocated %v times", n)
	}
}
