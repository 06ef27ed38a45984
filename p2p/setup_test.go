package p2p

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/p2p/internal/dialsched"
	"github.com/devp2p-go/devp2p/rlpx"
)

// Bad input before and instead of the Hello: each gets its own reason.
func TestSetupBadHello(t *testing.T) {
	wrongKey := newTestKey(t)
	tests := []struct {
		name string
		send func(p *rawPeer) error
		want DiscReason
	}{
		{"garbage Hello", func(p *rawPeer) error { return p.send(helloMsg, []byte{0xf8, 0xff, 0x01, 0x02}) }, DiscProtocolError},
		{"Hello not a list", func(p *rawPeer) error { return p.send(helloMsg, []byte{0x83, 1, 2, 3}) }, DiscProtocolError},
		{"oversized Hello", func(p *rawPeer) error {
			return p.send(helloMsg, appendHello(nil, &hello{Version: 5, Name: string(make([]byte, 3000)), ID: p.key.Public()[:]}))
		}, DiscProtocolError},
		{"protocol message before Hello", func(p *rawPeer) error { return p.send(16, []byte{0xc0}) }, DiscProtocolError},
		{"Ping before Hello", func(p *rawPeer) error { return p.send(pingMsg, emptyList) }, DiscProtocolError},
		{"wrong identity", func(p *rawPeer) error {
			return p.send(helloMsg, appendHello(nil, &hello{Version: 5, Name: "x", ID: wrongKey.Public()[:]}))
		}, DiscUnexpectedIdentity},
		{"invalid identity", func(p *rawPeer) error {
			return p.send(helloMsg, appendHello(nil, &hello{Version: 5, Name: "x", ID: make([]byte, 33)}))
		}, DiscInvalidIdentity},
		{"no Hello at all", func(p *rawPeer) error { return nil }, DiscReadTimeout},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				pn := newPipeNet()
				n := startPipeServer(t, pn, "127.0.1.1", nil)
				p := mustDialRaw(t, pn, "127.0.2.1", n, newTestKey(t))
				p.startReader()
				if m := <-p.msgs; m.code != helloMsg {
					t.Fatalf("server sent %#x first", m.code)
				}
				start := time.Now()
				if err := tc.send(p); err != nil && tc.name != "oversized Hello" {
					// The oversized Hello is refused from its frame
					// header: the connection closes before it is read.
					t.Fatal(err)
				}
				p.expectDisconnect(tc.want)
				if _, ok := <-p.msgs; ok {
					t.Fatal("connection still open")
				}
				if tc.want == DiscReadTimeout && time.Since(start) != handshakeTimeout {
					t.Errorf("dropped after %v, want %v", time.Since(start), handshakeTimeout)
				}
				synctest.Wait()
				if n.PeerCount() != 0 {
					t.Fatal("peer added")
				}
			})
		})
	}
}

// A Hello larger than 2048 bytes is refused from its frame header, before
// the rest of the frame arrives, even when Config.MaxMessageSize is larger;
// after the Hello the configured limit applies.
func TestSetupHelloLimitFromHeader(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pn := newPipeNet()
		n := startPipeServer(t, pn, "127.0.1.1", nil) // MaxMessageSize: the rlpx maximum
		fd, err := pn.dial(context.Background(), mustAddr("127.0.2.1"), n.addr)
		if err != nil {
			t.Fatal(err)
		}
		cc := &captureConn{Conn: fd}
		key := newTestKey(t)
		p := &rawPeer{t: t, key: key, fd: fd, rc: newRawConn(cc, n)}
		t.Cleanup(p.close)
		if _, err := p.rc.Handshake(key); err != nil {
			t.Fatal(err)
		}
		p.startReader()
		// Encode a 1 MiB Hello, but send only the frame header, which
		// announces its size.
		cc.capture = true
		p.rc.WriteMsg(helloMsg, appendHello(nil, &hello{Version: 5, Name: string(make([]byte, 1<<20)), ID: key.Public()[:]}))
		cc.capture = false
		start := time.Now()
		if _, err := fd.Write(cc.buf[:32]); err != nil {
			t.Fatal(err)
		}
		if m := <-p.msgs; m.code != helloMsg {
			t.Fatalf("server sent %#x first", m.code)
		}
		p.expectDisconnect(DiscProtocolError)
		if d := time.Since(start); d != 0 {
			t.Fatalf("refused after %v", d)
		}

		// A Hello of exactly maxHelloSize bytes passes the limit; the next
		// message may be larger.
		q := mustDialRaw(t, pn, "127.0.2.2", n, newTestKey(t))
		h := &hello{Version: 5, ID: q.key.Public()[:]}
		for size := 0; len(appendHello(nil, h)) < maxHelloSize; size++ {
			h.Name = string(make([]byte, size))
		}
		if enc := appendHello(nil, h); len(enc) != maxHelloSize {
			t.Fatalf("Hello of %d bytes", len(enc))
		}
		if _, err := q.helloWith(h); err != nil {
			t.Fatal(err)
		}
		q.startReader()
		q.send(pongMsg, make([]byte, 10000))
		q.send(pingMsg, emptyList)
		if m, ok := q.next(); !ok || m.code != pongMsg {
			t.Fatalf("no Pong: %v", q.readErr)
		}
	})
}

// captureConn keeps what is written while capture is set instead of
// sending it.
type captureConn struct {
	net.Conn
	capture bool
	buf     []byte
}

func (c *captureConn) Write(b []byte) (int, error) {
	if c.capture {
		c.buf = append(c.buf, b...)
		return len(b), nil
	}
	return c.Conn.Write(b)
}

// A connection that sends nothing is closed after the handshake deadline,
// and so is one that sends a partial auth packet. Neither holds a pending
// slot longer.
func TestSetupSilentConnection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pn := newPipeNet()
		n := startPipeServer(t, pn, "127.0.1.1", nil)
		for _, partial := range [][]byte{nil, {0x01, 0x80, 0x04}} {
			fd, err := pn.dial(context.Background(), mustAddr("127.0.2.1"), n.addr)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			fd.Write(partial)
			if _, err := io.ReadAll(fd); err != nil {
				t.Fatal(err)
			}
			if d := time.Since(start); d != handshakeTimeout {
				t.Errorf("closed after %v", d)
			}
			fd.Close()
		}
	})
}

// A Disconnect received instead of the Hello, in both encodings, is the
// error of a dialed setup, recognisable with errors.As and classified for
// the dial scheduler's backoff.
func TestSetupRemoteDisconnectBeforeHello(t *testing.T) {
	for _, enc := range [][]byte{{0xc1, 0x04}, {0x04}} {
		t.Run(fmt.Sprintf("%x", enc), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				pn := newPipeNet()
				n := startPipeServer(t, pn, "127.0.1.1", nil)
				key := newTestKey(t)
				c1, c2 := net.Pipe()
				go func() {
					rc := rlpx.NewConn(c2, nil, nil)
					if _, err := rc.Handshake(key); err != nil {
						return
					}
					rc.WriteMsg(discMsg, enc)
					rc.ReadMsg() // their Hello
					c2.Close()
				}()
				dest := enode.NewV4(key.Public(), mustAddr("127.0.2.1"), 30303, 30303)
				err := n.setupDialed(c1, dest, false)
				var d DiscReason
				if !errors.As(err, &d) || d != DiscTooManyPeers {
					t.Fatalf("setup error %v", err)
				}
				var pe *PeerError
				if errors.As(err, &pe) {
					t.Fatal("remote reason looks like a local decision")
				}
				if c := classifyError(err); c != dialsched.ClassBusy {
					t.Fatalf("classified as %v", c)
				}
			})
		})
	}
}

// Dialing a node whose key differs from the one dialed fails in the
// encryption handshake.
func TestSetupDialWrongKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pn := newPipeNet()
		a := startPipeServer(t, pn, "127.0.1.1", nil)
		b := startPipeServer(t, pn, "127.0.1.2", nil)
		wrong := enode.NewV4(newTestKey(t).Public(), b.addr.Addr(), 30303, 30303)
		fd, err := pn.dial(context.Background(), a.addr.Addr(), b.addr)
		if err != nil {
			t.Fatal(err)
		}
		err = a.setupDialed(fd, wrong, true)
		if !errors.Is(err, errEncHandshake) {
			t.Fatalf("setup error %v", err)
		}
		if c := classifyError(err); c != dialsched.ClassConnect && c != dialsched.ClassHandshake {
			t.Fatalf("classified as %v", c)
		}
	})
}

func TestClassifyError(t *testing.T) {
	t.Parallel()
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	tests := []struct {
		err  error
		want dialsched.FailureClass
	}{
		{nil, dialsched.ClassNone},
		{ErrServerStopped, dialsched.ClassNone},
		{refused, dialsched.ClassConnect},
		{DiscTooManyPeers, dialsched.ClassBusy},
		{DiscAlreadyConnected, dialsched.ClassBusy},
		{&PeerError{Reason: DiscTooManyPeers, Msg: "checkpoint 1"}, dialsched.ClassBusy},
		{DiscUselessPeer, dialsched.ClassProtocol},
		{newPeerError(DiscProtocolError, "x"), dialsched.ClassProtocol},
		{DiscIncompatibleVersion, dialsched.ClassProtocol},
		{DiscSubprotocolError, dialsched.ClassProtocol},
		{DiscSelf, dialsched.ClassSelf},
		{DiscUnexpectedIdentity, dialsched.ClassHandshake},
		{DiscInvalidIdentity, dialsched.ClassHandshake},
		{fmt.Errorf("%w: %w", errEncHandshake, &rlpx.HandshakeError{Phase: "decrypt", Err: errors.New("bad")}), dialsched.ClassHandshake},
		{fmt.Errorf("%w: %w", errEncHandshake, &rlpx.HandshakeError{Phase: "read", Err: io.EOF}), dialsched.ClassConnect},
		{&PeerError{Reason: DiscNetworkError, Err: io.EOF}, dialsched.ClassConnect},
		{&PeerError{Reason: DiscReadTimeout}, dialsched.ClassConnect},
		{DiscQuitting, dialsched.ClassNone},
		{DiscRequested, dialsched.ClassNone},
	}
	for _, tc := range tests {
		if got := classifyError(tc.err); got != tc.want {
			t.Errorf("classifyError(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
