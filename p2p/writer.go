package p2p

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// ErrShuttingDown is returned by writes after the peer began to disconnect.
var ErrShuttingDown = errors.New("shutting down")

// msgConn is the part of rlpx.Conn the writer uses.
type msgConn interface {
	BufferMsg(code uint64, data []byte) (int, error)
	Flush() error
	SetWriteTimeout(time.Duration)
}

const (
	// writeQueueBudget bounds the bytes a peer's writers may have queued
	// but not yet encoded: a write that finds this much queued waits. One
	// message is always accepted below the budget, so the most ever queued
	// is the budget plus one message.
	writeQueueBudget = 2 << 20
	// releaseStep is how many queued bytes the flusher encodes before it
	// gives their budget back, so writers refill the queue while a large
	// batch is encoded.
	releaseStep = 64 << 10
)

// peerWriter is the single ordered write path of a peer, shared by all its
// protocols and the base protocol.
//
// A write appends its message to a queue and returns: the message is owned
// by the queue from then on. A flusher goroutine, started when the queue
// becomes non-empty and ending when it finds the queue empty, takes
// everything queued, encodes it into the connection's buffer and sends it
// with as few system calls as the buffer allows; messages queued meanwhile
// ride in the next batch. So an idle peer has no writer goroutine, and one
// sending goroutine keeps the network busy without waiting for it.
//
// Writers wait only while the queue holds writeQueueBudget bytes
// (backpressure). A failed write is sticky: it is reported once to failed
// (the peer, which then ends), everything still queued is dropped, and
// every later write returns the error.
type peerWriter struct {
	conn   msgConn
	sent   *atomic.Uint64 // counts messages sent, if not nil
	failed writeFailer    // told once, without the lock, when a write fails; may be nil
	done   sync.WaitGroup

	mu      sync.Mutex    // guards following
	space   chan struct{} // made by a writer that waits for space; closed when queued shrinks, on error and on close
	queue   []writeReq    // messages not yet taken by the flusher, oldest first
	spare   []writeReq    // the other queue buffer, reused between batches
	queued  int           // bytes charged for messages not yet encoded
	running bool          // a flusher goroutine runs
	err     error         // sticky write error
	closed  bool          // no more writes accepted
	timeout time.Duration
	final   chan struct{} // closed when the final message is done
	finalOK bool          // the final message was written

	setTimeout time.Duration // timeout last given to conn; flusher only
}

// writeFailer is told when a write fails.
type writeFailer interface{ writeFailed(error) }

type writeReq struct {
	code  uint64
	data  []byte
	final bool
}

// writeCost is what a message is charged against the budget: its payload
// plus a fixed overhead, so a flood of empty messages is bounded too.
func writeCost(data []byte) int { return len(data) + msgOverhead }

func newPeerWriter(conn msgConn, timeout time.Duration, sent *atomic.Uint64, failed writeFailer) *peerWriter {
	return &peerWriter{conn: conn, timeout: timeout, sent: sent, failed: failed, setTimeout: -1}
}

// write queues a message and returns without waiting for the network,
// unless writeQueueBudget bytes are queued already: then it waits for
// space. Unless owned is set, data is copied; with owned set, data must not
// change anymore. It returns an error if the peer's writer is closed or a
// previous write failed.
func (w *peerWriter) write(code uint64, data []byte, owned bool) error {
	if !owned {
		data = append([]byte(nil), data...) // before locking: it may be large
	}
	w.mu.Lock()
	for w.err == nil && !w.closed && w.queued >= writeQueueBudget {
		if w.space == nil {
			w.space = make(chan struct{})
		}
		space := w.space
		w.mu.Unlock()
		<-space
		w.mu.Lock()
	}
	if w.closed {
		w.mu.Unlock()
		return ErrShuttingDown
	}
	if w.err != nil {
		err := w.err
		w.mu.Unlock()
		return err
	}
	w.enqueueLocked(writeReq{code: code, data: data})
	w.mu.Unlock()
	return nil
}

// close queues the final message (when data is not nil) behind everything
// queued, refuses any later write and waits up to wait for the final
// message to be written. Writes from then on use wait as their timeout.
// It reports whether the final message was written. Call wait afterwards
// (after closing the connection, if close failed) for the flusher to end.
func (w *peerWriter) close(code uint64, data []byte, wait time.Duration) bool {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return false
	}
	w.closed = true
	w.wakeWritersLocked()
	if data == nil || w.err != nil {
		w.mu.Unlock()
		return false
	}
	w.timeout = wait
	done := make(chan struct{})
	w.final = done
	w.enqueueLocked(writeReq{code: code, data: data, final: true})
	w.mu.Unlock()

	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.finalOK
}

// wait waits for the flusher to end. Call it after close.
func (w *peerWriter) wait() { w.done.Wait() }

func (w *peerWriter) enqueueLocked(r writeReq) {
	w.queue = append(w.queue, r)
	w.queued += writeCost(r.data)
	if !w.running {
		w.running = true
		w.done.Add(1)
		go w.flushLoop()
	}
}

// flushLoop writes batches until the queue is empty or a write fails.
func (w *peerWriter) flushLoop() {
	defer w.done.Done()
	w.mu.Lock()
	for len(w.queue) > 0 && w.err == nil {
		batch := w.queue
		w.queue, w.spare = w.spare[:0], nil
		timeout := w.timeout
		w.mu.Unlock()

		if timeout != w.setTimeout {
			w.conn.SetWriteTimeout(timeout)
			w.setTimeout = timeout
		}
		err := w.writeBatch(batch)
		final := batch[len(batch)-1].final
		clear(batch) // drop references to the payloads

		w.mu.Lock()
		if w.spare == nil {
			w.spare = batch[:0]
		}
		if final && err == nil {
			w.finalOK = true
		}
		if err != nil {
			w.failLocked(err)
			w.mu.Unlock()
			if w.failed != nil {
				w.failed.writeFailed(err)
			}
			w.mu.Lock()
		}
	}
	if len(w.queue) == 0 {
		w.queue, w.spare = nil, nil // an idle peer keeps no queue
	}
	if w.final != nil && (w.finalOK || w.err != nil) {
		close(w.final)
		w.final = nil
	}
	w.running = false
	w.mu.Unlock()
}

// writeBatch encodes and sends batch. It gives the budget of the encoded
// messages back as it goes.
func (w *peerWriter) writeBatch(batch []writeReq) error {
	encoded := 0
	for i := range batch {
		if _, err := w.conn.BufferMsg(batch[i].code, batch[i].data); err != nil {
			return err
		}
		encoded += writeCost(batch[i].data)
		batch[i].data = nil
		if encoded >= releaseStep {
			w.release(encoded)
			encoded = 0
		}
	}
	if encoded > 0 {
		w.release(encoded)
	}
	if err := w.conn.Flush(); err != nil {
		return err
	}
	if w.sent != nil {
		w.sent.Add(uint64(len(batch)))
	}
	return nil
}

// release gives n bytes of budget back.
func (w *peerWriter) release(n int) {
	w.mu.Lock()
	w.queued -= n
	w.wakeWritersLocked()
	w.mu.Unlock()
}

// wakeWritersLocked wakes the writers waiting for space.
func (w *peerWriter) wakeWritersLocked() {
	if w.space != nil {
		close(w.space)
		w.space = nil
	}
}

// failLocked records a write error and drops everything queued.
func (w *peerWriter) failLocked(err error) {
	w.err = err
	clear(w.queue)
	w.queue = w.queue[:0]
	w.queued = 0
	w.wakeWritersLocked()
}
