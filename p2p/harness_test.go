package p2p

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/devp2p-go/devp2p/crypto"
	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/rlpx"
)

// Test framework: an in-memory network of net.Pipe connections with TCP
// addresses (so that IP checks apply), servers on it, and a raw RLPx peer
// that tests drive message by message. Everything here works inside a
// testing/synctest bubble.

// pipeNet is an in-memory network. Listeners are keyed by address.
type pipeNet struct {
	mu        sync.Mutex
	listeners map[netip.AddrPort]*pipeListener
	nextPort  uint16
}

func newPipeNet() *pipeNet {
	return &pipeNet{listeners: make(map[netip.AddrPort]*pipeListener), nextPort: 40000}
}

// listen opens a listener at addr ("ip:port").
func (pn *pipeNet) listen(network, addr string) (net.Listener, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return nil, err
	}
	pn.mu.Lock()
	defer pn.mu.Unlock()
	if pn.listeners[ap] != nil {
		return nil, syscall.EADDRINUSE
	}
	l := &pipeListener{net: pn, addr: ap, ch: make(chan net.Conn, 128), closed: make(chan struct{})}
	pn.listeners[ap] = l
	return l, nil
}

// dial connects from the IP from to the address to.
func (pn *pipeNet) dial(ctx context.Context, from netip.Addr, to netip.AddrPort) (net.Conn, error) {
	pn.mu.Lock()
	l := pn.listeners[to]
	pn.nextPort++
	local := netip.AddrPortFrom(from, pn.nextPort)
	pn.mu.Unlock()
	if l == nil {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	}
	c1, c2 := net.Pipe()
	client := &addrConn{Conn: c1, local: net.TCPAddrFromAddrPort(local), remote: net.TCPAddrFromAddrPort(to)}
	server := &addrConn{Conn: c2, local: net.TCPAddrFromAddrPort(to), remote: net.TCPAddrFromAddrPort(local)}
	select {
	case l.ch <- server:
		return client, nil
	case <-l.closed:
	case <-ctx.Done():
	default: // backlog full
	}
	c1.Close()
	c2.Close()
	return nil, &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
}

// dialer returns a NodeDialer that dials from ip.
func (pn *pipeNet) dialer(ip netip.Addr) pipeDialer { return pipeDialer{pn, ip} }

type pipeDialer struct {
	net *pipeNet
	ip  netip.Addr
}

func (d pipeDialer) Dial(ctx context.Context, n *enode.Node) (net.Conn, error) {
	ep, ok := n.TCPEndpoint()
	if !ok {
		return nil, errors.New("no TCP endpoint")
	}
	return d.net.dial(ctx, d.ip, ep)
}

type pipeListener struct {
	net       *pipeNet
	addr      netip.AddrPort
	ch        chan net.Conn
	closeOnce sync.Once
	closed    chan struct{}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.closeOnce.Do(func() {
		l.net.mu.Lock()
		delete(l.net.listeners, l.addr)
		l.net.mu.Unlock()
		close(l.closed)
		for {
			select {
			case c := <-l.ch:
				c.Close()
			default:
				return
			}
		}
	})
	return nil
}

func (l *pipeListener) Addr() net.Addr { return net.TCPAddrFromAddrPort(l.addr) }

// addrConn gives a net.Pipe end TCP addresses.
type addrConn struct {
	net.Conn
	local, remote net.Addr
}

func (c *addrConn) LocalAddr() net.Addr  { return c.local }
func (c *addrConn) RemoteAddr() net.Addr { return c.remote }

// testNode is a server on a pipeNet.
type testNode struct {
	*Server
	key  *crypto.PrivateKey
	addr netip.AddrPort
	node *enode.Node // how others dial it
}

// startPipeServer starts a server listening at ip:30303 on pn. mod may
// change the config before Start.
func startPipeServer(t testing.TB, pn *pipeNet, ip string, mod func(*Config)) *testNode {
	t.Helper()
	key := newTestKey(t)
	return startPipeServerKey(t, pn, ip, key, mod)
}

func startPipeServerKey(t testing.TB, pn *pipeNet, ip string, key *crypto.PrivateKey, mod func(*Config)) *testNode {
	t.Helper()
	addr := netip.AddrPortFrom(netip.MustParseAddr(ip), 30303)
	cfg := Config{
		PrivateKey: key,
		Name:       "test/" + ip,
		ListenAddr: addr.String(),
		MaxPeers:   10,
		Logger:     testLogger(t),
		listenFunc: pn.listen,
		dialer:     pn.dialer(addr.Addr()),
	}
	if mod != nil {
		mod(&cfg)
	}
	srv := &Server{Config: cfg}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	return &testNode{
		Server: srv,
		key:    key,
		addr:   addr,
		node:   enode.NewV4(key.Public(), addr.Addr(), int(addr.Port()), int(addr.Port())),
	}
}

// rawPeer is the remote end of a connection, driven by the test.
type rawPeer struct {
	t   testing.TB
	key *crypto.PrivateKey
	fd  net.Conn
	rc  *rlpx.Conn

	msgs    chan rawMsg // filled by the reader goroutine after startReader
	readErr error       // valid after msgs is closed
}

type rawMsg struct {
	code uint64
	data []byte
}

// dialRaw connects to n from ip and runs the encryption handshake with key.
func dialRaw(t testing.TB, pn *pipeNet, ip string, n *testNode, key *crypto.PrivateKey) (*rawPeer, error) {
	t.Helper()
	fd, err := pn.dial(context.Background(), netip.MustParseAddr(ip), n.addr)
	if err != nil {
		return nil, err
	}
	p := &rawPeer{t: t, key: key, fd: fd, rc: newRawConn(fd, n)}
	t.Cleanup(p.close)
	if _, err := p.rc.Handshake(key); err != nil {
		return p, err
	}
	return p, nil
}

// mustDialRaw is dialRaw that fails the test on error.
func mustDialRaw(t testing.TB, pn *pipeNet, ip string, n *testNode, key *crypto.PrivateKey) *rawPeer {
	t.Helper()
	p, err := dialRaw(t, pn, ip, n, key)
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	return p
}

// hello writes our Hello and reads the server's.
func (p *rawPeer) hello(caps ...Cap) (*hello, error) {
	return p.helloWith(&hello{Version: baseVersion, Name: "raw", Caps: caps, ID: p.key.Public()[:]})
}

func (p *rawPeer) helloWith(h *hello) (*hello, error) {
	if _, err := p.rc.WriteMsg(helloMsg, appendHello(nil, h)); err != nil {
		return nil, err
	}
	code, data, _, err := p.rc.ReadMsg()
	if err != nil {
		return nil, err
	}
	if code == discMsg {
		return nil, decodeDisconnect(data)
	}
	if code != helloMsg {
		return nil, fmt.Errorf("got message %#x instead of Hello", code)
	}
	var their hello
	if err := decodeHello(data, &their, nil); err != nil {
		return nil, err
	}
	p.rc.SetSnappy(h.Version >= snappyVersion && their.Version >= snappyVersion)
	return &their, nil
}

// startReader reads messages on a goroutine of its own into p.msgs.
func (p *rawPeer) startReader() {
	p.msgs = make(chan rawMsg, 1024)
	go func() {
		defer close(p.msgs)
		for {
			code, data, _, err := p.rc.ReadMsg()
			if err != nil {
				p.readErr = err
				return
			}
			p.msgs <- rawMsg{code, append([]byte(nil), data...)}
		}
	}()
}

// next returns the next message other than Ping, answering Pings.
func (p *rawPeer) next() (rawMsg, bool) {
	for m := range p.msgs {
		if m.code == pingMsg {
			p.send(pongMsg, emptyList)
			continue
		}
		return m, true
	}
	return rawMsg{}, false
}

// expectDisconnect reads until a Disconnect and checks its reason.
func (p *rawPeer) expectDisconnect(want DiscReason) {
	p.t.Helper()
	m, ok := p.next()
	if !ok {
		p.t.Fatalf("connection closed (%v), want Disconnect(%v)", p.readErr, want)
	}
	if m.code != discMsg {
		p.t.Fatalf("got message %#x, want Disconnect(%v)", m.code, want)
	}
	if got := decodeDisconnect(m.data); got != want {
		p.t.Fatalf("got Disconnect(%v), want Disconnect(%v)", got, want)
	}
}

// readDisconnect reads one message synchronously and checks that it is
// Disconnect(want). For use before startReader.
func (p *rawPeer) readDisconnect(want DiscReason) {
	p.t.Helper()
	code, data, _, err := p.rc.ReadMsg()
	if err != nil {
		p.t.Fatalf("read error %v, want Disconnect(%v)", err, want)
	}
	if code != discMsg || decodeDisconnect(data) != want {
		p.t.Fatalf("got message %#x %x, want Disconnect(%v)", code, data, want)
	}
}

func (p *rawPeer) send(code uint64, data []byte) error {
	_, err := p.rc.WriteMsg(code, data)
	return err
}

func (p *rawPeer) close() { p.fd.Close() }

// waitFor polls cond every 10 ms of (possibly fake) time until it holds or
// timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// testProto is a protocol for tests: it answers each message with the
// same code and payload plus one, or runs a custom function.
func echoProto(name string, version uint) Protocol {
	return Protocol{
		Name:    name,
		Version: version,
		Length:  8,
		Run: func(p *Peer, rw MsgReadWriter) error {
			for {
				msg, err := rw.ReadMsg()
				if err != nil {
					return err
				}
				var v uint
				if err := msg.Decode(&v); err != nil {
					return err
				}
				if err := Send(rw, msg.Code, v+1); err != nil {
					return err
				}
			}
		},
	}
}

// newRawConn wraps fd for a handshake with n.
func newRawConn(fd net.Conn, n *testNode) *rlpx.Conn {
	return rlpx.NewConn(fd, n.key.Public(), &rlpx.Config{HandshakeTimeout: time.Minute})
}
