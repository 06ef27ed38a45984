package p2p

import (
	"net"
	"strings"
	"sync"
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
	node  *enode.Node // the dialed node; nil for inbound connections
	hello *hello      // the remote's Hello, from checkpoint 2 on
	cont  chan error
}

// meteredConn counts the bytes of a connection and lets a peer interrupt
// its own read loop: once interrupted, every read deadline set is in the
// past, so a read that is blocked, or starts later, returns at once.
//
// For the peer's read loop it also calls peer.beforeRead before each read from
// the network (the read loop hands messages to protocols lazily and wakes
// them then), notes when each read returned (Msg.ReceivedAt, one clock
// read per system call instead of one per message), and skips deadline
// updates that would move the read deadline by less than
// readDeadlineSlack (a message's read deadline is set anew whenever rlpx
// has to wait for the network).
type meteredConn struct {
	net.Conn
	bytesIn, bytesOut atomic.Uint64
	interrupted       atomic.Bool

	// Used only by the goroutine that reads.
	peer         *Peer // set once the connection is a peer's
	lastRead     int64 // when the last Read returned, Unix ns
	readDeadline int64 // the read deadline last given to Conn, Unix ns; 0 for none
}

// readDeadlineSlack is how much earlier than asked a read deadline may
// expire: a deadline later than the current one by less is not set.
const readDeadlineSlack = 50 * time.Millisecond

func newMeteredConn(fd net.Conn) *meteredConn { return &meteredConn{Conn: fd} }

func (c *meteredConn) Read(b []byte) (int, error) {
	if c.peer != nil {
		c.peer.beforeRead()
	}
	n, err := c.Conn.Read(b)
	c.lastRead = time.Now().UnixNano()
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
	var ns int64 // 0 for no deadline
	if !t.IsZero() {
		ns = t.UnixNano()
	}
	if cur := c.readDeadline; ns != 0 && cur != 0 && ns >= cur && ns-cur < int64(readDeadlineSlack) {
		return nil
	}
	c.readDeadline = ns
	err := c.Conn.SetReadDeadline(t)
	if t != pastDeadline && c.interrupted.Load() {
		// interrupt ran since the check above; its deadline must win.
		c.readDeadline = pastDeadline.UnixNano()
		c.Conn.SetReadDeadline(pastDeadline)
	}
	return err
}

// lastReadTime returns when the last Read returned.
func (c *meteredConn) lastReadTime() time.Time { return time.Unix(0, c.lastRead) }

func (c *meteredConn) SetDeadline(t time.Time) error {
	if err := c.Conn.SetWriteDeadline(t); err != nil {
		return err
	}
	return c.SetReadDeadline(t)
}

// Graceful close. Closing a TCP socket while received bytes are still
// unread makes the kernel send RST instead of FIN, and a remote whose kernel
// gets RST drops what its application has not read yet: the Disconnect we
// just sent is lost, and the remote sees "connection reset" instead of our
// reason. A remote that keeps sending (pings, protocol messages in flight)
// makes that the rule when we close within milliseconds of a handshake. So
// after a final Disconnect the connection is closed gracefully: shut down
// the write side (FIN after the Disconnect), then read and discard whatever
// the remote sends until it closes too, for at most lingerTimeout and
// lingerMaxBytes, then close.
const (
	// lingerTimeout bounds the wait for the remote to close after our
	// Disconnect. A remote that reads its socket does so within
	// milliseconds; one that does not gets RST after this.
	lingerTimeout = 1 * time.Second
	// lingerMaxBytes bounds what is read and discarded meanwhile. An
	// honest remote stops sending once it has read our Disconnect, after
	// at most what was in flight: its send buffer and our receive
	// window, a few MiB each at most.
	lingerMaxBytes = 16 << 20
	lingerBufSize  = 16 << 10
)

// closeGracefully closes the connection after a final message, as
// described above. It returns within lingerTimeout, and at once for
// connections that cannot shut down their write side alone (pipes). The
// caller must be the only one reading and writing: the read loop must have
// ended and the final message must have been written.
func (c *meteredConn) closeGracefully() error {
	cw, ok := c.Conn.(interface{ CloseWrite() error })
	if !ok || cw.CloseWrite() != nil {
		return c.Conn.Close()
	}
	// Not c.SetReadDeadline: an interrupted connection's deadlines are in
	// the past.
	if c.Conn.SetReadDeadline(time.Now().Add(lingerTimeout)) == nil {
		bp := lingerBufs.Get().(*[]byte)
		for total := 0; total < lingerMaxBytes; {
			n, err := c.Conn.Read(*bp)
			total += n
			c.bytesIn.Add(uint64(n))
			if err != nil {
				break // EOF: the remote closed; or the deadline passed
			}
		}
		lingerBufs.Put(bp)
	}
	return c.Conn.Close()
}

var lingerBufs = sync.Pool{New: func() any {
	b := make([]byte, lingerBufSize)
	return &b
}}

// interrupt makes blocked and future reads fail with a timeout. It may be
// called from any goroutine.
func (c *meteredConn) interrupt() {
	c.interrupted.Store(true)
	c.Conn.SetReadDeadline(pastDeadline)
}
