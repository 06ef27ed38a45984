package rlp

import (
	"errors"
	"reflect"
	"testing"
)

// TestEncodeConcurrent builds codecs for the same new types from many
// goroutines at once; run it with -race.
func TestEncodeConcurrent(t *testing.T) {
	type fresh1 struct {
		A    uint
		B    []*fresh1
		Tail []RawValue `rlp:"tail"`
	}
	type fresh2 struct{ X [2]fresh1 }
	done := make(chan error)
	for range 8 {
		go func() {
			v := &fresh2{X: [2]fresh1{{A: 1, B: []*fresh1{{A: 2}}}, {A: 3}}}
			b, err := EncodeToBytes(v)
			if err == nil {
				var out fresh2
				err = DecodeBytes(b, &out)
			}
			done <- err
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

type mutualA struct {
	N uint
	B []mutualB
}

type mutualB struct {
	A *mutualA `rlp:"nil"`
}

func TestMutuallyRecursiveTypes(t *testing.T) {
	v := &mutualA{N: 1, B: []mutualB{{A: &mutualA{N: 2, B: []mutualB{}}}, {}}}
	enc, err := EncodeToBytes(v)
	if err != nil {
		t.Fatal(err)
	}
	if want := unhex("C801C6C3C202C0C1C0"); string(enc) != string(want) {
		t.Fatalf("got %X, want %X", enc, want)
	}
	var out mutualA
	if err := DecodeBytes(enc, &out); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&out, v) {
		t.Fatalf("got %+v", out)
	}
}

// badRecursive refers to itself and has an unsupported field: codecs that
// were built while badRecursive was incomplete must report its error.
type badRecursive struct {
	Next *badRecursive
	X    int
}

func TestRecursiveTypeWithError(t *testing.T) {
	if _, err := EncodeToBytes(&badRecursive{Next: &badRecursive{}}); !errors.Is(err, ErrUnsupportedType) {
		t.Errorf("encode: got %v", err)
	}
	if _, err := EncodeToBytes([]*badRecursive{{}}); !errors.Is(err, ErrUnsupportedType) {
		t.Errorf("encode slice: got %v", err)
	}
	var p *badRecursive
	if err := DecodeBytes([]byte{0xC0}, &p); !errors.Is(err, ErrUnsupportedType) {
		t.Errorf("decode: got %v", err)
	}
	var s []*badRecursive
	if err := DecodeBytes([]byte{0xC1, 0xC0}, &s); !errors.Is(err, ErrUnsupportedType) {
		t.Errorf("decode slice: got %v", err)
	}
}

func TestCachedInfoReused(t *testing.T) {
	typ := reflect.TypeFor[simpleStruct]()
	first := cachedInfo(typ)
	if cachedInfo(typ) != first {
		t.Fatal("codec built twice")
	}
	if n := testing.AllocsPerRun(100, func() { cachedInfo(typ) }); n != 0 {
		t.Fatalf("cache lookup allocates %v times", n)
	}
}

// A field type may be encodable but not decodable: the struct's codec must
// fail in that direction only.
func TestStructFieldErrorDirection(t *testing.T) {
	type encodeOnly struct {
		A uint
		F funcMarshaler
	}
	enc, err := EncodeToBytes(&encodeOnly{A: 1})
	if err != nil || string(enc) != "\xc3\x01\xc1\x01" {
		t.Fatalf("encode: %X %v", enc, err)
	}
	var v encodeOnly
	if err := DecodeBytes(enc, &v); !errors.Is(err, ErrUnsupportedType) {
		t.Fatalf("decode: got %v", err)
	}
}
