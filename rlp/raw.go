package rlp

import (
	"io"
	"math/big"
	"strconv"
)

// Kind is the kind of an RLP item.
type Kind uint8

// The kinds of RLP items.
const (
	// Byte is a single byte below 0x80, which is its own encoding.
	Byte Kind = iota
	// String is a byte string with a header.
	String
	// List is a list of items.
	List
)

// String returns the name of the kind.
func (k Kind) String() string {
	switch k {
	case Byte:
		return "Byte"
	case String:
		return "String"
	case List:
		return "List"
	default:
		return "Kind(" + strconv.Itoa(int(k)) + ")"
	}
}

// RawValue is an encoded RLP item (or, when encoding, any number of them).
// The encoder copies it verbatim; the decoder stores the whole item, header
// included, after checking only its header.
type RawValue []byte

// parseHeader reads the header of the item at the start of b. For a Byte,
// hdr is 0 and size is 1. The content is b[hdr:hdr+size]. It returns
// io.ErrUnexpectedEOF when b ends inside the header, ErrCanonSize for a
// non-canonical size and ErrValueTooLarge when the content would run past
// the end of b. It does not check for single bytes wrapped in a string
// header; see canonByte.
func parseHeader(b []byte) (k Kind, hdr int, size uint64, err error) {
	if len(b) == 0 {
		return 0, 0, 0, io.ErrUnexpectedEOF
	}
	switch p := b[0]; {
	case p < 0x80:
		return Byte, 0, 1, nil
	case p < 0xB8:
		k, hdr, size = String, 1, uint64(p-0x80)
	case p < 0xC0:
		k = String
		hdr, size, err = parseLongSize(b, int(p-0xB7))
	case p < 0xF8:
		k, hdr, size = List, 1, uint64(p-0xC0)
	default:
		k = List
		hdr, size, err = parseLongSize(b, int(p-0xF7))
	}
	if err != nil {
		return 0, 0, 0, err
	}
	if size > uint64(len(b)-hdr) {
		return 0, 0, 0, ErrValueTooLarge
	}
	return k, hdr, size, nil
}

// parseLongSize reads the n-byte big-endian size that follows the first
// byte of a long-form header.
func parseLongSize(b []byte, n int) (hdr int, size uint64, err error) {
	if len(b) < 1+n {
		return 0, 0, io.ErrUnexpectedEOF
	}
	if b[1] == 0 {
		return 0, 0, ErrCanonSize
	}
	for _, c := range b[1 : 1+n] {
		size = size<<8 | uint64(c)
	}
	if size < 56 {
		return 0, 0, ErrCanonSize
	}
	return 1 + n, size, nil
}

// canonByte reports whether a String item with the given content is not a
// single byte below 0x80 (which must be encoded as a Byte).
func canonByte(content []byte) bool {
	return len(content) != 1 || content[0] >= 0x80
}

// Split returns the kind, the content and the bytes following the first
// item of b. For a Byte the content is the byte itself. It checks the
// header only: sizes must be canonical and fit in b, and a string of one
// byte below 0x80 is rejected with ErrCanonSize. The content is not parsed.
// On error, rest is b.
//
// A truncated header yields io.ErrUnexpectedEOF, as does an empty b.
func Split(b []byte) (k Kind, content, rest []byte, err error) {
	k, hdr, size, err := parseHeader(b)
	if err != nil {
		return 0, nil, b, err
	}
	end := hdr + int(size)
	content = b[hdr:end]
	if k == String && !canonByte(content) {
		return 0, nil, b, ErrCanonSize
	}
	return k, content, b[end:], nil
}

// SplitString is Split for an item that must be a Byte or String. A list
// yields ErrExpectedString.
func SplitString(b []byte) (content, rest []byte, err error) {
	k, content, rest, err := Split(b)
	if err != nil {
		return nil, b, err
	}
	if k == List {
		return nil, b, ErrExpectedString
	}
	return content, rest, nil
}

// SplitList is Split for an item that must be a List. A string yields
// ErrExpectedList.
func SplitList(b []byte) (content, rest []byte, err error) {
	k, content, rest, err := Split(b)
	if err != nil {
		return nil, b, err
	}
	if k != List {
		return nil, b, ErrExpectedList
	}
	return content, rest, nil
}

// SplitUint64 decodes an integer of up to 8 bytes from the start of b. It
// rejects leading zero bytes and the single byte 0x00 (ErrCanonInt) and
// longer strings (ErrUintOverflow).
func SplitUint64(b []byte) (x uint64, rest []byte, err error) {
	content, rest, err := SplitString(b)
	if err != nil {
		return 0, b, err
	}
	x, err = beUint64(content)
	if err != nil {
		return 0, b, err
	}
	return x, rest, nil
}

// beUint64 converts the canonical big-endian content of an integer item.
func beUint64(c []byte) (x uint64, err error) {
	switch {
	case len(c) == 0:
		return 0, nil
	case len(c) > 8:
		return 0, ErrUintOverflow
	case c[0] == 0:
		return 0, ErrCanonInt
	}
	for _, b := range c {
		x = x<<8 | uint64(b)
	}
	return x, nil
}

// SplitBool decodes a boolean from the start of b: 0x80 is false, 0x01 is
// true, anything else is an error.
func SplitBool(b []byte) (v bool, rest []byte, err error) {
	x, rest, err := SplitUint64(b)
	switch {
	case err != nil:
		return false, b, err
	case x > 1:
		return false, b, ErrInvalidBool
	}
	return x == 1, rest, nil
}

// CountValues returns the number of items in b, which is typically the
// content of a list. Each item's header is checked as by Split; contents are
// not parsed.
func CountValues(b []byte) (int, error) {
	return countValues(b, true)
}

// countValues counts the items in b. With strict set it rejects single
// bytes wrapped in a string header, like Split.
func countValues(b []byte, strict bool) (int, error) {
	n := 0
	for len(b) > 0 {
		k, hdr, size, err := parseHeader(b)
		if err != nil {
			return 0, err
		}
		end := hdr + int(size)
		if strict && k == String && !canonByte(b[hdr:end]) {
			return 0, ErrCanonSize
		}
		b = b[end:]
		n++
	}
	return n, nil
}

// headerSize returns the size of a string or list header for content of
// size n (for strings, other than the one-byte case).
func headerSize(n int) int {
	if n < 56 {
		return 1
	}
	return 1 + uintLen(uint64(n))
}

// uintLen returns the number of bytes in the big-endian form of x > 0.
func uintLen(x uint64) int {
	n := 0
	for ; x > 0; x >>= 8 {
		n++
	}
	return n
}

// ListSize returns the encoded size of a list whose encoded elements take
// contentLen bytes.
func ListSize(contentLen int) int {
	return headerSize(contentLen) + contentLen
}

// StringSize returns the encoded size of b as an RLP string.
func StringSize(b []byte) int {
	if len(b) == 1 && b[0] < 0x80 {
		return 1
	}
	return headerSize(len(b)) + len(b)
}

// UintSize returns the encoded size of the integer x.
func UintSize(x uint64) int {
	if x < 0x80 {
		return 1
	}
	return 1 + uintLen(x)
}

// BigIntSize returns the encoded size of the non-negative integer x. A nil x
// counts as zero.
func BigIntSize(x *big.Int) int {
	if x == nil {
		return 1
	}
	if x.BitLen() <= 64 {
		return UintSize(x.Uint64())
	}
	n := (x.BitLen() + 7) / 8
	return headerSize(n) + n
}
