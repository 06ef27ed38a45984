package rlp

import (
	"encoding/binary"
	"math/big"
	"slices"
)

// The Append functions encode one item and append it to dst, returning the
// extended buffer like the built-in append. They allocate only when dst
// lacks capacity.

// AppendUint64 appends x as an RLP integer.
func AppendUint64(dst []byte, x uint64) []byte {
	switch {
	case x == 0:
		return append(dst, 0x80)
	case x < 0x80:
		return append(dst, byte(x))
	}
	n := uintLen(x)
	var buf [9]byte
	buf[0] = 0x80 + byte(n)
	binary.BigEndian.PutUint64(buf[1:], x<<(64-8*n))
	return append(dst, buf[:1+n]...)
}

// AppendBytes appends b as an RLP string.
func AppendBytes(dst, b []byte) []byte {
	if len(b) == 1 && b[0] < 0x80 {
		return append(dst, b[0])
	}
	dst = appendHeader(dst, 0x80, len(b))
	return append(dst, b...)
}

// AppendString appends s as an RLP string.
func AppendString(dst []byte, s string) []byte {
	if len(s) == 1 && s[0] < 0x80 {
		return append(dst, s[0])
	}
	dst = appendHeader(dst, 0x80, len(s))
	return append(dst, s...)
}

// AppendBool appends b as the integer 1 (true) or 0 (false).
func AppendBool(dst []byte, b bool) []byte {
	if b {
		return append(dst, 0x01)
	}
	return append(dst, 0x80)
}

// AppendBigInt appends x as an RLP integer. A nil x is appended as zero.
// It panics if x is negative; use AppendValue to get an error instead.
func AppendBigInt(dst []byte, x *big.Int) []byte {
	if x == nil {
		return append(dst, 0x80)
	}
	if x.Sign() < 0 {
		panic("rlp: AppendBigInt with negative value")
	}
	bits := x.BitLen()
	if bits <= 64 {
		return AppendUint64(dst, x.Uint64())
	}
	n := (bits + 7) / 8
	dst = appendHeader(dst, 0x80, n)
	start := len(dst)
	dst = grow(dst, n)
	x.FillBytes(dst[start:])
	return dst
}

// AppendRaw appends raw, which must hold zero or more complete encoded
// items, without checking it.
func AppendRaw(dst, raw []byte) []byte {
	return append(dst, raw...)
}

// AppendStringHeader appends the header of a string of n bytes; the caller
// appends the n bytes next. The header is wrong for a single byte below
// 0x80, which is its own encoding: use AppendBytes for content that may be
// such a byte.
func AppendStringHeader(dst []byte, n int) []byte {
	return appendHeader(dst, 0x80, n)
}

// AppendListHeader appends the header of a list whose encoded elements
// take contentLen bytes; the caller appends the elements next. Use it when
// the content size is known in advance, and StartList/EndList otherwise.
func AppendListHeader(dst []byte, contentLen int) []byte {
	return appendHeader(dst, 0xC0, contentLen)
}

// StartList begins a list whose size is not known yet. It reserves room for
// a short header and returns the extended buffer and the offset of that
// header. Append the list's elements to out, then call EndList with the same
// mark. Lists nest: end inner lists before outer ones.
//
//	b, outer := rlp.StartList(b)
//	b = rlp.AppendUint64(b, 1)
//	b, inner := rlp.StartList(b)
//	b = rlp.AppendString(b, "x")
//	b = rlp.EndList(b, inner)
//	b = rlp.EndList(b, outer) // [1, ["x"]]
func StartList(dst []byte) (out []byte, mark int) {
	return append(dst, 0xC0), len(dst)
}

// EndList finishes the list started at mark by StartList, writing its
// header. A list with at least 56 bytes of content needs a longer header;
// EndList then moves the content up by the few bytes needed, growing dst.
// It panics if mark is not within dst.
func EndList(dst []byte, mark int) []byte {
	if mark < 0 || mark >= len(dst) {
		panic("rlp: EndList mark out of range")
	}
	n := len(dst) - mark - 1
	if n < 56 {
		dst[mark] = 0xC0 + byte(n)
		return dst
	}
	ln := uintLen(uint64(n))
	dst = grow(dst, ln)
	copy(dst[mark+1+ln:], dst[mark+1:mark+1+n])
	dst[mark] = 0xF7 + byte(ln)
	putBE(dst[mark+1:mark+1+ln], uint64(n))
	return dst
}

// appendHeader appends a string (base 0x80) or list (base 0xC0) header for
// content of n bytes.
func appendHeader(dst []byte, base byte, n int) []byte {
	if n < 56 {
		return append(dst, base+byte(n))
	}
	ln := uintLen(uint64(n))
	var buf [9]byte
	buf[0] = base + 55 + byte(ln)
	putBE(buf[1:1+ln], uint64(n))
	return append(dst, buf[:1+ln]...)
}

// putBE writes the low len(b) bytes of x to b, big-endian.
func putBE(b []byte, x uint64) {
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = byte(x)
		x >>= 8
	}
}

// grow extends dst by n bytes (of unspecified value), reallocating only if
// its capacity is too small.
func grow(dst []byte, n int) []byte {
	return slices.Grow(dst, n)[:len(dst)+n]
}
