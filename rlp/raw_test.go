package rlp

import (
	"bytes"
	"io"
	"math/big"
	"strings"
	"testing"
)

var splitTests = []struct {
	input         string
	kind          Kind
	content, rest string
	err           error
}{
	{input: "00FFFF", kind: Byte, content: "00", rest: "FFFF"},
	{input: "01FFFF", kind: Byte, content: "01", rest: "FFFF"},
	{input: "7FFFFF", kind: Byte, content: "7F", rest: "FFFF"},
	{input: "80FFFF", kind: String, content: "", rest: "FFFF"},
	{input: "8180", kind: String, content: "80"},
	{input: "83646F67", kind: String, content: "646F67"},
	{input: "C0", kind: List, content: ""},
	{input: "C3010203", kind: List, content: "010203"},
	{input: "C3010203C0", kind: List, content: "010203", rest: "C0"},
	{input: "C28105", kind: List, content: "8105"}, // contents are not parsed
	{input: "B838" + strings.Repeat("AB", 56), kind: String, content: strings.Repeat("AB", 56)},
	{input: "F838" + strings.Repeat("01", 56), kind: List, content: strings.Repeat("01", 56)},
	{input: "B90100" + strings.Repeat("AB", 256), kind: String, content: strings.Repeat("AB", 256)},

	// errors
	{input: "", err: io.ErrUnexpectedEOF},
	{input: "8100", err: ErrCanonSize},
	{input: "8141", err: ErrCanonSize},
	{input: "817F", err: ErrCanonSize},
	{input: "B800", err: ErrCanonSize},
	{input: "B837", err: ErrCanonSize},
	{input: "B802FFFF", err: ErrCanonSize},
	{input: "B90000", err: ErrCanonSize},
	{input: "B90037", err: ErrCanonSize},
	{input: "B90055", err: ErrCanonSize},
	{input: "BA0002FFFF", err: ErrCanonSize},
	{input: "F800", err: ErrCanonSize},
	{input: "F837", err: ErrCanonSize},
	{input: "F90000", err: ErrCanonSize},
	{input: "F90055", err: ErrCanonSize},
	{input: "FA0002FFFF", err: ErrCanonSize},
	{input: "B8", err: io.ErrUnexpectedEOF},
	{input: "B901", err: io.ErrUnexpectedEOF},
	{input: "FF01020304050607", err: io.ErrUnexpectedEOF},
	{input: "81", err: ErrValueTooLarge},
	{input: "8501010101", err: ErrValueTooLarge},
	{input: "C60607080902", err: ErrValueTooLarge},
	{input: "B838" + strings.Repeat("AB", 55), err: ErrValueTooLarge},
	{input: "BFFFFFFFFFFFFFFFFF", err: ErrValueTooLarge},
	{input: "FFFFFFFFFFFFFFFFFF", err: ErrValueTooLarge},
	{input: "BF7FFFFFFFFFFFFFFF00", err: ErrValueTooLarge},
}

func TestSplit(t *testing.T) {
	for i, test := range splitTests {
		in := unhex(test.input)
		k, content, rest, err := Split(in)
		if err != test.err {
			t.Errorf("test %d (%s): error %v, want %v", i, test.input, err, test.err)
			continue
		}
		if err != nil {
			if !bytes.Equal(rest, in) || content != nil {
				t.Errorf("test %d: on error, got content %X rest %X", i, content, rest)
			}
			continue
		}
		if k != test.kind || !bytes.Equal(content, unhex(test.content)) || !bytes.Equal(rest, unhex(test.rest)) {
			t.Errorf("test %d (%s): got %v %X %X, want %v %s %s", i, test.input, k, content, rest, test.kind, test.content, test.rest)
		}
	}
}

func TestSplitString(t *testing.T) {
	if _, _, err := SplitString(unhex("C3010203")); err != ErrExpectedString {
		t.Errorf("list: got %v", err)
	}
	if _, _, err := SplitString(unhex("8100")); err != ErrCanonSize {
		t.Errorf("non-canonical: got %v", err)
	}
	c, rest, err := SplitString(unhex("8301020380"))
	if err != nil || !bytes.Equal(c, unhex("010203")) || !bytes.Equal(rest, unhex("80")) {
		t.Errorf("got %X %X %v", c, rest, err)
	}
	c, _, err = SplitString(unhex("05"))
	if err != nil || !bytes.Equal(c, []byte{5}) {
		t.Errorf("byte: got %X %v", c, err)
	}
}

func TestSplitList(t *testing.T) {
	if _, _, err := SplitList(unhex("8301020380")); err != ErrExpectedList {
		t.Errorf("string: got %v", err)
	}
	if _, _, err := SplitList(unhex("01")); err != ErrExpectedList {
		t.Errorf("byte: got %v", err)
	}
	if _, _, err := SplitList(unhex("F800")); err != ErrCanonSize {
		t.Errorf("non-canonical: got %v", err)
	}
	c, rest, err := SplitList(unhex("C20102C0"))
	if err != nil || !bytes.Equal(c, unhex("0102")) || !bytes.Equal(rest, unhex("C0")) {
		t.Errorf("got %X %X %v", c, rest, err)
	}
}

func TestSplitUint64(t *testing.T) {
	tests := []struct {
		input string
		val   uint64
		rest  string
		err   error
	}{
		{"01", 1, "", nil},
		{"7FFF", 0x7F, "FF", nil},
		{"80FF", 0, "FF", nil},
		{"81FAFF", 0xFA, "FF", nil},
		{"82FAFAFF", 0xFAFA, "FF", nil},
		{"83FAFAFAFF", 0xFAFAFA, "FF", nil},
		{"84FAFAFAFAFF", 0xFAFAFAFA, "FF", nil},
		{"85FAFAFAFAFAFF", 0xFAFAFAFAFA, "FF", nil},
		{"86FAFAFAFAFAFAFF", 0xFAFAFAFAFAFA, "FF", nil},
		{"87FAFAFAFAFAFAFAFF", 0xFAFAFAFAFAFAFA, "FF", nil},
		{"88FAFAFAFAFAFAFAFAFF", 0xFAFAFAFAFAFAFAFA, "FF", nil},

		{"", 0, "", io.ErrUnexpectedEOF},
		{"00", 0, "00", ErrCanonInt},
		{"81", 0, "81", ErrValueTooLarge},
		{"8100", 0, "8100", ErrCanonSize},
		{"8103FF", 0, "8103FF", ErrCanonSize},
		{"8200FF", 0, "8200FF", ErrCanonInt},
		{"880001020304050607", 0, "880001020304050607", ErrCanonInt},
		{"89FAFAFAFAFAFAFAFAFAFF", 0, "89FAFAFAFAFAFAFAFAFAFF", ErrUintOverflow},
		{"C0", 0, "C0", ErrExpectedString},
	}
	for i, test := range tests {
		x, rest, err := SplitUint64(unhex(test.input))
		if x != test.val || !bytes.Equal(rest, unhex(test.rest)) || err != test.err {
			t.Errorf("test %d (%s): got %#x %X %v, want %#x %s %v", i, test.input, x, rest, err, test.val, test.rest, test.err)
		}
	}
}

func TestSplitBool(t *testing.T) {
	tests := []struct {
		input string
		val   bool
		err   error
	}{
		{"01", true, nil},
		{"80", false, nil},
		{"00", false, ErrCanonInt},
		{"02", false, ErrInvalidBool},
		{"8180", false, ErrInvalidBool},
		{"8101", false, ErrCanonSize},
		{"C0", false, ErrExpectedString},
	}
	for i, test := range tests {
		v, _, err := SplitBool(unhex(test.input))
		if v != test.val || err != test.err {
			t.Errorf("test %d (%s): got %v %v, want %v %v", i, test.input, v, err, test.val, test.err)
		}
	}
}

func TestCountValues(t *testing.T) {
	tests := []struct {
		input string
		count int
		err   error
	}{
		{"", 0, nil},
		{"00", 1, nil},
		{"80", 1, nil},
		{"C0", 1, nil},
		{"01020304", 4, nil},
		{"FF80", 0, io.ErrUnexpectedEOF},
		{"C401020304", 1, nil},
		{"C40102030401", 2, nil},
		{"C4010203048180", 2, nil},
		{"C401020304818001", 3, nil},
		{"C4010203048180FF", 0, io.ErrUnexpectedEOF},
		{"C4010203048180C501", 0, ErrValueTooLarge},
		{"018105", 0, ErrCanonSize},
		{"01B800", 0, ErrCanonSize},
	}
	for i, test := range tests {
		n, err := CountValues(unhex(test.input))
		if n != test.count || err != test.err {
			t.Errorf("test %d (%s): got %d %v, want %d %v", i, test.input, n, err, test.count, test.err)
		}
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{Byte: "Byte", String: "String", List: "List", 7: "Kind(7)"} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", k, got, want)
		}
	}
}

// TestSizes checks the Size functions against actual encodings.
func TestSizes(t *testing.T) {
	for _, n := range []int{0, 1, 2, 55, 56, 57, 255, 256, 1 << 16, 1<<16 + 1} {
		b := bytes.Repeat([]byte{0xAA}, n)
		if got, want := StringSize(b), len(AppendBytes(nil, b)); got != want {
			t.Errorf("StringSize(%d bytes) = %d, want %d", n, got, want)
		}
		l, mark := StartList(nil)
		l = EndList(append(l, b...), mark)
		if got := ListSize(n); got != len(l) {
			t.Errorf("ListSize(%d) = %d, want %d", n, got, len(l))
		}
	}
	for _, b := range [][]byte{{0}, {0x7F}, {0x80}} {
		if got, want := StringSize(b), len(AppendBytes(nil, b)); got != want {
			t.Errorf("StringSize(%X) = %d, want %d", b, got, want)
		}
	}
	for _, x := range []uint64{0, 1, 0x7F, 0x80, 0xFF, 0x100, 1<<56 - 1, 1 << 56, 1<<64 - 1} {
		if got, want := UintSize(x), len(AppendUint64(nil, x)); got != want {
			t.Errorf("UintSize(%#x) = %d, want %d", x, got, want)
		}
		bx := new(big.Int).SetUint64(x)
		if got, want := BigIntSize(bx), len(AppendBigInt(nil, bx)); got != want {
			t.Errorf("BigIntSize(%#x) = %d, want %d", x, got, want)
		}
	}
	for _, x := range []*big.Int{nil, veryBigInt, veryVeryBigInt, new(big.Int).Lsh(big.NewInt(1), 8*56)} {
		if got, want := BigIntSize(x), len(AppendBigInt(nil, x)); got != want {
			t.Errorf("BigIntSize(%v) = %d, want %d", x, got, want)
		}
	}
}
