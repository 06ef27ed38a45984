package rlpx

import (
	"fmt"
	"math/bits"
	"net"
	"sync/atomic"
	"time"

	"github.com/devp2p-go/devp2p/rlp"
)

const (
	// writeBufSize is the pooled write buffer. Frames are batched in it
	// until Flush; a message whose frame would not fit is streamed through
	// it in chunks of this size.
	writeBufSize = 64 << 10
	// flushThreshold makes BufferMsg send what it holds before it grows large.
	flushThreshold = writeBufSize / 2
)

// writer is the sending half of a Conn.
type writer struct {
	fd      net.Conn
	session *session
	snappy  bool
	timeout time.Duration

	buf     []byte // pooled; encrypted frames waiting for flush
	err     error  // sticky: after a failed write the stream is out of sync
	counted uint64 // bytes written to the network (only the writer writes it)
}

// bufferMsg encodes one message into w.buf, streaming it out instead if its
// frame would not fit the buffer.
func (w *writer) bufferMsg(code uint64, data []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if len(data) > MaxMessageSize {
		return 0, fmt.Errorf("%w: %d bytes", ErrMessageTooLarge, len(data))
	}
	codeLen := uintSize(code)
	bodyMax := codeLen + len(data)
	if w.snappy {
		bodyMax = codeLen + snappyMaxEncodedLen(len(data))
	}
	need := 32 + padded(bodyMax) + 16
	if len(w.buf) > 0 && len(w.buf)+need > writeBufSize {
		if err := w.flush(); err != nil {
			return 0, err
		}
	}
	if need > writeBufSize {
		return w.writeLarge(code, data)
	}
	if w.buf == nil {
		w.buf = getBuf(writeBufSize)[:0]
	}

	// Lay out header, code and payload in place, then seal.
	start := len(w.buf)
	b := w.buf[:start+32]
	b = rlp.AppendUint64(b, code)
	payload := data
	if w.snappy {
		payload = snappyEncode(b[len(b):len(b)+snappyMaxEncodedLen(len(data))], data)
		b = b[:len(b)+len(payload)]
	} else {
		b = append(b, data...)
	}
	fsize := codeLen + len(payload)
	if fsize > MaxMessageSize {
		return 0, fmt.Errorf("%w: frame of %d bytes", ErrMessageTooLarge, fsize)
	}
	b = b[:start+32+padded(fsize)]
	clear(b[start+32+fsize:])
	w.sealHeader(b[start:start+32], fsize)
	s := w.session
	body := b[start+32:]
	s.stream.XORKeyStream(body, body)
	s.mac.h.Write(body)
	w.buf = append(b, s.mac.frameEnd()...)
	if len(w.buf) >= flushThreshold {
		return len(payload), w.flush()
	}
	return len(payload), nil
}

// sealHeader fills the 32-byte header block: encrypted header and its MAC.
func (w *writer) sealHeader(h []byte, fsize int) {
	putUint24(h, uint32(fsize))
	copy(h[3:16], zeroHeader[:])
	w.session.stream.XORKeyStream(h[:16], h[:16])
	copy(h[16:32], w.session.mac.header(h[:16]))
}

// writeLarge streams one message whose frame does not fit the write buffer.
// w.buf is empty when it is called.
func (w *writer) writeLarge(code uint64, data []byte) (int, error) {
	payload := data
	if w.snappy {
		scratch := getBuf(snappyMaxEncodedLen(len(data)))
		defer putBuf(scratch)
		payload = snappyEncode(scratch, data)
	}
	fsize := uintSize(code) + len(payload)
	if fsize > MaxMessageSize {
		return 0, fmt.Errorf("%w: frame of %d bytes", ErrMessageTooLarge, fsize)
	}
	if w.buf == nil {
		w.buf = getBuf(writeBufSize)[:0]
	}
	s := w.session
	b := w.buf[:32]
	w.sealHeader(b, fsize)
	b = rlp.AppendUint64(b, code)
	sealed := 32 // b[:sealed] is encrypted and MACed
	pad := padded(fsize) - fsize
	rest := payload
	for {
		n := min(len(rest), cap(b)-len(b))
		b = append(b, rest[:n]...)
		rest = rest[n:]
		last := len(rest) == 0 && cap(b)-len(b) >= pad+16
		if last {
			b = append(b, make([]byte, pad)...)
		}
		chunk := b[sealed:]
		s.stream.XORKeyStream(chunk, chunk)
		s.mac.h.Write(chunk)
		if last {
			b = append(b, s.mac.frameEnd()...)
		}
		w.buf = b
		if last {
			return len(payload), w.flush()
		}
		if err := w.write(); err != nil {
			return 0, err
		}
		b, sealed = w.buf[:0], 0
	}
}

// flush sends the buffered frames with one write and returns the buffer to
// its pool, so an idle connection holds none.
func (w *writer) flush() error {
	if w.err != nil {
		return w.err
	}
	if len(w.buf) == 0 {
		return nil
	}
	err := w.write()
	putBuf(w.buf)
	w.buf = nil
	return err
}

// write sends w.buf with one write call, keeping the buffer.
func (w *writer) write() error {
	if w.timeout > 0 {
		w.fd.SetWriteDeadline(time.Now().Add(w.timeout))
	}
	n, err := w.fd.Write(w.buf)
	atomic.AddUint64(&w.counted, uint64(n))
	if err != nil {
		w.err = err
		return err
	}
	return nil
}

// uintSize is the size of x encoded as an RLP integer.
func uintSize(x uint64) int {
	if x < 0x80 {
		return 1
	}
	return 1 + (bits.Len64(x)+7)/8
}
