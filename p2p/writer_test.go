package p2p

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/devp2p-go/devp2p/rlpx"
)

var _ msgConn = (*rlpx.Conn)(nil)

// fakeMsgConn records what the writer sends. Flush blocks while gate is
// set until something is sent on it, and fails with err once err is set.
type fakeMsgConn struct {
	mu       sync.Mutex
	gate     chan struct{} // nil: Flush does not block
	inFlush  bool
	flushes  int
	buffered []writeReq
	sent     []writeReq
	err      error
	timeouts []time.Duration
}

func (c *fakeMsgConn) BufferMsg(code uint64, data []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buffered = append(c.buffered, writeReq{code: code, data: bytes.Clone(data)})
	return len(data), nil
}

func (c *fakeMsgConn) Flush() error {
	c.mu.Lock()
	c.inFlush = true
	gate := c.gate
	c.mu.Unlock()
	if gate != nil {
		<-gate
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.inFlush = false
	if c.err != nil {
		c.buffered = nil
		return c.err
	}
	c.flushes++
	c.sent = append(c.sent, c.buffered...)
	c.buffered = nil
	return nil
}

func (c *fakeMsgConn) SetWriteTimeout(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.timeouts = append(c.timeouts, d)
}

func (c *fakeMsgConn) flushing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.inFlush
}

func (c *fakeMsgConn) sentMsgs() []writeReq {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]writeReq(nil), c.sent...)
}

type failFunc func(error)

func (f failFunc) writeFailed(err error) { f(err) }

func (w *peerWriter) pending() (msgs, bytes int, running bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.queue), w.queued, w.running
}

// Writes return before the network has the message; messages queued while
// a flush runs go out together in the next one, in order.
func TestWriterPipelinesAndBatches(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &fakeMsgConn{gate: make(chan struct{})}
		var sent atomic.Uint64
		w := newPeerWriter(c, time.Second, &sent, nil)
		if err := w.write(1, []byte{1}, false); err != nil {
			t.Fatal(err)
		}
		synctest.Wait() // the flusher blocks in Flush
		if !c.flushing() {
			t.Fatal("no flush running")
		}
		for i := range 10 {
			if err := w.write(uint64(10+i), []byte{byte(i)}, false); err != nil {
				t.Fatal(err)
			}
		}
		if n, _, _ := w.pending(); n != 10 {
			t.Fatalf("%d messages queued, want 10", n)
		}
		c.gate <- struct{}{}
		c.gate <- struct{}{}
		synctest.Wait()
		if _, _, running := w.pending(); running {
			t.Fatal("flusher still running with an empty queue")
		}
		got := c.sentMsgs()
		if c.flushes != 2 || len(got) != 11 || sent.Load() != 11 {
			t.Fatalf("%d flushes for %d messages (%d counted), want 2 for 11", c.flushes, len(got), sent.Load())
		}
		for i, m := range got[1:] {
			if m.code != uint64(10+i) || m.data[0] != byte(i) {
				t.Fatalf("message %d: code %d data %x", i+1, m.code, m.data)
			}
		}
		if want := []time.Duration{time.Second}; fmt.Sprint(c.timeouts) != fmt.Sprint(want) {
			t.Fatalf("timeouts %v, want %v", c.timeouts, want)
		}
	})
}

// A payload the writer does not own is copied before write returns.
func TestWriterCopiesPayload(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &fakeMsgConn{gate: make(chan struct{})}
		w := newPeerWriter(c, time.Second, nil, nil)
		w.write(1, nil, true)
		synctest.Wait()
		buf := []byte{1, 2, 3}
		w.write(2, buf, false)
		buf[0] = 9
		close(c.gate)
		synctest.Wait()
		if got := c.sentMsgs(); !bytes.Equal(got[1].data, []byte{1, 2, 3}) {
			t.Fatalf("sent %x", got[1].data)
		}
	})
}

// Messages of concurrent writers (protocols and the base protocol) keep
// each writer's order.
func TestWriterOrderConcurrent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := new(fakeMsgConn)
		w := newPeerWriter(c, time.Second, nil, nil)
		const writers, each = 8, 500
		var wg sync.WaitGroup
		for i := range writers {
			wg.Go(func() {
				for j := range each {
					if err := w.write(uint64(i), []byte{byte(j), byte(j >> 8)}, false); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		synctest.Wait()
		next := make([]int, writers)
		for _, m := range c.sentMsgs() {
			if j := int(m.data[0]) | int(m.data[1])<<8; j != next[m.code] {
				t.Fatalf("writer %d: message %d, want %d", m.code, j, next[m.code])
			}
			next[m.code]++
		}
		for i, n := range next {
			if n != each {
				t.Fatalf("writer %d: %d messages sent", i, n)
			}
		}
	})
}

// A writer that finds the budget used up waits until the flusher has
// encoded enough; at most the budget plus one message is ever queued.
func TestWriterBackpressure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &fakeMsgConn{gate: make(chan struct{})}
		w := newPeerWriter(c, time.Second, nil, nil)
		const size = 100 << 10
		msg := make([]byte, size)
		written := 0
		blocked := make(chan struct{})
		go func() {
			defer close(blocked)
			for {
				if err := w.write(0, msg, false); err != nil {
					return
				}
				written++
			}
		}()
		synctest.Wait() // the writer waits for space, the flusher in Flush
		_, queued, _ := w.pending()
		if queued > writeQueueBudget+writeCost(msg) || queued < writeQueueBudget {
			t.Fatalf("%d bytes queued, budget %d", queued, writeQueueBudget)
		}
		before := written
		c.gate <- struct{}{} // first batch done; the flusher takes the queue
		synctest.Wait()
		if written == before {
			t.Fatal("writer still blocked after the flush")
		}
		// Closing the writer wakes the blocked writer.
		w.close(0, nil, 0)
		close(c.gate)
		<-blocked
		w.wait()
	})
}

// A failed flush is reported once, drops what is queued and makes every
// later write fail with the same error.
func TestWriterError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &fakeMsgConn{gate: make(chan struct{})}
		var reported []error
		w := newPeerWriter(c, time.Second, nil, failFunc(func(err error) { reported = append(reported, err) }))
		w.write(1, []byte{1}, false)
		synctest.Wait()
		for range 5 {
			w.write(2, []byte{2}, false) // queued behind the failing flush
		}
		broken := errors.New("broken")
		c.mu.Lock()
		c.err = broken
		c.mu.Unlock()
		close(c.gate)
		synctest.Wait()
		if len(reported) != 1 || reported[0] != broken {
			t.Fatalf("reported %v", reported)
		}
		if n, queued, running := w.pending(); n != 0 || queued != 0 || running {
			t.Fatalf("after failure: %d queued (%d bytes), flusher running %v", n, queued, running)
		}
		for range 2 {
			if err := w.write(3, nil, true); err != broken {
				t.Fatalf("write after failure: %v", err)
			}
		}
		if w.close(discMsg, []byte{0xc1, 0x08}, time.Second) {
			t.Fatal("final message reported written")
		}
		w.wait()
		if len(c.sentMsgs()) != 0 {
			t.Fatal("messages sent")
		}
	})
}

// close sends the final message after everything queued, with its own
// timeout, and refuses later writes.
func TestWriterCloseAfterQueued(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &fakeMsgConn{gate: make(chan struct{})}
		w := newPeerWriter(c, 20*time.Second, nil, nil)
		for i := range 5 {
			w.write(uint64(16+i), []byte{byte(i)}, false)
		}
		synctest.Wait()
		start := time.Now()
		done := make(chan bool)
		go func() { done <- w.close(discMsg, []byte{0xc1, 0x08}, time.Second) }()
		synctest.Wait()
		if err := w.write(1, nil, true); err != ErrShuttingDown {
			t.Fatalf("write after close: %v", err)
		}
		c.gate <- struct{}{} // first batch
		c.gate <- struct{}{} // rest and the final message
		if !<-done {
			t.Fatal("final message not written")
		}
		if time.Since(start) != 0 {
			t.Fatal("close waited")
		}
		w.wait()
		close(c.gate)
		got := c.sentMsgs()
		if len(got) != 6 || got[5].code != discMsg {
			t.Fatalf("sent %v", got)
		}
		for i := range 5 {
			if got[i].code != uint64(16+i) {
				t.Fatalf("message %d has code %d", i, got[i].code)
			}
		}
		if want := []time.Duration{20 * time.Second, time.Second}; fmt.Sprint(c.timeouts) != fmt.Sprint(want) {
			t.Fatalf("timeouts %v, want %v", c.timeouts, want)
		}
	})
}

// close gives up after its wait when the network is stuck; the flusher
// ends when the connection fails.
func TestWriterCloseTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &fakeMsgConn{gate: make(chan struct{})}
		w := newPeerWriter(c, 20*time.Second, nil, nil)
		w.write(16, []byte{1}, false)
		start := time.Now()
		if w.close(discMsg, []byte{0xc1, 0x08}, time.Second) {
			t.Fatal("final message reported written")
		}
		if d := time.Since(start); d != time.Second {
			t.Fatalf("close returned after %v", d)
		}
		// What Peer.run does next: close the connection, wait for the flusher.
		c.mu.Lock()
		c.err = errors.New("closed")
		c.mu.Unlock()
		close(c.gate)
		w.wait()
	})
}
