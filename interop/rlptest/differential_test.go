package rlptest

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"math/big"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	ourrlp "github.com/devp2p-go/devp2p/rlp"
	gethrlp "github.com/ethereum/go-ethereum/rlp"
)

// target is one Go type both decoders are asked to fill from the same bytes.
// Most types are shared; types holding a RawValue have a twin per library and
// a norm function that maps both decoded values to one comparable form.
type target struct {
	name         string
	ours, theirs func() any      // new pointer to decode into
	norm         func(v any) any // nil: compare the decoded values as they are
	noEncode     bool            // decoded values need not re-encode identically
}

func shared[T any](name string) target {
	return target{name: name, ours: func() any { return new(T) }, theirs: func() any { return new(T) }}
}

type rawNorm struct {
	Head []any
	Raw  [][]byte
}

func rawBytes[R ~[]byte](rs []R) [][]byte {
	out := make([][]byte, len(rs))
	for i, r := range rs {
		out[i] = []byte(r)
	}
	return out
}

func diffTargets() []target {
	return []target{
		shared[any]("any"),
		shared[[]any]("[]any"),
		shared[uint64]("uint64"),
		shared[uint8]("uint8"),
		shared[uint16]("uint16"),
		shared[uint32]("uint32"),
		shared[*big.Int]("*big.Int"),
		shared[big.Int]("big.Int"),
		shared[bool]("bool"),
		shared[string]("string"),
		shared[[]byte]("[]byte"),
		shared[[0]byte]("[0]byte"),
		shared[[1]byte]("[1]byte"),
		shared[[4]byte]("[4]byte"),
		shared[[32]byte]("[32]byte"),
		shared[[]uint64]("[]uint64"),
		shared[[2]uint64]("[2]uint64"),
		shared[[]string]("[]string"),
		shared[[][]byte]("[][]byte"),
		shared[[][]uint64]("[][]uint64"),
		shared[[]*big.Int]("[]*big.Int"),
		shared[[]bool]("[]bool"),
		shared[*uint64]("*uint64"),
		shared[simple]("simple"),
		shared[[]simple]("[]simple"),
		shared[withOptional]("withOptional"),
		shared[withTail]("withTail"),
		shared[withTailStructs]("withTailStructs"),
		shared[withOptionalAndTail]("withOptionalAndTail"),
		shared[withIgnored]("withIgnored"),
		shared[withNilPointers]("withNilPointers"),
		shared[withPointers]("withPointers"),
		shared[nested]("nested"),
		{
			name:   "authLike",
			ours:   func() any { return new(ourAuthLike) },
			theirs: func() any { return new(gethAuthLike) },
			norm: func(v any) any {
				switch a := v.(type) {
				case *ourAuthLike:
					return rawNorm{[]any{a.Signature, a.Pubkey, a.Nonce, a.Version}, rawBytes(a.Rest)}
				case *gethAuthLike:
					return rawNorm{[]any{a.Signature, a.Pubkey, a.Nonce, a.Version}, rawBytes(a.Rest)}
				}
				panic("unexpected type")
			},
		},
		{
			name:   "rawField",
			ours:   func() any { return new(ourRawField) },
			theirs: func() any { return new(gethRawField) },
			norm: func(v any) any {
				switch a := v.(type) {
				case *ourRawField:
					return rawNorm{[]any{a.A, []byte(a.Raw)}, rawBytes(a.B)}
				case *gethRawField:
					return rawNorm{[]any{a.A, []byte(a.Raw)}, rawBytes(a.B)}
				}
				panic("unexpected type")
			},
		},
		{
			name:   "RawValue",
			ours:   func() any { return new(ourrlp.RawValue) },
			theirs: func() any { return new(gethrlp.RawValue) },
			norm: func(v any) any {
				switch a := v.(type) {
				case *ourrlp.RawValue:
					return []byte(*a)
				case *gethrlp.RawValue:
					return []byte(*a)
				}
				panic("unexpected type")
			},
		},
	}
}

// checkDifferential feeds in to both decoders for every target and returns
// a description of each disagreement.
func checkDifferential(in []byte) []string {
	var diffs []string
	for _, tg := range diffTargets() {
		o, g := tg.ours(), tg.theirs()
		oerr := ourrlp.DecodeBytes(in, o)
		gerr := gethrlp.DecodeBytes(in, g)
		if (oerr == nil) != (gerr == nil) {
			diffs = append(diffs, fmt.Sprintf("%s: accept/reject differs\n   ours: %v\n   geth: %v", tg.name, errOr(oerr, o), errOr(gerr, g)))
			continue
		}
		if oerr != nil {
			continue
		}
		on, gn := o, g
		if tg.norm != nil {
			on, gn = tg.norm(o), tg.norm(g)
		}
		if !reflect.DeepEqual(on, gn) {
			diffs = append(diffs, fmt.Sprintf("%s: decoded values differ\n   ours: %#v\n   geth: %#v", tg.name, on, gn))
			continue
		}
		// Both encoders must write the decoded value the same way.
		oenc, oerr := ourrlp.EncodeToBytes(o)
		genc, gerr := gethrlp.EncodeToBytes(g)
		if (oerr == nil) != (gerr == nil) || !bytes.Equal(oenc, genc) {
			diffs = append(diffs, fmt.Sprintf("%s: re-encoding differs\n   ours: %x %v\n   geth: %x %v", tg.name, oenc, oerr, genc, gerr))
		}
	}
	diffs = append(diffs, checkSplit(in)...)
	return diffs
}

// checkSplit compares the low-level item splitters.
func checkSplit(in []byte) []string {
	var diffs []string
	same := func(name string, oerr, gerr error, oval, gval []any) {
		if (oerr == nil) != (gerr == nil) {
			diffs = append(diffs, fmt.Sprintf("%s: accept/reject differs: ours %v, geth %v", name, oerr, gerr))
		} else if oerr == nil && !reflect.DeepEqual(oval, gval) {
			diffs = append(diffs, fmt.Sprintf("%s: results differ: ours %x, geth %x", name, oval, gval))
		}
	}
	ok, oc, or, oerr := ourrlp.Split(in)
	gk, gc, gr, gerr := gethrlp.Split(in)
	same("Split", oerr, gerr, []any{int(ok), oc, or}, []any{int(gk), gc, gr})
	oc, or, oerr = ourrlp.SplitString(in)
	gc, gr, gerr = gethrlp.SplitString(in)
	same("SplitString", oerr, gerr, []any{oc, or}, []any{gc, gr})
	oc, or, oerr = ourrlp.SplitList(in)
	gc, gr, gerr = gethrlp.SplitList(in)
	same("SplitList", oerr, gerr, []any{oc, or}, []any{gc, gr})
	ox, or, oerr := ourrlp.SplitUint64(in)
	gx, gr, gerr := gethrlp.SplitUint64(in)
	same("SplitUint64", oerr, gerr, []any{ox, or}, []any{gx, gr})
	on, oerr := ourrlp.CountValues(in)
	gn, gerr := gethrlp.CountValues(in)
	same("CountValues", oerr, gerr, []any{on}, []any{gn})
	return diffs
}

func errOr(err error, v any) string {
	if err != nil {
		return "error: " + err.Error()
	}
	return short(reflect.ValueOf(v).Elem().Interface())
}

// seedInputs returns the valid encodings of encodeCases, the invalid inputs of
// TestGethRLPDecodeInvalid and some edge cases of the header grammar.
func seedInputs() [][]byte {
	var seeds [][]byte
	for _, v := range encodeCases() {
		if enc, err := gethrlp.EncodeToBytes(v); err == nil {
			seeds = append(seeds, enc)
		}
	}
	for _, h := range []string{
		"", "00", "01", "7f", "80", "81", "8100", "8105", "817f", "8180", "81ff", "820001", "820100",
		"b7", "b8", "b800", "b801", "b838" + strings.Repeat("61", 56), "b837" + strings.Repeat("61", 55),
		"b90002aaaa", "b9003800", "bf0100000000000000", "bfffffffffffffffff",
		"c0", "c1", "c100", "c180", "c1c0", "c2c0c0", "c3c0c1c0", "c2c0", "f7", "f8", "f800", "f801c0",
		"f83800", "f9000100", "ffffffffffffffffffff", "c6010203040506", "c50102030405", "c480c08080",
		"88ffffffffffffffff", "890100000000000000ff", "8a0100000000000000000000",
		"c88080808080808080", "cc8080c5808080808080c18080",
	} {
		b, err := hex.DecodeString(h)
		if err != nil {
			panic(err)
		}
		seeds = append(seeds, b)
	}
	return seeds
}

// mutate applies a few random edits to in.
func mutate(r *rand.Rand, in []byte) []byte {
	out := append([]byte(nil), in...)
	for n := 1 + r.IntN(3); n > 0; n-- {
		switch op := r.IntN(7); {
		case op == 0 && len(out) > 0: // flip a byte
			out[r.IntN(len(out))] ^= byte(1 + r.IntN(255))
		case op == 1 && len(out) > 0: // set a byte to an interesting value
			out[r.IntN(len(out))] = []byte{0x00, 0x7f, 0x80, 0x81, 0xb7, 0xb8, 0xbf, 0xc0, 0xc1, 0xf7, 0xf8, 0xff}[r.IntN(12)]
		case op == 2: // insert a byte
			i := r.IntN(len(out) + 1)
			out = append(out[:i], append([]byte{byte(r.Uint32())}, out[i:]...)...)
		case op == 3 && len(out) > 0: // delete a byte
			i := r.IntN(len(out))
			out = append(out[:i], out[i+1:]...)
		case op == 4 && len(out) > 0: // truncate
			out = out[:r.IntN(len(out))]
		case op == 5: // append a small item
			out = append(out, []byte{0x80, 0xc0, 0x01, 0x00}[r.IntN(4)])
		case op == 6: // wrap in a list header
			if len(out) < 56 {
				out = append([]byte{0xc0 + byte(len(out))}, out...)
			}
		}
	}
	return out
}

// TestGethRLPDifferential runs the differential check over the seed corpus
// and deterministic random mutations of it.
func TestGethRLPDifferential(t *testing.T) {
	seeds := seedInputs()
	r := rand.New(rand.NewPCG(1, 2))
	mutations := 60
	if testing.Short() {
		mutations = 10
	}
	checked, failures := 0, 0
	for _, seed := range seeds {
		inputs := [][]byte{seed}
		if len(seed) <= 4096 {
			for range mutations {
				inputs = append(inputs, mutate(r, seed))
			}
		}
		for _, in := range inputs {
			checked++
			if diffs := checkDifferential(in); len(diffs) > 0 {
				failures++
				if failures <= 20 {
					t.Errorf("input %x:\n  %s", trim(in), strings.Join(diffs, "\n  "))
				}
			}
		}
	}
	t.Logf("%d inputs checked against %d targets, %d disagreements", checked, len(diffTargets()), failures)
}

// FuzzGethRLPDifferential feeds the same bytes to both decoders for every
// target type and requires the same accept/reject decision, the same decoded
// value and the same re-encoding.
func FuzzGethRLPDifferential(f *testing.F) {
	for _, s := range seedInputs() {
		if len(s) <= 4096 {
			f.Add(s)
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if diffs := checkDifferential(in); len(diffs) > 0 {
			t.Fatalf("input %x:\n  %s", in, strings.Join(diffs, "\n  "))
		}
	})
}
