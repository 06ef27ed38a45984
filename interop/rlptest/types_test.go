package rlptest

import (
	"math/big"

	ourrlp "github.com/devp2p-go/devp2p/rlp"
	gethrlp "github.com/ethereum/go-ethereum/rlp"
)

// The struct tags of our rlp package are go-ethereum's, so one Go type serves
// both libraries. Only types holding a RawValue need a twin for each side.

type simple struct {
	A uint64
	B string
	C []byte
	D *big.Int
	E bool
}

type withOptional struct {
	A uint64
	B uint64   `rlp:"optional"`
	C []byte   `rlp:"optional"`
	D *big.Int `rlp:"optional"`
	E []uint16 `rlp:"optional"`
}

type withTail struct {
	A    uint32
	B    string
	Rest []uint64 `rlp:"tail"`
}

type withTailStructs struct {
	A    []byte
	Rest []simple `rlp:"tail"`
}

type withOptionalAndTail struct {
	A    uint8
	B    []byte   `rlp:"optional"`
	Rest [][]byte `rlp:"tail"`
}

type withIgnored struct {
	A uint64
	B uint64 `rlp:"-"`
	C []byte
	d uint64 // unexported: skipped by both libraries
}

type withNilPointers struct {
	A *uint64       `rlp:"nil"`
	B *[]byte       `rlp:"nil"`
	C *simple       `rlp:"nil"`
	D *uint32       `rlp:"nilList"`
	E *withOptional `rlp:"nilString"`
	F *big.Int      `rlp:"nil"`
}

type withPointers struct {
	A *uint64
	B *simple
	C *[4]byte
	D *string
}

type nested struct {
	Items  []simple
	Opt    *withOptional
	Pair   [2]uint8
	Blobs  [][]byte
	Hash   [32]byte
	Lists  [][]uint64
	Any    []any
	Inner  withTail
	BigVal big.Int
}

// authLike mirrors the shape of the RLPx auth body: fixed arrays, an integer
// and a tail of raw items for forward compatibility.
type ourAuthLike struct {
	Signature [65]byte
	Pubkey    [64]byte
	Nonce     [32]byte
	Version   uint
	Rest      []ourrlp.RawValue `rlp:"tail"`
}

type gethAuthLike struct {
	Signature [65]byte
	Pubkey    [64]byte
	Nonce     [32]byte
	Version   uint
	Rest      []gethrlp.RawValue `rlp:"tail"`
}

type ourRawField struct {
	A   uint64
	Raw ourrlp.RawValue
	B   []ourrlp.RawValue
}

type gethRawField struct {
	A   uint64
	Raw gethrlp.RawValue
	B   []gethrlp.RawValue
}
