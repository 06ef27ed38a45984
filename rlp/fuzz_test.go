package rlp

import (
	"bytes"
	"math/big"
	"reflect"
	"testing"
)

// Types decoded by FuzzDecode.

type fuzzInner struct {
	A uint64
	B []byte
	C string
}

type fuzzOptional struct {
	A uint64
	B *big.Int  `rlp:"optional"`
	C []uint64  `rlp:"optional"`
	D fuzzInner `rlp:"optional"`
}

type fuzzTail struct {
	Flag bool
	In   fuzzInner
	Ptr  *fuzzInner `rlp:"nil"`
	Arr  [2][]byte
	Tail []RawValue `rlp:"tail"`
}

// fuzzTargets returns fresh values to decode into. exact reports whether a
// successful decode re-encodes to the input byte for byte.
func fuzzTargets() []struct {
	ptr   any
	exact bool
} {
	return []struct {
		ptr   any
		exact bool
	}{
		{new(any), true},
		{new(uint64), true},
		{new(uint8), true},
		{new(*big.Int), true},
		{new(bool), true},
		{new(string), true},
		{new([]byte), true},
		{new([32]byte), true},
		{new([]uint64), true},
		{new([3]uint64), true},
		{new(RawValue), true},
		{new([]RawValue), true},
		{new(fuzzInner), true},
		{new([]fuzzInner), true},
		{new(fuzzTail), true},
		{new(fuzzOptional), false}, // trailing zero optional fields are dropped
		{new([]*fuzzOptional), false},
	}
}

func fuzzSeeds() [][]byte {
	seeds := [][]byte{
		{}, {0x00}, {0x7F}, {0x80}, {0x81, 0x80}, {0x81, 0x05}, {0xC0}, {0xC1, 0xC0},
		unhex("B838" + "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"),
		unhex("F8020004"), unhex("B90000"), unhex("C3010203"), unhex("C601C402C203C0"),
		unhex("c330f9c030f93030ce3030303030303030bd303030303030"),
	}
	values := []any{
		uint64(0), uint64(0x7F), uint64(0x80), uint64(1<<64 - 1), veryVeryBigInt, true, "dog",
		[32]byte{1, 2, 3}, []uint64{1, 2, 0x1000}, [3]uint64{0, 1, 2},
		[]any{[]any{}, []byte{}, []any{[]byte{0x80}}},
		&fuzzInner{1, []byte{0x7F}, "x"},
		&fuzzOptional{A: 1}, &fuzzOptional{A: 1, B: big.NewInt(256), C: []uint64{1}},
		&fuzzOptional{A: 2, D: fuzzInner{C: "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz0123"}},
		&fuzzTail{Flag: true, Ptr: &fuzzInner{}, Arr: [2][]byte{{1}, {2, 3}}, Tail: []RawValue{{0xC0}, {0x05}}},
		&fuzzTail{},
		[]*fuzzOptional{{A: 1}, {A: 2, C: []uint64{}}},
		bytes.Repeat([]byte{0xAB}, 300),
	}
	for _, v := range values {
		b, err := EncodeToBytes(v)
		if err != nil {
			panic(err)
		}
		seeds = append(seeds, b)
	}
	return seeds
}

// validRLP reports whether b holds zero or more canonical items, checking
// every nesting level with Split.
func validRLP(b []byte) bool {
	for len(b) > 0 {
		k, content, rest, err := Split(b)
		if err != nil || (k == List && !validRLP(content)) {
			return false
		}
		b = rest
	}
	return true
}

func FuzzDecode(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, input []byte) {
		// The low-level functions must not panic.
		Split(input)
		CountValues(input)
		SplitUint64(input)

		// A strict walk with Split and decoding into an interface must agree.
		_, _, rest, splitErr := Split(input)
		canonical := splitErr == nil && len(rest) == 0 && validRLP(input)
		var anyVal any
		if err := DecodeBytes(input, &anyVal); (err == nil) != canonical {
			t.Fatalf("input %X: decode into any: %v; Split walk says canonical=%v", input, err, canonical)
		}

		for _, target := range fuzzTargets() {
			if err := DecodeBytes(input, target.ptr); err != nil {
				continue
			}
			enc, err := EncodeToBytes(target.ptr)
			if err != nil {
				t.Fatalf("input %X into %T: re-encoding failed: %v", input, target.ptr, err)
			}
			if target.exact {
				if !bytes.Equal(enc, input) {
					t.Fatalf("input %X into %T: re-encoded as %X", input, target.ptr, enc)
				}
				continue
			}
			again := reflect.New(reflect.TypeOf(target.ptr).Elem())
			if err := DecodeBytes(enc, again.Interface()); err != nil {
				t.Fatalf("input %X into %T: re-encoded %X does not decode: %v", input, target.ptr, enc, err)
			}
			if !reflect.DeepEqual(again.Interface(), target.ptr) {
				t.Fatalf("input %X into %T: round trip changed the value", input, target.ptr)
			}
		}
	})
}
