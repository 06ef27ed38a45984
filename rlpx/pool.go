package rlpx

import (
	"math/bits"
	"sync"
)

// Buffers are pooled by power-of-two size classes and shared by all
// connections, so an idle connection holds no large buffer and a connection
// that once carried a 16 MiB message does not keep 16 MiB for its lifetime.
const (
	minPoolClass = 12 // 4 KiB
	maxPoolClass = 24 // 16 MiB
)

var pools [maxPoolClass + 1]sync.Pool

// getBuf returns a buffer of length n. Buffers of more than 16 MiB are not pooled.
func getBuf(n int) []byte {
	c := sizeClass(n)
	if c > maxPoolClass {
		return make([]byte, n)
	}
	if v := pools[c].Get(); v != nil {
		return (*v.(*[]byte))[:n]
	}
	return make([]byte, n, 1<<c)
}

// putBuf returns a buffer obtained from getBuf to its pool.
func putBuf(b []byte) {
	c := cap(b)
	if c < 1<<minPoolClass || c > 1<<maxPoolClass || c&(c-1) != 0 {
		return
	}
	b = b[:0]
	pools[bits.TrailingZeros(uint(c))].Put(&b)
}

func sizeClass(n int) int {
	if n <= 1<<minPoolClass {
		return minPoolClass
	}
	return bits.Len(uint(n - 1))
}
