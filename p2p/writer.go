package p2p

import (
	"errors"
	"sync"
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

// peerWriter is the single ordered write path of a peer, shared by all its
// protocols and the base protocol. It has no goroutine of its own: a writer
// appends its message to the queue and, if no flush is running, becomes the
// flusher. The flusher encodes everything queued into the connection's
// buffer and sends it with Flush, and repeats until the queue is empty, so
// messages queued by other goroutines meanwhile share its system calls.
// Writers that found a flusher wait for their message's sequence number to
// be written and get the error of the batch that carried it.
//
// After an error every later write fails with the same error.
type peerWriter struct {
	conn msgConn

	mu       sync.Mutex // guards following
	cond     sync.Cond  // broadcast when finished grows
	queue    []writeReq
	spare    []writeReq // the other queue buffer, reused between batches
	flushing bool
	next     uint64 // sequence number of the next message queued
	finished uint64 // messages below this sequence number are done
	okBefore uint64 // messages below this sequence number were written without error
	err      error  // sticky write error
	closed   bool   // no more writes accepted
	timeout  time.Duration
	final    chan struct{} // closed when the final message is done
	onSent   func(n int)   // counts messages sent; called by the flusher
	onError  func(error)   // called once, with mu held, when a write fails
}

// maxKeptQueue is the largest queue buffer kept for reuse.
const maxKeptQueue = 32

type writeReq struct {
	code  uint64
	data  []byte
	final bool
}

func newPeerWriter(conn msgConn, timeout time.Duration, onSent func(int), onError func(error)) *peerWriter {
	w := &peerWriter{conn: conn, timeout: timeout, onSent: onSent, onError: onError}
	w.cond.L = &w.mu
	return w
}

// write sends one message and waits until it has been written. data must
// stay unchanged until write returns.
func (w *peerWriter) write(code uint64, data []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrShuttingDown
	}
	if w.err != nil {
		return w.err
	}
	seq := w.enqueueLocked(writeReq{code: code, data: data})
	if w.flushing {
		for w.finished <= seq {
			w.cond.Wait()
		}
	} else {
		w.flushLocked()
	}
	if seq < w.okBefore {
		return nil
	}
	return w.err
}

// writeAsync queues a message without waiting for it to be written, unless
// no flush is running, in which case it flushes it itself. data must never
// change. Errors surface through later writes and the peer's close path.
func (w *peerWriter) writeAsync(code uint64, data []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrShuttingDown
	}
	if w.err != nil {
		return w.err
	}
	w.enqueueLocked(writeReq{code: code, data: data})
	if !w.flushing {
		w.flushLocked()
	}
	return w.err
}

// close queues the final message (when data is not nil), refuses any later
// write and waits up to wait for the final message to be written. Writes
// from then on use wait as their timeout. It reports whether the final
// message was written.
func (w *peerWriter) close(code uint64, data []byte, wait time.Duration) bool {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return false
	}
	w.closed = true
	if data == nil || w.err != nil {
		w.mu.Unlock()
		return false
	}
	w.timeout = wait
	w.final = make(chan struct{})
	done := w.final
	seq := w.enqueueLocked(writeReq{code: code, data: data, final: true})
	if !w.flushing {
		w.flushLocked()
		ok := seq < w.okBefore
		w.mu.Unlock()
		return ok
	}
	w.mu.Unlock()

	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		return false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return seq < w.okBefore
}

func (w *peerWriter) enqueueLocked(r writeReq) uint64 {
	seq := w.next
	w.next++
	w.queue = append(w.queue, r)
	return seq
}

// flushLocked writes the queue until it is empty. It is called with w.mu
// held and releases it while writing.
func (w *peerWriter) flushLocked() {
	w.flushing = true
	timeout := time.Duration(-1)
	for len(w.queue) > 0 && w.err == nil {
		batch := w.queue
		w.queue = w.spare[:0]
		end := w.finished + uint64(len(batch))
		if w.timeout != timeout {
			timeout = w.timeout
			w.conn.SetWriteTimeout(timeout)
		}
		w.mu.Unlock()

		err := w.writeBatch(batch)
		final := batch[len(batch)-1].final
		clear(batch) // drop references to the callers' data
		w.mu.Lock()
		if cap(batch) <= maxKeptQueue {
			w.spare = batch[:0]
		} else {
			w.spare = nil // an idle peer keeps no large queue
		}
		w.finished = end
		if err != nil {
			w.err = err
			if w.onError != nil {
				w.onError(err)
			}
		} else {
			w.okBefore = end
		}
		if final && w.final != nil {
			close(w.final)
			w.final = nil
		}
		w.cond.Broadcast()
	}
	if w.err != nil && len(w.queue) > 0 {
		// Fail what is still queued.
		w.finished += uint64(len(w.queue))
		if w.final != nil {
			close(w.final)
			w.final = nil
		}
		clear(w.queue)
		w.queue = w.queue[:0]
		w.cond.Broadcast()
	}
	w.flushing = false
}

func (w *peerWriter) writeBatch(batch []writeReq) error {
	for i := range batch {
		if _, err := w.conn.BufferMsg(batch[i].code, batch[i].data); err != nil {
			return err
		}
	}
	if err := w.conn.Flush(); err != nil {
		return err
	}
	if w.onSent != nil {
		w.onSent(len(batch))
	}
	return nil
}
