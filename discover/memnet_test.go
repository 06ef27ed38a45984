package discover

import (
	"net"
	"net/netip"
	"sync"
)

// memNetwork is an in-memory packet network for tests. Datagrams are
// delivered in order per destination and dropped when the destination's
// queue is full or nobody listens, like UDP. Its channels are created by
// the goroutine that creates the connection, so a network made inside a
// synctest bubble blocks durably.
type memNetwork struct {
	mu    sync.Mutex
	conns map[netip.AddrPort]*memConn
	// drop, if set, decides whether a datagram is lost.
	drop func(from, to netip.AddrPort, data []byte) bool
}

type memDatagram struct {
	from netip.AddrPort
	data []byte
}

// memQueue is the number of datagrams a connection holds before it drops.
const memQueue = 512

func newMemNetwork() *memNetwork {
	return &memNetwork{conns: make(map[netip.AddrPort]*memConn)}
}

// listen opens a connection at addr. It panics if addr is taken.
func (n *memNetwork) listen(addr netip.AddrPort) *memConn {
	c := &memConn{net: n, addr: addr, in: make(chan memDatagram, memQueue), closed: make(chan struct{})}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.conns[addr] != nil {
		panic("address in use: " + addr.String())
	}
	n.conns[addr] = c
	return c
}

// memConn is a connection of a memNetwork. It implements UDPConn.
type memConn struct {
	net       *memNetwork
	addr      netip.AddrPort
	in        chan memDatagram
	closeOnce sync.Once
	closed    chan struct{}
}

func (c *memConn) ReadFromUDPAddrPort(b []byte) (int, netip.AddrPort, error) {
	select {
	case d := <-c.in:
		return copy(b, d.data), d.from, nil
	case <-c.closed:
		return 0, netip.AddrPort{}, net.ErrClosed
	}
}

func (c *memConn) WriteToUDPAddrPort(b []byte, to netip.AddrPort) (int, error) {
	select {
	case <-c.closed:
		return 0, net.ErrClosed
	default:
	}
	c.net.mu.Lock()
	dst := c.net.conns[to]
	drop := c.net.drop
	c.net.mu.Unlock()
	if dst == nil || (drop != nil && drop(c.addr, to, b)) {
		return len(b), nil
	}
	select {
	case dst.in <- memDatagram{c.addr, append([]byte(nil), b...)}:
	default: // queue full
	}
	return len(b), nil
}

func (c *memConn) Close() error {
	c.closeOnce.Do(func() {
		close(c.closed)
		c.net.mu.Lock()
		delete(c.net.conns, c.addr)
		c.net.mu.Unlock()
	})
	return nil
}

func (c *memConn) LocalAddr() net.Addr { return net.UDPAddrFromAddrPort(c.addr) }
