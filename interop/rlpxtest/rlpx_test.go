package rlpxtest

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// message is one message to send and compare.
type message struct {
	code uint64
	data []byte
}

var messageSizes = []int{0, 1, 1 << 10, 1 << 20, 10 << 20}

// testMessages returns a random message of each size and, when compressible
// is set, also one snappy can shrink, with a spread of message codes.
func testMessages(seed uint64, compressible bool) []message {
	r := rand.New(rand.NewPCG(seed, 1))
	codes := []uint64{0x00, 0x01, 0x10, 0x7f, 0x80, 0x1234, 1 << 40, math.MaxUint64}
	var msgs []message
	for i, size := range messageSizes {
		data := make([]byte, size)
		for j := range data {
			data[j] = byte(r.Uint32())
		}
		msgs = append(msgs, message{codes[i%len(codes)], data})
		if compressible && size > 1 {
			text := bytes.Repeat([]byte("devp2p says hello to go-ethereum; "), size/34+1)[:size]
			text[size/2] ^= 0xff
			msgs = append(msgs, message{codes[(i+5)%len(codes)], text})
		}
	}
	return msgs
}

// TestGethRLPxMessages sends messages of 0 B, 1 B, 1 KiB, 1 MiB and 10 MiB
// both ways at once, with ours as initiator and as recipient, over TCP and
// net.Pipe, snappy off and on, and compares code, payload and wire size.
func TestGethRLPxMessages(t *testing.T) {
	for _, kind := range transports {
		for _, ourInit := range []bool{true, false} {
			for _, snappy := range []bool{false, true} {
				name := fmt.Sprintf("%s/ours=%s/snappy=%v", kind, role(ourInit), snappy)
				t.Run(name, func(t *testing.T) {
					s := handshake(t, kind, ourInit)
					defer s.close()
					s.ours.SetSnappy(snappy)
					s.theirs.SetSnappy(snappy)
					exchange(t, s, testMessages(1, snappy), testMessages(2, snappy))
				})
			}
		}
	}
}

func role(initiator bool) string {
	if initiator {
		return "initiator"
	}
	return "recipient"
}

// exchange sends toGeth from our side and toOurs from go-ethereum's at the
// same time, and checks that each side reads exactly what the other wrote.
// Wire sizes must agree too: both use the same snappy encoder.
func exchange(t *testing.T, s *session, toGeth, toOurs []message) {
	t.Helper()
	errc := make(chan error, 4)
	ourWire := make(chan int, len(toGeth))
	gethWire := make(chan int, len(toOurs))
	go func() { // our writer
		for i, m := range toGeth {
			n, err := s.ours.WriteMsg(m.code, m.data)
			if err != nil {
				errc <- fmt.Errorf("our WriteMsg %d: %w", i, err)
				return
			}
			ourWire <- n
		}
		errc <- nil
	}()
	go func() { // go-ethereum's reader
		for i, m := range toGeth {
			code, data, wire, err := s.theirs.Read()
			if err != nil {
				errc <- fmt.Errorf("go-ethereum Read %d: %w", i, err)
				return
			}
			if err := same(i, m, code, data); err != nil {
				errc <- fmt.Errorf("ours→geth: %w", err)
				return
			}
			if w := <-ourWire; w != wire {
				errc <- fmt.Errorf("ours→geth: message %d: our wire size %d, go-ethereum read %d", i, w, wire)
				return
			}
		}
		errc <- nil
	}()
	go func() { // go-ethereum's writer
		for i, m := range toOurs {
			n, err := s.theirs.Write(m.code, m.data)
			if err != nil {
				errc <- fmt.Errorf("go-ethereum Write %d: %w", i, err)
				return
			}
			gethWire <- int(n)
		}
		errc <- nil
	}()
	go func() { // our reader
		for i, m := range toOurs {
			code, data, wire, err := s.ours.ReadMsg()
			if err != nil {
				errc <- fmt.Errorf("our ReadMsg %d: %w", i, err)
				return
			}
			if err := same(i, m, code, data); err != nil {
				errc <- fmt.Errorf("geth→ours: %w", err)
				return
			}
			if w := <-gethWire; w != wire {
				errc <- fmt.Errorf("geth→ours: message %d: go-ethereum wire size %d, we read %d", i, w, wire)
				return
			}
		}
		errc <- nil
	}()
	wait(t, s, errc, 4, 3*time.Minute)
}

func same(i int, m message, code uint64, data []byte) error {
	if code != m.code {
		return fmt.Errorf("message %d: code %#x, want %#x", i, code, m.code)
	}
	if !bytes.Equal(data, m.data) {
		at := 0
		for at < len(data) && at < len(m.data) && data[at] == m.data[at] {
			at++
		}
		return fmt.Errorf("message %d: payload of %d bytes differs from the %d bytes sent (first difference at %d)", i, len(data), len(m.data), at)
	}
	return nil
}

// TestGethRLPxBatched writes many small messages with BufferMsg and Flush and
// has go-ethereum read them one by one.
func TestGethRLPxBatched(t *testing.T) {
	for _, kind := range transports {
		for _, ourInit := range []bool{true, false} {
			for _, snappy := range []bool{false, true} {
				name := fmt.Sprintf("%s/ours=%s/snappy=%v", kind, role(ourInit), snappy)
				t.Run(name, func(t *testing.T) {
					s := handshake(t, kind, ourInit)
					defer s.close()
					s.ours.SetSnappy(snappy)
					s.theirs.SetSnappy(snappy)
					batched(t, s)
				})
			}
		}
	}
}

func batched(t *testing.T, s *session) {
	r := rand.New(rand.NewPCG(3, 4))
	msgs := make([]message, 3000)
	for i := range msgs {
		size := r.IntN(200)
		if i%500 == 499 {
			size = 40 << 10 // now and then one that fills most of a buffer
		}
		data := make([]byte, size)
		for j := range data {
			data[j] = byte(r.Uint32())
		}
		msgs[i] = message{uint64(i % 300), data}
	}
	errc := make(chan error, 2)
	go func() {
		for i, m := range msgs {
			if _, err := s.ours.BufferMsg(m.code, m.data); err != nil {
				errc <- fmt.Errorf("BufferMsg %d: %w", i, err)
				return
			}
			if i%100 == 99 || i == len(msgs)-1 {
				if err := s.ours.Flush(); err != nil {
					errc <- fmt.Errorf("Flush after %d: %w", i, err)
					return
				}
			}
		}
		if n := s.ours.Buffered(); n != 0 {
			errc <- fmt.Errorf("%d bytes still buffered after Flush", n)
			return
		}
		errc <- nil
	}()
	go func() {
		for i, m := range msgs {
			code, data, _, err := s.theirs.Read()
			if err != nil {
				errc <- fmt.Errorf("go-ethereum Read %d: %w", i, err)
				return
			}
			if err := same(i, m, code, data); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	wait(t, s, errc, 2, time.Minute)
}
