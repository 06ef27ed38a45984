package p2p

import (
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/rlpx"
)

// connFlag says how a connection came to be and how it is treated.
type connFlag int32

const (
	dynDialedConn    connFlag = 1 << iota // dialed to fill a dynamic outbound slot
	staticDialedConn                      // dialed because the node is static
	inboundConn                           // accepted by the listener
	trustedConn                           // the remote is trusted: bypasses peer limits
)

// is reports whether all bits of f2 are set in f.
func (f connFlag) is(f2 connFlag) bool { return f&f2 == f2 }

// dialed reports whether the connection was dialed by us.
func (f connFlag) dialed() bool { return f&(dynDialedConn|staticDialedConn) != 0 }

// String joins the flag names with '-', as go-ethereum's logs do.
func (f connFlag) String() string {
	var parts []string
	for _, n := range []struct {
		f    connFlag
		name string
	}{{trustedConn, "trusted"}, {dynDialedConn, "dyndial"}, {staticDialedConn, "staticdial"}, {inboundConn, "inbound"}} {
		if f&n.f != 0 {
			parts = append(parts, n.name)
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, "-")
}

// conn is a connection in setup. It travels from the setup goroutine to the
// run loop at each checkpoint; the loop answers on cont.
type conn struct {
	fd    *meteredConn
	rc    *rlpx.Conn
	flags connFlag
	id    enode.ID
	node  *enode.Node // the dialed node, or one made from the remote key and address
	hello *hello      // the remote's Hello, from checkpoint 2 on
	cont  chan error
}

// meteredConn counts the bytes of a connection and lets a peer interrupt
// its own read loop: once interrupted, every read deadline set is in the
// past, so a read that is blocked, or starts later, returns at once.
type meteredConn struct {
	net.Conn
	bytesIn, bytesOut atomic.Uint64
	interrupted       atomic.Bool
}

func newMeteredConn(fd net.Conn) *meteredConn { return &meteredConn{Conn: fd} }

func (c *meteredConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.bytesIn.Add(uint64(n))
	return n, err
}

func (c *meteredConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.bytesOut.Add(uint64(n))
	return n, err
}

// pastDeadline is a deadline that has passed.
var pastDeadline = time.Unix(1, 0)

func (c *meteredConn) SetReadDeadline(t time.Time) error {
	if c.interrupted.Load() {
		t = pastDeadline
	}
	return c.Conn.SetReadDeadline(t)
}

func (c *meteredConn) SetDeadline(t time.Time) error {
	if err := c.Conn.SetWriteDeadline(t); err != nil {
		return err
	}
	return c.SetReadDeadline(t)
}

// interrupt makes blocked and future reads fail with a timeout.
func (c *meteredConn) interrupt() {
	c.interrupted.Store(true)
	c.Conn.SetReadDeadline(pastDeadline)
}
