package rlpx

import "github.com/golang/snappy"

// Snappy block format, as EIP-706 asks (no framing format). The library is
// chosen by the benchmark in snappy_test.go.

func snappyMaxEncodedLen(n int) int { return snappy.MaxEncodedLen(n) }

// snappyEncode compresses src into dst, which must have room for
// snappyMaxEncodedLen(len(src)) bytes.
func snappyEncode(dst, src []byte) []byte { return snappy.Encode(dst, src) }

func snappyDecodedLen(src []byte) (int, error) { return snappy.DecodedLen(src) }

// snappyDecode decompresses src into dst, whose length is the decoded length.
func snappyDecode(dst, src []byte) ([]byte, error) { return snappy.Decode(dst, src) }
