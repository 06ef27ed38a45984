// Package rlpx implements the RLPx v5 transport of devp2p: the EIP-8 encryption
// handshake (with the pre-EIP-8 formats accepted as EIP-8 asks), framing with
// AES-256-CTR and the Keccak/AES MAC, and snappy compression of message payloads.
//
// A Conn is created over a net.Conn with the remote's static public key (when
// dialing) or none (when accepting). After Handshake, one goroutine may read
// messages while another writes them. Messages written with BufferMsg are
// batched and sent with one system call by Flush.
//
// The package takes public keys, not node records, and knows nothing of the
// devp2p base protocol except that the Hello is never compressed.
package rlpx

import (
	"errors"
	"io"
	"net"
	"sync/atomic"
	"time"

	"github.com/devp2p-go/devp2p/crypto"
)

const (
	// MaxMessageSize is the largest message payload the wire format can carry:
	// frame sizes are 24-bit, and snappy output is capped at the same value.
	MaxMessageSize = 1<<24 - 1

	// MaxHandshakeSize caps an auth or ack packet (the size prefix value).
	MaxHandshakeSize = 2048

	// DefaultHandshakeTimeout bounds the whole encryption handshake.
	DefaultHandshakeTimeout = 5 * time.Second
)

// Config tunes a Conn. The zero value (or a nil *Config) gives the defaults.
type Config struct {
	// HandshakeTimeout bounds the encryption handshake (both messages).
	// Zero means DefaultHandshakeTimeout; negative means no deadline.
	HandshakeTimeout time.Duration

	// ReadTimeout bounds the time to receive one whole message once ReadMsg
	// has to wait for the network. Zero means no deadline.
	ReadTimeout time.Duration

	// WriteTimeout bounds each write to the network (one Flush, or one
	// chunk of a large message). Zero means no deadline.
	WriteTimeout time.Duration

	// MaxMessageSize caps a received message payload after decompression.
	// Zero means MaxMessageSize. Larger values are clamped to MaxMessageSize.
	MaxMessageSize int

	// AuthFilter, if set, is called by the responder with the raw auth packet
	// (size prefix included) before any cryptography is done on it. A non-nil
	// error aborts the handshake with that error. It can reject replays.
	AuthFilter func(packet []byte) error

	// Rand supplies nonces, ephemeral keys and padding. nil means crypto/rand.
	Rand io.Reader
}

// Conn is an RLPx connection. It is safe for one goroutine to read and one
// other goroutine to write at the same time; Close may be called at any time.
type Conn struct {
	fd        net.Conn
	remote    *crypto.PublicKey // static key of the remote; known up front when dialing
	initiator bool
	cfg       Config

	rd reader // used only by the reading goroutine
	wr writer // used only by the writing goroutine
}

// NewConn wraps fd. When dialing, remote is the static public key of the node
// being dialed; when accepting, remote is nil and becomes known in Handshake.
func NewConn(fd net.Conn, remote *crypto.PublicKey, cfg *Config) *Conn {
	c := &Conn{fd: fd, initiator: remote != nil}
	if cfg != nil {
		c.cfg = *cfg
	}
	if c.cfg.HandshakeTimeout == 0 {
		c.cfg.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if c.cfg.MaxMessageSize <= 0 || c.cfg.MaxMessageSize > MaxMessageSize {
		c.cfg.MaxMessageSize = MaxMessageSize
	}
	if remote != nil {
		k := *remote
		c.remote = &k
	}
	c.rd.fd, c.wr.fd = fd, fd
	c.rd.raw = rawConnOf(fd)
	c.rd.timeout, c.wr.timeout = c.cfg.ReadTimeout, c.cfg.WriteTimeout
	c.rd.maxSize = c.cfg.MaxMessageSize
	return c
}

// Initiator reports whether this side dialed the connection.
func (c *Conn) Initiator() bool { return c.initiator }

// RemoteKey returns the remote's static public key: the dialed key, or after
// a successful Handshake the key the remote proved it holds.
func (c *Conn) RemoteKey() *crypto.PublicKey { return c.remote }

// NetConn returns the underlying connection.
func (c *Conn) NetConn() net.Conn { return c.fd }

// Handshake runs the encryption handshake with the node's static private key
// and returns the remote's static public key. A dialing Conn sends auth and
// reads ack; an accepting one reads auth and answers in the format it came in.
func (c *Conn) Handshake(key *crypto.PrivateKey) (*crypto.PublicKey, error) {
	if c.rd.session != nil {
		return nil, errors.New("rlpx: handshake already done")
	}
	if c.cfg.HandshakeTimeout > 0 {
		c.fd.SetDeadline(time.Now().Add(c.cfg.HandshakeTimeout))
		defer c.fd.SetDeadline(time.Time{})
	}
	h := &handshake{key: key, rand: c.cfg.Rand, filter: c.cfg.AuthFilter}
	var (
		sec *Secrets
		err error
	)
	if c.initiator {
		sec, err = h.runInitiator(c.fd, c.remote)
	} else {
		sec, err = h.runRecipient(c.fd)
	}
	if err != nil {
		return nil, err
	}
	c.InitWithSecrets(sec)
	return c.remote, nil
}

// InitWithSecrets sets up framing with secrets agreed elsewhere (tests, or a
// handshake done by other means). Handshake calls it.
func (c *Conn) InitWithSecrets(sec *Secrets) {
	rs, ws := newSessionPair(sec)
	k := sec.Remote
	c.remote = &k
	c.rd.session, c.wr.session = rs, ws
}

// SetSnappy turns snappy compression of message payloads on or off for both
// directions. Call it after the Hello exchange while no read or write runs.
func (c *Conn) SetSnappy(on bool) {
	c.rd.snappy, c.wr.snappy = on, on
}

// SetReadTimeout changes Config.ReadTimeout. Call it only from the reading goroutine.
func (c *Conn) SetReadTimeout(d time.Duration) { c.rd.timeout = d }

// SetWriteTimeout changes Config.WriteTimeout. Call it only from the writing goroutine.
func (c *Conn) SetWriteTimeout(d time.Duration) { c.wr.timeout = d }

// SetMaxMessageSize changes Config.MaxMessageSize for the messages read
// after it, e.g. a small limit for the Hello and the full one afterwards.
// Zero or values above MaxMessageSize mean MaxMessageSize. Call it only from
// the reading goroutine.
func (c *Conn) SetMaxMessageSize(n int) {
	if n <= 0 || n > MaxMessageSize {
		n = MaxMessageSize
	}
	c.rd.maxSize = n
}

// ReadMsg reads the next message. data is valid until the next call to
// ReadMsg; wireSize is the payload's size on the wire (compressed size when
// snappy is on).
func (c *Conn) ReadMsg() (code uint64, data []byte, wireSize int, err error) {
	if c.rd.session == nil {
		panic("rlpx: ReadMsg before handshake")
	}
	return c.rd.readMsg()
}

// WriteMsg sends one message and everything buffered before it, then
// returns the payload's size on the wire.
func (c *Conn) WriteMsg(code uint64, data []byte) (wireSize int, err error) {
	if c.wr.session == nil {
		panic("rlpx: WriteMsg before handshake")
	}
	if wireSize, err = c.wr.bufferMsg(code, data); err != nil {
		return wireSize, err
	}
	return wireSize, c.wr.flush()
}

// BufferMsg encodes a message into the write buffer without sending it,
// unless the buffer is already large (then it sends what it holds). Flush
// sends the rest. Batching small messages this way saves system calls.
func (c *Conn) BufferMsg(code uint64, data []byte) (wireSize int, err error) {
	if c.wr.session == nil {
		panic("rlpx: BufferMsg before handshake")
	}
	return c.wr.bufferMsg(code, data)
}

// Flush sends all buffered messages.
func (c *Conn) Flush() error {
	if c.wr.session == nil {
		return nil
	}
	return c.wr.flush()
}

// BytesRead returns the number of bytes read from the network after the
// handshake. It is safe to call from any goroutine.
func (c *Conn) BytesRead() uint64 { return atomic.LoadUint64(&c.rd.counted) }

// BytesWritten returns the number of bytes written to the network after
// the handshake. It is safe to call from any goroutine.
func (c *Conn) BytesWritten() uint64 { return atomic.LoadUint64(&c.wr.counted) }

// Buffered returns the number of bytes waiting for Flush.
func (c *Conn) Buffered() int { return len(c.wr.buf) }

// Close closes the underlying connection and releases pooled buffers that
// no goroutine is using. It does not wait for a running read or write.
func (c *Conn) Close() error {
	return c.fd.Close()
}
