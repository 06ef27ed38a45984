package p2p

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/devp2p-go/devp2p/rlp"
)

// Msg is a devp2p message. Code is relative to the protocol the message
// belongs to. The payload can be consumed once.
type Msg struct {
	Code       uint64
	Size       uint32 // size of the payload after decompression
	Payload    io.Reader
	ReceivedAt time.Time

	wireSize uint32 // size on the wire (compressed when snappy is on)
}

// Decode decodes the RLP payload into the value val points to. Data after
// the first RLP item is ignored, as go-ethereum does. A decoding error is
// a *PeerError with DiscProtocolError: returned from Protocol.Run, it ends
// the peer with that reason.
func (msg Msg) Decode(val any) error {
	data, err := msg.payloadBytes()
	if err != nil {
		return newPeerError(DiscProtocolError, "reading message %#x: %v", msg.Code, err)
	}
	if _, err := rlp.DecodeFirst(data, val); err != nil {
		return &PeerError{Reason: DiscProtocolError, Msg: fmt.Sprintf("invalid message %#x (size %d)", msg.Code, msg.Size), Err: err}
	}
	return nil
}

// Discard skips the rest of the payload.
func (msg Msg) Discard() error {
	if p, ok := msg.Payload.(*payload); ok {
		p.off = len(p.b)
		return nil
	}
	_, err := io.Copy(io.Discard, msg.Payload)
	return err
}

// String describes the message for logs.
func (msg Msg) String() string {
	return fmt.Sprintf("msg #%v (%v bytes)", msg.Code, msg.Size)
}

// payloadBytes returns the unread payload, without copying when the payload
// came from this package.
func (msg Msg) payloadBytes() ([]byte, error) {
	if p, ok := msg.Payload.(*payload); ok {
		b := p.b[p.off:]
		p.off = len(p.b)
		return b, nil
	}
	if msg.Payload == nil {
		return nil, nil
	}
	b := make([]byte, msg.Size)
	_, err := io.ReadFull(msg.Payload, b)
	return b, err
}

// takePayload is payloadBytes for a writer that keeps the bytes: owned
// reports whether nothing else refers to them, so they need no copy.
func (msg Msg) takePayload() (data []byte, owned bool, err error) {
	p, ok := msg.Payload.(*payload)
	owned = !ok || p.owned
	data, err = msg.payloadBytes()
	return data, owned, err
}

// payload is the Payload of messages made by this package: a byte reader
// whose unread bytes can be taken without a copy.
type payload struct {
	b     []byte
	off   int
	owned bool // b is referenced by nothing else (see takePayload)
}

func newPayload(b []byte) *payload { return &payload{b: b} }

func (p *payload) Read(b []byte) (int, error) {
	if p.off >= len(p.b) {
		return 0, io.EOF
	}
	n := copy(b, p.b[p.off:])
	p.off += n
	return n, nil
}

// WriteTo implements io.WriterTo, so io.Copy does not need a buffer.
func (p *payload) WriteTo(w io.Writer) (int64, error) {
	n, err := w.Write(p.b[p.off:])
	p.off += n
	return int64(n), err
}

// MsgReader reads messages.
type MsgReader interface {
	ReadMsg() (Msg, error)
}

// MsgWriter writes messages.
type MsgWriter interface {
	// WriteMsg sends a message. Msg.Payload is consumed. It may return
	// before the message is on the network (a Peer's writer returns once
	// the message is queued); the payload's bytes are not used afterwards.
	WriteMsg(Msg) error
}

// MsgReadWriter reads and writes messages. The one a Protocol's Run gets
// may be used by one reading and any number of writing goroutines at once.
type MsgReadWriter interface {
	MsgReader
	MsgWriter
}

// Send RLP-encodes data and writes it as a message with the given code.
func Send(w MsgWriter, code uint64, data any) error {
	b, err := rlp.EncodeToBytes(data)
	if err != nil {
		return err
	}
	return w.WriteMsg(Msg{Code: code, Size: uint32(len(b)), Payload: &payload{b: b, owned: true}})
}

// ExpectMsg reads a message from r and checks that it has the given code
// and, if content is not nil, that its payload is the RLP encoding of content.
// It is meant for tests.
func ExpectMsg(r MsgReader, code uint64, content any) error {
	msg, err := r.ReadMsg()
	if err != nil {
		return err
	}
	if msg.Code != code {
		return fmt.Errorf("message code mismatch: got %d, expected %d", msg.Code, code)
	}
	if content == nil {
		return msg.Discard()
	}
	want, err := rlp.EncodeToBytes(content)
	if err != nil {
		return err
	}
	got, err := msg.payloadBytes()
	if err != nil {
		return err
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("message payload mismatch:\ngot:  %x\nwant: %x", got, want)
	}
	return nil
}

// ErrPipeClosed is returned by MsgPipe ends after Close.
var ErrPipeClosed = errors.New("p2p: read or write on closed message pipe")

// MsgPipe returns the two ends of an in-memory message connection, for
// tests. A message written to one end is read from the other; WriteMsg
// blocks until the message has been read. Closing either end closes both.
func MsgPipe() (*MsgPipeRW, *MsgPipeRW) {
	var (
		c1, c2  = make(chan Msg), make(chan Msg)
		closing = make(chan struct{})
		closed  = new(atomic.Bool)
		once    = new(sync.Once)
	)
	rw1 := &MsgPipeRW{c1, c2, closing, closed, once}
	rw2 := &MsgPipeRW{c2, c1, closing, closed, once}
	return rw1, rw2
}

// MsgPipeRW is one end of a MsgPipe.
type MsgPipeRW struct {
	w       chan<- Msg
	r       <-chan Msg
	closing chan struct{}
	closed  *atomic.Bool
	once    *sync.Once
}

// WriteMsg sends msg to the other end and waits until it has been read.
// The payload is read into memory first.
func (p *MsgPipeRW) WriteMsg(msg Msg) error {
	if p.closed.Load() {
		return ErrPipeClosed
	}
	data, err := msg.payloadBytes()
	if err != nil {
		return err
	}
	msg.Payload, msg.Size = newPayload(data), uint32(len(data))
	select {
	case p.w <- msg:
		return nil
	case <-p.closing:
		return ErrPipeClosed
	}
}

// ReadMsg returns the next message sent by the other end.
func (p *MsgPipeRW) ReadMsg() (Msg, error) {
	select {
	case msg := <-p.r:
		msg.ReceivedAt = time.Now()
		return msg, nil
	case <-p.closing:
		return Msg{}, ErrPipeClosed
	}
}

// Close unblocks pending reads and writes on both ends. Later calls return
// ErrPipeClosed.
func (p *MsgPipeRW) Close() error {
	p.once.Do(func() {
		p.closed.Store(true)
		close(p.closing)
	})
	return nil
}
