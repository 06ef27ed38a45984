package rlpx

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// tcpPair returns two Conns that ran a handshake over loopback TCP, so the
// raw-socket read path is used.
func tcpPair(t *testing.T, cfg *Config) (initiator, recipient *Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	keyA, keyB := mustKey(t, hexKeyA), mustKey(t, hexKeyB)
	type result struct {
		c   *Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		fd, err := ln.Accept()
		if err != nil {
			ch <- result{nil, err}
			return
		}
		c := NewConn(fd, nil, cfg)
		_, err = c.Handshake(keyB)
		ch <- result{c, err}
	}()
	fd, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	a := NewConn(fd, keyB.Public(), cfg)
	if _, err := a.Handshake(keyA); err != nil {
		t.Fatal(err)
	}
	res := <-ch
	if res.err != nil {
		t.Fatal(res.err)
	}
	if a.rd.raw == nil || res.c.rd.raw == nil {
		t.Fatal("TCP connection did not get the raw read path")
	}
	t.Cleanup(func() { a.Close(); res.c.Close() })
	return a, res.c
}

func TestTCPMessages(t *testing.T) {
	a, b := tcpPair(t, nil)
	a.SetSnappy(true)
	b.SetSnappy(true)
	for i, n := range []int{0, 1, 47, 48, 100, 1 << 10, 64 << 10, 1 << 20, 10 << 20} {
		payload := randBytes(n, int64(i))
		exchange(t, a, b, uint64(i), payload)
		exchange(t, b, a, uint64(i), payload)
	}
	// A burst of small frames, batched by the writer, read while caught up
	// and while behind.
	const count = 5000
	go func() {
		for i := range count {
			a.BufferMsg(uint64(i%50), randBytes(i%64, int64(i)))
			if i%100 == 99 {
				a.Flush()
			}
		}
		a.Flush()
	}()
	for i := range count {
		code, data, _, err := b.ReadMsg()
		if err != nil {
			t.Fatal(err)
		}
		if code != uint64(i%50) || !bytes.Equal(data, randBytes(i%64, int64(i))) {
			t.Fatalf("message %d mismatch", i)
		}
	}
	if a.BytesWritten() == 0 || a.BytesWritten() != b.BytesRead() {
		t.Fatalf("byte counters: written %d, read %d", a.BytesWritten(), b.BytesRead())
	}
}

// TestTCPIdleHoldsNoBuffer checks that a caught-up reader gives its pooled
// buffer back before it waits for more data.
func TestTCPIdleHoldsNoBuffer(t *testing.T) {
	a, b := tcpPair(t, nil)
	exchange(t, a, b, 1, make([]byte, 1000))
	done := make(chan error, 1)
	go func() { _, _, _, err := b.ReadMsg(); done <- err }()
	time.Sleep(50 * time.Millisecond) // b is now waiting in the poller
	a.WriteMsg(2, []byte("x"))
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	b.rd.release()
	if b.rd.pooled {
		t.Fatal("reader kept its pooled buffer after catching up")
	}
}

func TestTCPReadTimeoutAndEOF(t *testing.T) {
	a, b := tcpPair(t, &Config{ReadTimeout: 50 * time.Millisecond})
	_, _, _, err := a.ReadMsg()
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("err = %v, want timeout", err)
	}
	b.Close()
	_, _, _, err = b.ReadMsg()
	if err == nil {
		t.Fatal("read on closed conn succeeded")
	}
	a2, b2 := tcpPair(t, nil)
	a2.Close()
	if _, _, _, err := b2.ReadMsg(); !errors.Is(err, io.EOF) {
		t.Fatalf("err = %v, want EOF", err)
	}
}
