package rlp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/big"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

type decodeTest struct {
	input  string // hex
	ptr    any    // pointer to decode into
	value  any    // wanted *ptr
	err    error  // sentinel the error must match, or nil
	errMsg string // exact error message, if set
}

var decodeTests = []decodeTest{
	// booleans: only 0x80 and 0x01
	{input: "01", ptr: new(bool), value: true},
	{input: "80", ptr: new(bool), value: false},
	{input: "00", ptr: new(bool), err: ErrCanonInt},
	{input: "02", ptr: new(bool), err: ErrInvalidBool},
	{input: "7F", ptr: new(bool), err: ErrInvalidBool},
	{input: "8101", ptr: new(bool), err: ErrCanonSize},
	{input: "8180", ptr: new(bool), err: ErrInvalidBool},
	{input: "820001", ptr: new(bool), err: ErrUintOverflow},
	{input: "C0", ptr: new(bool), err: ErrExpectedString},

	// unsigned integers
	{input: "05", ptr: new(uint32), value: uint32(5)},
	{input: "80", ptr: new(uint32), value: uint32(0)},
	{input: "8180", ptr: new(uint32), value: uint32(0x80)},
	{input: "820505", ptr: new(uint32), value: uint32(0x0505)},
	{input: "8405050505", ptr: new(uint32), value: uint32(0x05050505)},
	{input: "850505050505", ptr: new(uint32), err: ErrUintOverflow, errMsg: "rlp: uint overflow for uint32"},
	{input: "C0", ptr: new(uint32), err: ErrExpectedString, errMsg: "rlp: expected String or Byte for uint32"},
	{input: "00", ptr: new(uint32), err: ErrCanonInt, errMsg: "rlp: non-canonical integer format for uint32"},
	{input: "8100", ptr: new(uint32), err: ErrCanonSize},
	{input: "8105", ptr: new(uint32), err: ErrCanonSize},
	{input: "817F", ptr: new(uint32), err: ErrCanonSize},
	{input: "820004", ptr: new(uint32), err: ErrCanonInt},
	{input: "B8020004", ptr: new(uint32), err: ErrCanonSize},
	{input: "88FFFFFFFFFFFFFFFF", ptr: new(uint64), value: uint64(0xFFFFFFFFFFFFFFFF)},
	{input: "89FFFFFFFFFFFFFFFFFF", ptr: new(uint64), err: ErrUintOverflow},
	{input: "880001020304050607", ptr: new(uint64), err: ErrCanonInt},
	{input: "81FF", ptr: new(uint8), value: uint8(0xFF)},
	{input: "820100", ptr: new(uint8), err: ErrUintOverflow},
	{input: "82FFFF", ptr: new(uint16), value: uint16(0xFFFF)},
	{input: "83010000", ptr: new(uint16), err: ErrUintOverflow},
	{input: "8180", ptr: new(uint), value: uint(0x80)},
	{input: "8180", ptr: new(uintptr), value: uintptr(0x80)},
	{input: "88", ptr: new(uint64), err: ErrValueTooLarge},

	// slices
	{input: "C0", ptr: new([]uint), value: []uint{}},
	{input: "C80102030405060708", ptr: new([]uint), value: []uint{1, 2, 3, 4, 5, 6, 7, 8}},
	{input: "F8020004", ptr: new([]uint), err: ErrCanonSize},
	{input: "C3010200", ptr: new([]uint), err: ErrCanonInt, errMsg: "rlp: non-canonical integer format for uint, decoding into ([]uint)[2]"},
	{input: "C20181", ptr: new([]uint), err: ErrElemTooLarge},
	{input: "C28101", ptr: new([]RawValue), value: []RawValue{unhex("8101")}}, // raw values are not parsed
	{input: "C28101", ptr: new([]uint), err: ErrCanonSize},
	{input: "80", ptr: new([]uint), err: ErrExpectedList},
	{input: "C4C20102C0", ptr: new([][]uint), value: [][]uint{{1, 2}, {}}},

	// arrays
	{input: "C50102030405", ptr: new([5]uint), value: [5]uint{1, 2, 3, 4, 5}},
	{input: "C0", ptr: new([5]uint), err: ErrTooFewElements, errMsg: "rlp: input list has too few elements for [5]uint"},
	{input: "C102", ptr: new([5]uint), err: ErrTooFewElements},
	{input: "C6010203040506", ptr: new([5]uint), err: ErrTooManyElements, errMsg: "rlp: input list has too many elements for [5]uint"},
	{input: "F8020004", ptr: new([5]uint), err: ErrCanonSize},
	{input: "C0", ptr: new([0]uint), value: [0]uint{}},
	{input: "C101", ptr: new([0]uint), err: ErrTooManyElements},
	{input: "80", ptr: new([0]uint), err: ErrExpectedList},

	// byte slices
	{input: "00", ptr: new([]byte), value: []byte{0}},
	{input: "01", ptr: new([]byte), value: []byte{1}},
	{input: "80", ptr: new([]byte), value: []byte{}},
	{input: "8D6162636465666768696A6B6C6D", ptr: new([]byte), value: []byte("abcdefghijklm")},
	{input: "C0", ptr: new([]byte), err: ErrExpectedString, errMsg: "rlp: expected String or Byte for []uint8"},
	{input: "8105", ptr: new([]byte), err: ErrCanonSize},
	{input: "8180", ptr: new([]byte), value: []byte{0x80}},
	{input: "B837" + strings.Repeat("AA", 55), ptr: new([]byte), err: ErrCanonSize},
	{input: "B838" + strings.Repeat("AA", 56), ptr: new([]byte), value: bytes.Repeat([]byte{0xAA}, 56)},
	{input: "B90038" + strings.Repeat("AA", 56), ptr: new([]byte), err: ErrCanonSize},
	{input: "B8", ptr: new([]byte), err: ErrValueTooLarge},
	{input: "B90100", ptr: new([]byte), err: ErrValueTooLarge},
	{input: "BFFFFFFFFFFFFFFFFF", ptr: new([]byte), err: ErrValueTooLarge},
	{input: "02", ptr: new([]namedByte), value: []namedByte{2}},

	// byte arrays: exact length
	{input: "02", ptr: new([1]byte), value: [1]byte{2}},
	{input: "00", ptr: new([1]byte), value: [1]byte{0}},
	{input: "8180", ptr: new([1]byte), value: [1]byte{128}},
	{input: "850102030405", ptr: new([5]byte), value: [5]byte{1, 2, 3, 4, 5}},
	{input: "A0" + strings.Repeat("11", 32), ptr: new([32]byte), value: [32]byte(bytes.Repeat([]byte{0x11}, 32))},
	{input: "02", ptr: new([5]byte), err: ErrByteArrayLength},
	{input: "80", ptr: new([5]byte), err: ErrByteArrayLength},
	{input: "820000", ptr: new([5]byte), err: ErrByteArrayLength},
	{input: "86010203040506", ptr: new([5]byte), err: ErrByteArrayLength},
	{input: "C0", ptr: new([5]byte), err: ErrExpectedString},
	{input: "C3010203", ptr: new([5]byte), err: ErrExpectedString},
	{input: "8105", ptr: new([1]byte), err: ErrCanonSize},
	{input: "817F", ptr: new([1]byte), err: ErrCanonSize},
	{input: "80", ptr: new([0]byte), value: [0]byte{}},
	{input: "01", ptr: new([0]byte), err: ErrByteArrayLength},
	{input: "8101", ptr: new([0]byte), err: ErrByteArrayLength},
	{input: "C0", ptr: new([0]byte), err: ErrExpectedString},
	{input: "8180", ptr: new([1]namedByte), value: [1]namedByte{0x80}},
	{input: "B838" + strings.Repeat("AA", 56), ptr: new([56]byte), value: [56]byte(bytes.Repeat([]byte{0xAA}, 56))},

	// strings
	{input: "00", ptr: new(string), value: "\000"},
	{input: "80", ptr: new(string), value: ""},
	{input: "83646F67", ptr: new(string), value: "dog"},
	{input: "C0", ptr: new(string), err: ErrExpectedString},
	{input: "8161", ptr: new(string), err: ErrCanonSize},

	// big integers: any size, canonical
	{input: "80", ptr: new(*big.Int), value: big.NewInt(0)},
	{input: "01", ptr: new(*big.Int), value: big.NewInt(1)},
	{input: "8180", ptr: new(*big.Int), value: big.NewInt(0x80)},
	{input: "89FFFFFFFFFFFFFFFFFF", ptr: new(*big.Int), value: veryBigInt},
	{input: "B848" + fmt.Sprintf("%X", veryVeryBigInt.Bytes()), ptr: new(*big.Int), value: veryVeryBigInt},
	{input: "10", ptr: new(big.Int), value: *big.NewInt(16)},
	{input: "C0", ptr: new(*big.Int), err: ErrExpectedString, errMsg: "rlp: expected String or Byte for *big.Int"},
	{input: "00", ptr: new(*big.Int), err: ErrCanonInt},
	{input: "820001", ptr: new(*big.Int), err: ErrCanonInt},
	{input: "8105", ptr: new(*big.Int), err: ErrCanonSize},
	{input: "8100", ptr: new(*big.Int), err: ErrCanonSize},
	{input: "A100" + strings.Repeat("FF", 32), ptr: new(*big.Int), err: ErrCanonInt},
	{input: "A101" + strings.Repeat("00", 32), ptr: new(*big.Int), value: new(big.Int).Lsh(big.NewInt(1), 256)},

	// structs
	{input: "C50583343434", ptr: new(simpleStruct), value: simpleStruct{5, "444"}},
	{input: "C601C402C203C0", ptr: new(recursiveStruct), value: recursiveStruct{1, &recursiveStruct{2, &recursiveStruct{3, nil}}}},
	{input: "C58083343434", ptr: new(bigIntStruct), value: bigIntStruct{new(big.Int), "444"}},
	{input: "C0", ptr: new(simpleStruct), err: ErrTooFewElements, errMsg: "rlp: input list has too few elements for rlp.simpleStruct"},
	{input: "C105", ptr: new(simpleStruct), err: ErrTooFewElements},
	{input: "C7C50583343434C0", ptr: new([]*simpleStruct), err: ErrTooFewElements, errMsg: "rlp: input list has too few elements for rlp.simpleStruct, decoding into ([]*rlp.simpleStruct)[1]"},
	{input: "83222222", ptr: new(simpleStruct), err: ErrExpectedList},
	{input: "C3010101", ptr: new(simpleStruct), err: ErrTooManyElements},
	{input: "C501C3C00000", ptr: new(recursiveStruct), err: ErrExpectedString, errMsg: "rlp: expected String or Byte for uint, decoding into (rlp.recursiveStruct).Child.I"},
	{input: "C50102C20102", ptr: new(tailUint), err: ErrExpectedString, errMsg: "rlp: expected String or Byte for uint, decoding into (rlp.tailUint).Tail[1]"},
	{input: "C0", ptr: new(struct{}), value: struct{}{}},
	{input: "C101", ptr: new(struct{}), err: ErrTooManyElements},
	{input: "C3C20162", ptr: new(embeddedOuter), err: ErrTooFewElements},
	{input: "C4C2026201", ptr: new(embeddedOuter), value: embeddedOuter{Inner: simpleStruct{2, "b"}, Z: true}},

	// struct tag "tail"
	{input: "C3010203", ptr: new(tailRaw), value: tailRaw{A: 1, Tail: []RawValue{unhex("02"), unhex("03")}}},
	{input: "C20102", ptr: new(tailRaw), value: tailRaw{A: 1, Tail: []RawValue{unhex("02")}}},
	{input: "C101", ptr: new(tailRaw), value: tailRaw{A: 1, Tail: []RawValue{}}},
	{input: "C0", ptr: new(tailRaw), err: ErrTooFewElements},
	{input: "C3010203", ptr: new(tailPrivateFields), value: tailPrivateFields{A: 1, Tail: []uint{2, 3}}},
	{input: "C401820203", ptr: new(byteSliceTail), value: byteSliceTail{A: 1, B: []byte{2, 3}}},
	{input: "C3010203", ptr: new(byteSliceTail), err: ErrTooManyElements},
	{input: "C101", ptr: new(byteSliceTail), err: ErrTooFewElements},
	{input: "C301C105", ptr: new(rawValueTail), value: rawValueTail{A: 1, R: RawValue{0xC1, 0x05}}},
	{input: "C3010203", ptr: new(rawValueTail), err: ErrTooManyElements},
	{input: "C101", ptr: new(rawValueTail), err: ErrTooFewElements},

	// struct tag "-"
	{input: "C20102", ptr: new(ignoredField), value: ignoredField{A: 1, C: 2}},
	{input: "C20102", ptr: &ignoredField{B: 9}, value: ignoredField{A: 1, B: 9, C: 2}},

	// struct tags "nil", "nilList", "nilString"
	{input: "C180", ptr: new(nilListUint), err: ErrWrongNilKind, errMsg: "rlp: wrong kind of empty value for *uint, decoding into (rlp.nilListUint).X"},
	{input: "C1C0", ptr: new(nilListUint), value: nilListUint{}},
	{input: "C103", ptr: new(nilListUint), value: nilListUint{X: uintp(3)}},
	{input: "C1C0", ptr: new(nilStringSlice), err: ErrWrongNilKind},
	{input: "C180", ptr: new(nilStringSlice), value: nilStringSlice{}},
	{input: "C2C103", ptr: new(nilStringSlice), value: nilStringSlice{X: &[]uint{3}}},
	{input: "C180", ptr: new(bigIntNilTag), value: bigIntNilTag{X: big.NewInt(0)}},
	{input: "C1C0", ptr: new(bigIntNilTag), err: ErrExpectedString},
	{input: "C2C0C0", ptr: &recursiveStruct{I: 5, Child: &recursiveStruct{I: 6}}, err: ErrExpectedString},
	{input: "C201C0", ptr: &recursiveStruct{I: 5, Child: &recursiveStruct{I: 6}}, value: recursiveStruct{I: 1}},

	// struct tag "optional"
	{input: "C101", ptr: new(optionalFields), value: optionalFields{1, 0, 0}},
	{input: "C20102", ptr: new(optionalFields), value: optionalFields{1, 2, 0}},
	{input: "C3010203", ptr: new(optionalFields), value: optionalFields{1, 2, 3}},
	{input: "C3018080", ptr: new(optionalFields), value: optionalFields{1, 0, 0}},
	{input: "C401020304", ptr: new(optionalFields), err: ErrTooManyElements},
	{input: "C0", ptr: new(optionalFields), err: ErrTooFewElements},
	{input: "C101", ptr: new(optionalAndTail), value: optionalAndTail{A: 1}},
	{input: "C20102", ptr: new(optionalAndTail), value: optionalAndTail{A: 1, B: 2, Tail: []uint{}}},
	{input: "C401020304", ptr: new(optionalAndTail), value: optionalAndTail{A: 1, B: 2, Tail: []uint{3, 4}}},
	{input: "C101", ptr: new(optionalBigInt), value: optionalBigInt{A: 1}},
	{input: "C20102", ptr: new(optionalBigInt), value: optionalBigInt{A: 1, B: big.NewInt(2)}},
	{input: "C101", ptr: new(optionalPtr), value: optionalPtr{A: 1}},
	{input: "C20180", ptr: new(optionalPtr), err: ErrByteArrayLength}, // "optional" does not imply "nil"
	{input: "C20102", ptr: new(optionalPtr), err: ErrByteArrayLength, errMsg: "rlp: input string length does not match byte array length for [3]uint8, decoding into (rlp.optionalPtr).B"},
	{input: "C50183010203", ptr: new(optionalPtr), value: optionalPtr{A: 1, B: &[3]byte{1, 2, 3}}},
	{input: "C0", ptr: new(multipleOptional), value: multipleOptional{}},
	{input: "C88301020383010203", ptr: new(multipleOptional), value: multipleOptional{A: &[3]byte{1, 2, 3}, B: &[3]byte{1, 2, 3}}},
	{input: "C58083010203", ptr: new(multipleOptional), err: ErrByteArrayLength},
	{input: "C20180", ptr: new(nonOptionalPtr), err: ErrByteArrayLength},
	{input: "C101", ptr: new(optionalPtrNil), value: optionalPtrNil{A: 1}},
	{input: "C20180", ptr: new(optionalPtrNil), value: optionalPtrNil{A: 1}},
	{input: "C20102", ptr: new(optionalPtrNil), err: ErrByteArrayLength},

	// optional fields missing from the input are cleared
	{input: "C101", ptr: &optionalFields{A: 9, B: 8, C: 7}, value: optionalFields{A: 1}},
	{input: "C20102", ptr: &optionalFields{A: 9, B: 8, C: 7}, value: optionalFields{A: 1, B: 2}},
	{input: "C20102", ptr: &optionalAndTail{A: 9, B: 8, Tail: []uint{7, 6, 5}}, value: optionalAndTail{A: 1, B: 2, Tail: []uint{}}},
	{input: "C101", ptr: &optionalAndTail{A: 9, B: 8, Tail: []uint{7, 6, 5}}, value: optionalAndTail{A: 1}},
	{input: "C101", ptr: &optionalPtr{A: 9, B: &[3]byte{8, 7, 6}}, value: optionalPtr{A: 1}},

	// RawValue: the header is checked, the content is not
	{input: "01", ptr: new(RawValue), value: RawValue(unhex("01"))},
	{input: "82FFFF", ptr: new(RawValue), value: RawValue(unhex("82FFFF"))},
	{input: "8105", ptr: new(RawValue), value: RawValue(unhex("8105"))},
	{input: "C3FFFFFF", ptr: new(RawValue), value: RawValue(unhex("C3FFFFFF"))},
	{input: "C20102", ptr: new([]RawValue), value: []RawValue{unhex("01"), unhex("02")}},
	{input: "B80100", ptr: new(RawValue), err: ErrCanonSize},
	{input: "83FFFF", ptr: new(RawValue), err: ErrValueTooLarge},

	// pointers
	{input: "00", ptr: new(*[]byte), value: &[]byte{0}},
	{input: "80", ptr: new(*uint), value: uintp(0)},
	{input: "C0", ptr: new(*uint), err: ErrExpectedString},
	{input: "07", ptr: new(*uint), value: uintp(7)},
	{input: "817F", ptr: new(*uint), err: ErrCanonSize},
	{input: "8180", ptr: new(*uint), value: uintp(0x80)},
	{input: "C109", ptr: new(*[]uint), value: &[]uint{9}},
	{input: "C58403030303", ptr: new(*[][]byte), value: &[][]byte{{3, 3, 3, 3}}},
	{input: "C3808005", ptr: new([]*uint), value: []*uint{uintp(0), uintp(0), uintp(5)}},
	{input: "C0", ptr: new(*simpleStruct), err: ErrTooFewElements},

	// interface{}
	{input: "00", ptr: new(any), value: []byte{0}},
	{input: "01", ptr: new(any), value: []byte{1}},
	{input: "80", ptr: new(any), value: []byte{}},
	{input: "850505050505", ptr: new(any), value: []byte{5, 5, 5, 5, 5}},
	{input: "C0", ptr: new(any), value: []any{}},
	{input: "C50183040404", ptr: new(any), value: []any{[]byte{1}, []byte{4, 4, 4}}},
	{input: "C7C0C1C0C3C0C1C0", ptr: new(any), value: []any{[]any{}, []any{[]any{}}, []any{[]any{}, []any{[]any{}}}}},
	{input: "8105", ptr: new(any), err: ErrCanonSize},
	{input: "C3C28105", ptr: new(any), err: ErrCanonSize, errMsg: "rlp: non-canonical size information for interface {}, decoding into (interface {})[0][0]"},
	{input: "C4C0C28105", ptr: new(any), err: ErrCanonSize, errMsg: "rlp: non-canonical size information for interface {}, decoding into (interface {})[1][0]"},
	{input: "C4C0C2B801", ptr: new(any), err: ErrCanonSize},
	{input: "C3C0C1B8", ptr: new(any), err: ErrElemTooLarge},
	{input: "c330f9c030f93030ce3030303030303030bd303030303030", ptr: new(any), err: ErrElemTooLarge},
	{input: "C3010203", ptr: new([]io.Reader), err: ErrUnsupportedType},
	{input: "C20102", ptr: new(struct{ A, B any }), value: struct{ A, B any }{[]byte{1}, []byte{2}}},

	// Unmarshaler
	{input: "C20102", ptr: new(pairUnmarshaler), value: pairUnmarshaler{1, 2}},
	{input: "C3010203", ptr: new(pairUnmarshaler), err: errPairTooLong},
	{input: "C20102", ptr: new(*pairUnmarshaler), value: &pairUnmarshaler{1, 2}},
	{input: "C3C20102", ptr: new(struct{ P pairUnmarshaler }), value: struct{ P pairUnmarshaler }{pairUnmarshaler{1, 2}}},
	{input: "C20102", ptr: new([]byteUnmarshaler), value: []byteUnmarshaler{101, 102}},
	{input: "C20102", ptr: new([2]byteUnmarshaler), value: [2]byteUnmarshaler{101, 102}},
	{input: "C4C3010203", ptr: new(struct{ P pairUnmarshaler }), err: errPairTooLong},
	{input: "C0", ptr: new(struct {
		A uint             `rlp:"optional"`
		P *pairUnmarshaler `rlp:"optional"`
	}), value: struct {
		A uint             `rlp:"optional"`
		P *pairUnmarshaler `rlp:"optional"`
	}{}},

	// input sizes
	{input: "", ptr: new(uint), err: io.EOF},
	{input: "0102", ptr: new(uint), err: ErrMoreThanOneValue},
	{input: "C20102FF", ptr: new([]uint), err: ErrMoreThanOneValue},
	{input: "C30102", ptr: new([]uint), err: ErrValueTooLarge},
	{input: "C3C201", ptr: new([][]uint), err: ErrValueTooLarge},
	{input: "C2C20102", ptr: new([][]uint), err: ErrElemTooLarge},
	{input: "F90000", ptr: new([]uint), err: ErrCanonSize},
	{input: "F800", ptr: new([]uint), err: ErrCanonSize},
	{input: "F837" + strings.Repeat("01", 55), ptr: new([]uint), err: ErrCanonSize},
	{input: "FFFFFFFFFFFFFFFFFF", ptr: new([]uint), err: ErrValueTooLarge},
	{input: "C1FF", ptr: new([]RawValue), err: ErrElemTooLarge},
	{input: "C1B8", ptr: new([]uint), err: ErrElemTooLarge},
	{input: "C2B8", ptr: new([]uint), err: ErrValueTooLarge},

	// unsupported types
	{input: "C103", ptr: new(intField), errMsg: "rlp: type int is not RLP-serializable (struct field rlp.intField.X)"},
	{input: "C0", ptr: new(chan bool), errMsg: "rlp: type chan bool is not RLP-serializable"},
	{input: "C0", ptr: new(invalidNilTag), err: ErrInvalidTag, errMsg: `rlp: invalid struct tag "nil" for rlp.invalidNilTag.X (field is not a pointer)`},
	{input: "C0", ptr: new(invalidTailNotLast), err: ErrInvalidTag},
	{input: "C0", ptr: new(invalidTailNotSlice), err: ErrInvalidTag},
	{input: "C20102", ptr: new(invalidOptionalOrder), err: ErrInvalidTag},
	{input: "C20102", ptr: new(invalidTailOptional), err: ErrInvalidTag},
	{input: "C20102", ptr: new(invalidOptionalTail), err: ErrInvalidTag},
	{input: "C101", ptr: new(invalidUnknownTag), err: ErrInvalidTag},
	{input: "C0", ptr: new(funcMarshaler), err: ErrUnsupportedType},
}

func TestDecodeBytes(t *testing.T) {
	for i, test := range decodeTests {
		err := DecodeBytes(unhex(test.input), test.ptr)
		switch {
		case test.err != nil || test.errMsg != "":
			if err == nil {
				t.Errorf("test %d (%s into %T): no error, want %v", i, test.input, test.ptr, test.err)
				continue
			}
			if test.err != nil && !errors.Is(err, test.err) {
				t.Errorf("test %d (%s into %T): error %q is not %q", i, test.input, test.ptr, err, test.err)
			}
			if test.errMsg != "" && err.Error() != test.errMsg {
				t.Errorf("test %d (%s into %T): error mismatch\ngot  %v\nwant %v", i, test.input, test.ptr, err, test.errMsg)
			}
		case err != nil:
			t.Errorf("test %d (%s into %T): unexpected error: %v", i, test.input, test.ptr, err)
		default:
			got := reflect.ValueOf(test.ptr).Elem().Interface()
			if !reflect.DeepEqual(got, test.value) {
				t.Errorf("test %d (%s into %T): value mismatch\ngot  %#v\nwant %#v", i, test.input, test.ptr, got, test.value)
			}
		}
	}
}

// TestDecodeRoundTrip re-encodes every successfully decoded value whose
// type has no optional fields and expects the input back.
func TestDecodeRoundTrip(t *testing.T) {
	for i, test := range decodeTests {
		if test.err != nil || test.errMsg != "" || strings.Contains(fmt.Sprintf("%T", test.ptr), "optional") {
			continue
		}
		v := reflect.New(reflect.TypeOf(test.ptr).Elem())
		in := unhex(test.input)
		if err := DecodeBytes(in, v.Interface()); err != nil {
			t.Fatalf("test %d: %v", i, err)
		}
		out, err := EncodeToBytes(v.Interface())
		if err != nil {
			t.Fatalf("test %d: %v", i, err)
		}
		if !bytes.Equal(out, in) && !nonCanonicalRaw(test) {
			t.Errorf("test %d (%T): round trip %s → %X", i, test.ptr, test.input, out)
		}
	}
}

// nonCanonicalRaw reports tests whose input is accepted but re-encodes
// differently on purpose.
func nonCanonicalRaw(test decodeTest) bool {
	switch test.ptr.(type) {
	case *pairUnmarshaler, *[]byteUnmarshaler, *[2]byteUnmarshaler, *bigIntNilTag:
		return true
	}
	return false
}

func TestDecodeTargetErrors(t *testing.T) {
	var nilptr *struct{}
	for _, v := range []any{nil, nilptr, struct{}{}, uint(0)} {
		if err := DecodeBytes([]byte{0xC0}, v); err != ErrDecodeTarget {
			t.Errorf("DecodeBytes(%T): got %v, want ErrDecodeTarget", v, err)
		}
	}
}

func TestDecodeFirst(t *testing.T) {
	var x uint
	rest, err := DecodeFirst(unhex("05C0FF"), &x)
	if err != nil || x != 5 || !bytes.Equal(rest, unhex("C0FF")) {
		t.Fatalf("got x=%d rest=%X err=%v", x, rest, err)
	}
	in := unhex("C3")
	rest, err = DecodeFirst(in, &x)
	if !errors.Is(err, ErrValueTooLarge) || !bytes.Equal(rest, in) {
		t.Fatalf("got rest=%X err=%v", rest, err)
	}
	if _, err := DecodeFirst(nil, &x); err != io.EOF {
		t.Fatalf("empty input: got %v, want io.EOF", err)
	}
}

func TestDecodeErrorPath(t *testing.T) {
	type inner struct{ N []uint }
	type outer struct {
		A     uint
		Items []inner
	}
	in, _ := EncodeToBytes(&outer{A: 1, Items: []inner{{N: []uint{1}}, {N: []uint{2, 3}}}})
	in[len(in)-1] = 0x00 // the last integer becomes non-canonical
	var v outer
	err := DecodeBytes(in, &v)
	var de *DecodeError
	if !errors.As(err, &de) {
		t.Fatalf("got %T %v, want *DecodeError", err, err)
	}
	if de.Err != ErrCanonInt || de.Type != reflect.TypeFor[uint]() {
		t.Errorf("got Err=%v Type=%v", de.Err, de.Type)
	}
	if p := de.Path(); p != "(rlp.outer).Items[1].N[1]" {
		t.Errorf("got path %q", p)
	}
}

func TestDecodeUnmarshalerAliasesInput(t *testing.T) {
	var p struct{ R captureItem }
	in := unhex("C3C20102")
	if err := DecodeBytes(in, &p); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(p.R.item, unhex("C20102")) {
		t.Fatalf("got item %X", p.R.item)
	}
}

type captureItem struct{ item []byte }

func (c *captureItem) UnmarshalRLP(item []byte) error { c.item = item; return nil }

func TestDecodeFuncUnmarshaler(t *testing.T) {
	var f funcUnmarshaler
	if err := DecodeBytes(unhex("C20102"), &f); err != nil {
		t.Fatal(err)
	}
	if f() != 3 {
		t.Fatalf("got %d", f())
	}
}

func TestDecodeCopiesInput(t *testing.T) {
	in := unhex("C782010283030303")
	var v struct {
		B []byte
		R RawValue
	}
	if err := DecodeBytes(in, &v); err != nil {
		t.Fatal(err)
	}
	for i := range in {
		in[i] = 0xEE
	}
	if !bytes.Equal(v.B, []byte{1, 2}) || !bytes.Equal(v.R, unhex("83030303")) {
		t.Fatalf("decoded values alias the input: %X %X", v.B, v.R)
	}
}

// TestDecodeDeepNesting decodes a list nested a million levels deep into
// an interface without exhausting the stack.
func TestDecodeDeepNesting(t *testing.T) {
	const depth = 1 << 20
	enc := nested(depth)
	var v any
	if err := DecodeBytes(enc, &v); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < depth; i++ {
		l, ok := v.([]any)
		if !ok || len(l) != 1 {
			t.Fatalf("level %d: got %T", i, v)
		}
		v = l[0]
	}
	if l, ok := v.([]any); !ok || len(l) != 0 {
		t.Fatalf("innermost: got %#v", v)
	}
}

// nested returns depth empty lists nested in each other, built from the
// inside out in one buffer.
func nested(depth int) []byte {
	buf := make([]byte, depth*5+1)
	pos := len(buf) - 1
	buf[pos] = 0xC0
	for range depth {
		size := len(buf) - pos
		hdr := AppendListHeader(nil, size)
		pos -= len(hdr)
		copy(buf[pos:], hdr)
	}
	return buf[pos:]
}

// TestDecodeAllocationBound checks that a short invalid input cannot make
// the decoder allocate far more than its size: a list of a million one-byte
// items is not trusted to become a million large elements.
func TestDecodeAllocationBound(t *testing.T) {
	const n = 1 << 20
	items := append([]byte{0x81, 0x05}, bytes.Repeat([]byte{0x01}, n)...) // the first item is invalid
	in := append(AppendListHeader(nil, len(items)), items...)
	type large struct{ A [4096]byte }
	targets := []any{new([]large), new([]uint64), new(any), new([][]byte)}
	for _, ptr := range targets {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		err := DecodeBytes(in, ptr)
		runtime.ReadMemStats(&after)
		if err == nil {
			t.Fatalf("%T: no error", ptr)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 256<<10 {
			t.Errorf("%T: allocated %d bytes for a %d-byte input", ptr, alloc, len(in))
		}
	}
}
