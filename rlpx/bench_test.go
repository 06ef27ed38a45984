package rlpx

import (
	"bytes"
	"fmt"
	"testing"
)

// BenchmarkHandshake measures each role's CPU alone: the initiator builds
// auth and processes a recorded ack; the recipient processes a recorded auth
// and builds ack. Both derive the secrets.
func BenchmarkHandshake(b *testing.B) {
	keyA, keyB := mustKey(b, hexKeyA), mustKey(b, hexKeyB)
	auth, ack := mustHex(b, vecAuth2), mustHex(b, vecAck2)
	b.Run("initiator", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			h := &handshake{key: keyA}
			fd := &bufConn{in: bytes.NewReader(ack)}
			if _, err := h.runInitiator(fd, keyB.Public()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("recipient", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			h := &handshake{key: keyB}
			fd := &bufConn{in: bytes.NewReader(auth)}
			if _, err := h.runRecipient(fd); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkFrame measures writing and reading back one message of each size
// through the full cipher and MAC, in memory (no system calls).
func BenchmarkFrame(b *testing.B) {
	for _, size := range []int{32, 1 << 10, 64 << 10, 1 << 20} {
		for _, snappy := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/snappy=%v", sizeName(size), snappy), func(b *testing.B) {
				benchFrame(b, size, snappy)
			})
		}
	}
}

func benchFrame(b *testing.B, size int, snappy bool) {
	payload := randBytes(size, 1)
	wfd := &bufConn{}
	src := &bytes.Reader{}
	w := NewConn(wfd, nil, nil)
	w.InitWithSecrets(vectorSecrets(b, true))
	r := NewConn(&bufConn{in: src}, nil, nil)
	r.InitWithSecrets(vectorSecrets(b, false))
	w.SetSnappy(snappy)
	r.SetSnappy(snappy)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		wfd.out.Reset()
		if _, err := w.WriteMsg(3, payload); err != nil {
			b.Fatal(err)
		}
		src.Reset(wfd.out.Bytes())
		if _, data, _, err := r.ReadMsg(); err != nil || len(data) != size {
			b.Fatal(err)
		}
	}
}

func sizeName(n int) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<10:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}
