package rlp

import (
	"encoding/hex"
	"errors"
	"math/big"
	"strings"
)

// Types shared by the encode, decode and fuzz tests.

type simpleStruct struct {
	A uint
	B string
}

type recursiveStruct struct {
	I     uint
	Child *recursiveStruct `rlp:"nil"`
}

type bigIntStruct struct {
	I *big.Int
	B string
}

type tailRaw struct {
	A    uint
	Tail []RawValue `rlp:"tail"`
}

type tailUint struct {
	A    uint
	Tail []uint `rlp:"tail"`
}

type tailPrivateFields struct {
	A    uint
	Tail []uint `rlp:"tail"`
	x, y bool
}

// Tags "tail" on a byte slice or a RawValue change nothing, as in go-ethereum.
type byteSliceTail struct {
	A uint
	B []byte `rlp:"tail"`
}

type rawValueTail struct {
	A uint
	R RawValue `rlp:"tail"`
}

type nilListUint struct {
	X *uint `rlp:"nilList"`
}

type nilStringSlice struct {
	X *[]uint `rlp:"nilString"`
}

type optionalFields struct {
	A uint
	B uint `rlp:"optional"`
	C uint `rlp:"optional"`
}

type optionalAndTail struct {
	A    uint
	B    uint   `rlp:"optional"`
	Tail []uint `rlp:"tail"`
}

type optionalBigInt struct {
	A uint
	B *big.Int `rlp:"optional"`
}

type optionalPtr struct {
	A uint
	B *[3]byte `rlp:"optional"`
}

type nonOptionalPtr struct {
	A uint
	B *[3]byte
}

type multipleOptional struct {
	A *[3]byte `rlp:"optional"`
	B *[3]byte `rlp:"optional"`
}

type optionalPtrNil struct {
	A uint
	B *[3]byte `rlp:"optional,nil"`
}

type ignoredField struct {
	A uint
	B uint `rlp:"-"`
	C uint
}

type bigIntNilTag struct {
	X *big.Int `rlp:"nil"` // the *big.Int rule wins over the tag, as in go-ethereum
}

type embeddedOuter struct {
	simpleStruct
	Inner simpleStruct
	Z     bool
}

type namedByte byte

// Invalid types.

type intField struct{ X int }

type invalidNilTag struct {
	X []byte `rlp:"nil"`
}

type invalidTailNotLast struct {
	A uint `rlp:"tail"`
	B string
}

type invalidTailNotSlice struct {
	A uint
	B string `rlp:"tail"`
}

type invalidOptionalOrder struct {
	A uint `rlp:"optional"`
	B uint
}

type invalidTailOptional struct {
	T []uint `rlp:"tail,optional"`
}

type invalidOptionalTail struct {
	T []uint `rlp:"optional,tail"`
}

type invalidUnknownTag struct {
	A uint `rlp:"bogus"`
}

// Marshaler and Unmarshaler implementations.

// ptrMarshaler appends a fixed item from a pointer method.
type ptrMarshaler struct{ err error }

func (m *ptrMarshaler) AppendRLP(dst []byte) ([]byte, error) {
	if m == nil {
		panic("AppendRLP called on nil pointer")
	}
	if m.err != nil {
		return dst, m.err
	}
	return append(dst, 0x85, 0, 1, 0, 1, 0), nil
}

// valueMarshaler appends a fixed item from a value method.
type valueMarshaler struct{}

func (valueMarshaler) AppendRLP(dst []byte) ([]byte, error) {
	return append(dst, 0x82, 0xFA, 0xFE), nil
}

// byteMarshaler is a byte kind that encodes itself, so []byteMarshaler is a
// list and not a string.
type byteMarshaler byte

func (byteMarshaler) AppendRLP(dst []byte) ([]byte, error) { return append(dst, 0xC0), nil }

// funcMarshaler is an otherwise unsupported kind that encodes itself.
type funcMarshaler func()

func (funcMarshaler) AppendRLP(dst []byte) ([]byte, error) { return append(dst, 0xC1, 0x01), nil }

// pairUnmarshaler decodes a two-element list of integers with the
// low-level API.
type pairUnmarshaler struct{ A, B uint64 }

func (p *pairUnmarshaler) UnmarshalRLP(item []byte) error {
	c, _, err := SplitList(item)
	if err != nil {
		return err
	}
	if p.A, c, err = SplitUint64(c); err != nil {
		return err
	}
	if p.B, c, err = SplitUint64(c); err != nil {
		return err
	}
	if len(c) != 0 {
		return errPairTooLong
	}
	return nil
}

func (p *pairUnmarshaler) AppendRLP(dst []byte) ([]byte, error) {
	dst, mark := StartList(dst)
	dst = AppendUint64(dst, p.A)
	dst = AppendUint64(dst, p.B)
	return EndList(dst, mark), nil
}

var errPairTooLong = errors.New("pair: too many elements")

// byteUnmarshaler is a byte kind that decodes itself, so []byteUnmarshaler
// decodes from a list.
type byteUnmarshaler byte

func (b *byteUnmarshaler) UnmarshalRLP(item []byte) error {
	x, _, err := SplitUint64(item)
	*b = byteUnmarshaler(x + 100)
	return err
}

// funcUnmarshaler is an otherwise unsupported kind that decodes itself.
type funcUnmarshaler func() int

func (f *funcUnmarshaler) UnmarshalRLP(item []byte) error {
	n := len(item)
	*f = func() int { return n }
	return nil
}

func unhex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

func uintp(x uint) *uint { return &x }

var (
	// veryBigInt is 0xFFFFFFFFFFFFFFFFFF (72 bits).
	veryBigInt = new(big.Int).Add(new(big.Int).Lsh(big.NewInt(0xFFFFFFFFFFFFFF), 16), big.NewInt(0xFFFF))
	// veryVeryBigInt is veryBigInt^8 (576 bits).
	veryVeryBigInt = new(big.Int).Exp(veryBigInt, big.NewInt(8), nil)
)
