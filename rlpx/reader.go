package rlpx

import (
	"crypto/subtle"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/devp2p-go/devp2p/rlp"
)

const (
	// readBufSize is the pooled read buffer: frames up to this size are read
	// in batches, many per system call.
	readBufSize = 64 << 10
	// idleBufSize is the inline buffer used while no data is pending, so an
	// idle connection holds no pooled buffer. It fits a whole Ping frame.
	idleBufSize = 64
	// largeFrameStep is the first allocation for a frame that does not fit
	// the read buffer; the buffer then grows as data arrives, so a peer that
	// announces 16 MiB and trickles bytes costs what it actually sent.
	largeFrameStep = 256 << 10
)

// reader is the receiving half of a Conn.
type reader struct {
	fd      net.Conn
	session *session
	snappy  bool
	timeout time.Duration
	maxSize int
	err     error // sticky: after an error the stream cannot be resynchronised

	idle   [idleBufSize]byte
	buf    []byte // idle[:] or a pooled buffer of readBufSize
	pooled bool
	r, w   int // unread data is buf[r:w]

	large []byte // pooled buffer of the last frame too big for buf
	out   []byte // pooled buffer of the last decompressed payload

	armed bool // read deadline set for the current message

	raw     syscall.RawConn // set when fd exposes its socket: idle waits hold no buffer
	counted uint64          // bytes read from the network (only the reader writes it)
}

func (r *reader) readMsg() (code uint64, data []byte, wireSize int, err error) {
	if r.err != nil {
		return 0, nil, 0, r.err
	}
	r.release()
	r.armed = false
	code, data, wireSize, err = r.readMsgInner()
	if err != nil {
		r.err = err
		r.release()
	}
	return code, data, wireSize, err
}

// release hands back the buffers that held the previous message.
func (r *reader) release() {
	if r.large != nil {
		putBuf(r.large)
		r.large = nil
	}
	if r.out != nil {
		putBuf(r.out)
		r.out = nil
	}
	if r.r == r.w && r.pooled {
		putBuf(r.buf)
		r.buf, r.pooled = nil, false
		r.r, r.w = 0, 0
	}
	if r.buf == nil {
		r.buf = r.idle[:]
	}
}

func (r *reader) readMsgInner() (code uint64, data []byte, wireSize int, err error) {
	if err := r.ensure(32); err != nil {
		return 0, nil, 0, err
	}
	s := r.session
	header := r.buf[r.r : r.r+32]
	if subtle.ConstantTimeCompare(s.mac.header(header[:16]), header[16:]) != 1 {
		return 0, nil, 0, ErrHeaderMAC
	}
	s.stream.XORKeyStream(header[:16], header[:16])
	fsize := int(readUint24(header))
	r.r += 32
	if fsize == 0 {
		return 0, nil, 0, ErrEmptyFrame
	}
	if limit := r.frameLimit(); fsize > limit {
		return 0, nil, 0, fmt.Errorf("%w: frame of %d bytes, limit %d", ErrMessageTooLarge, fsize, limit)
	}

	// With snappy on, decrypt and check the first blocks of the body
	// before reading the rest: see checkPrefix.
	early := 0
	if r.snappy {
		early = min(prefixSize, padded(fsize))
		if err := r.ensure(early); err != nil {
			return 0, nil, 0, err
		}
		if err := r.checkPrefix(r.buf[r.r:r.r+early], fsize); err != nil {
			return 0, nil, 0, err
		}
	}

	var frame []byte // ciphertext, padding and MAC
	rsize := padded(fsize) + 16
	if rsize <= readBufSize {
		if err := r.ensure(rsize); err != nil {
			return 0, nil, 0, err
		}
		frame = r.buf[r.r : r.r+rsize]
		r.r += rsize
	} else if frame, err = r.readLarge(rsize); err != nil {
		return 0, nil, 0, err
	}

	// The first early bytes of ct are plaintext already, and are in the
	// MAC state: the MAC and the keystream continue after them.
	ct, mac := frame[:rsize-16], frame[rsize-16:]
	s.mac.h.Write(ct[early:])
	if subtle.ConstantTimeCompare(s.mac.frameEnd(), mac) != 1 {
		return 0, nil, 0, ErrFrameMAC
	}
	s.stream.XORKeyStream(ct[early:], ct[early:])

	code, data, err = rlp.SplitUint64(ct[:fsize])
	if err != nil {
		return 0, nil, 0, fmt.Errorf("%w: %v", ErrMessageCode, err)
	}
	wireSize = len(data)
	if r.snappy {
		if data, err = r.decompress(data); err != nil {
			return code, nil, 0, err
		}
	} else if len(data) > r.maxSize {
		return code, nil, 0, fmt.Errorf("%w: %d bytes", ErrMessageTooLarge, len(data))
	}
	return code, data, wireSize, nil
}

// frameLimit is the largest frame that can carry a message of maxSize.
func (r *reader) frameLimit() int {
	n := r.maxSize + 9 // message code
	if r.snappy {
		n = snappyMaxEncodedLen(r.maxSize) + 9
	}
	return min(n, MaxMessageSize)
}

// prefixSize is how much of a snappy frame's body checkPrefix looks at: two
// AES blocks hold the message code (at most 9 bytes) and every byte snappy
// reads of the decoded-length varint (at most 10), so the check decides
// exactly as decodedLen would on the whole message.
const prefixSize = 32

// checkPrefix refuses a snappy message from its first bytes, before the
// rest of the frame is read and authenticated: a frame of a few hundred KiB
// whose decoded-length prefix claims more than maxSize then costs what its
// header costs. ct is the start of the frame body (prefixSize bytes, or the
// whole body when shorter), still encrypted, in r.buf. It is written to the
// MAC state and decrypted in place (AES-CTR and the running Keccak go on
// from where they stop); the frame's MAC check and decryption then continue
// after it. ensure and readLarge move unread bytes as they are, so the
// plaintext stays at the start of the frame, and a frame that passes ends
// up exactly as without the check.
//
// The bytes checked are not authenticated yet, so a forged or corrupted
// frame may be refused here (ErrMessageTooLarge, ErrSnappy) where it would
// have failed its MAC (ErrFrameMAC). That gives a man in the middle nothing
// new: by changing any byte of a frame he can already end the connection;
// only the error naming the cause differs. For an authentic frame the
// decision is the one decompress makes after the MAC check, with the same
// error; only its moment changes.
func (r *reader) checkPrefix(ct []byte, fsize int) error {
	s := r.session
	s.mac.h.Write(ct)
	s.stream.XORKeyStream(ct, ct)
	_, data, err := rlp.SplitUint64(ct[:min(len(ct), fsize)])
	if err != nil {
		return nil // an invalid code is reported after the MAC check
	}
	_, err = r.decodedLen(data)
	return err
}

// decodedLen returns the decoded length of snappy data, which must not
// exceed maxSize.
func (r *reader) decodedLen(data []byte) (int, error) {
	n, err := snappyDecodedLen(data)
	if err != nil {
		return 0, fmt.Errorf("%w: %v", ErrSnappy, err)
	}
	if n > r.maxSize {
		return 0, fmt.Errorf("%w: %d bytes after decompression", ErrMessageTooLarge, n)
	}
	return n, nil
}

func (r *reader) decompress(data []byte) ([]byte, error) {
	n, err := r.decodedLen(data)
	if err != nil {
		return nil, err
	}
	r.out = getBuf(n)
	out, err := snappyDecode(r.out, data)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSnappy, err)
	}
	return out, nil
}

// ensure makes at least n ≤ readBufSize unread bytes available in r.buf.
func (r *reader) ensure(n int) error {
	for r.w-r.r < n {
		if r.raw != nil && !r.pooled && r.r == r.w {
			// Nothing buffered: wait for data without holding a buffer,
			// then read it straight into a pooled one.
			if err := r.fillIdle(); err != nil {
				return err
			}
			continue
		}
		if n > len(r.buf) {
			r.grow()
		}
		if len(r.buf)-r.r < n {
			r.w = copy(r.buf, r.buf[r.r:r.w])
			r.r = 0
		}
		m, err := r.fill(r.buf[r.w:])
		r.w += m
		if r.w == len(r.buf) && !r.pooled {
			// The idle buffer filled up: more is likely waiting, so read
			// the rest of this burst in bulk.
			r.grow()
		}
		if r.w-r.r >= n {
			break
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// grow moves unread data from the idle buffer into a pooled one.
func (r *reader) grow() {
	if r.pooled {
		return
	}
	b := getBuf(readBufSize)
	r.w = copy(b, r.buf[r.r:r.w])
	r.r = 0
	r.buf, r.pooled = b, true
}

// readLarge reads a frame of rsize > readBufSize bytes into r.large,
// growing it only as data arrives.
func (r *reader) readLarge(rsize int) ([]byte, error) {
	buf := getBuf(min(rsize, largeFrameStep))
	have := copy(buf, r.buf[r.r:r.w])
	r.r += have
	for have < rsize {
		if have == len(buf) {
			next := getBuf(min(rsize, 2*len(buf)))
			copy(next, buf[:have])
			putBuf(buf)
			buf = next
		}
		m, err := r.fill(buf[have:])
		have += m
		if err != nil && have < rsize {
			putBuf(buf)
			return nil, err
		}
	}
	r.large = buf
	return buf[:rsize], nil
}

// fill does one read from the network, arming the message deadline first.
func (r *reader) fill(b []byte) (int, error) {
	r.arm()
	n, err := r.fd.Read(b)
	if n == 0 && err == nil {
		err = io.ErrNoProgress
	}
	atomic.AddUint64(&r.counted, uint64(n))
	return n, err
}

// arm sets the message read deadline on the first network read of a message.
func (r *reader) arm() {
	if r.timeout > 0 && !r.armed {
		r.fd.SetReadDeadline(time.Now().Add(r.timeout))
		r.armed = true
	}
}
