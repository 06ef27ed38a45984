package discover

import (
	"net"
	"net/netip"
	"sync"
	"time"
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
	// latency, if set, delays datagrams (with time.AfterFunc, so inside a
	// synctest bubble the delay is simulated). Datagrams between two
	// addresses stay in order.
	latency     func(from, to netip.AddrPort) time.Duration
	lastDeliver map[[2]netip.AddrPort]time.Time
}

type memDatagram struct {
	from netip.AddrPort
	data []byte
}

// memQueue is the number of datagrams a connection holds before it drops.
const memQueue = 512

func newMemNetwork() *memNetwork {
	return &memNetwork{conns: make(map[netip.AddrPort]*memConn), lastDeliver: make(map[[2]netip.AddrPort]time.Time)}
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
	n := c.net
	d := memDatagram{c.addr, append([]byte(nil), b...)}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.drop != nil && n.drop(c.addr, to, b) {
		return len(b), nil
	}
	if n.latency == nil {
		n.deliverLocked(to, d)
		return len(b), nil
	}
	now := time.Now()
	pair := [2]netip.AddrPort{c.addr, to}
	at := now.Add(n.latency(c.addr, to))
	if last := n.lastDeliver[pair]; !at.After(last) {
		at = last.Add(time.Nanosecond)
	}
	n.lastDeliver[pair] = at
	time.AfterFunc(at.Sub(now), func() {
		n.mu.Lock()
		defer n.mu.Unlock()
		n.deliverLocked(to, d)
	})
	return len(b), nil
}

func (n *memNetwork) deliverLocked(to netip.AddrPort, d memDatagram) {
	dst := n.conns[to]
	if dst == nil {
		return
	}
	select {
	case dst.in <- d:
	default: // queue full
	}
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
