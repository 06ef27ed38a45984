package p2p

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/devp2p-go/devp2p/netutil"
)

// A non-LAN address may not connect again within 30 s of an accepted
// connection; LAN addresses are exempt.
func TestListenInboundThrottle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pn := newPipeNet()
		n := startPipeServer(t, pn, "127.0.1.1", nil)
		const public = "198.51.100.1" // TEST-NET-2: in memory only
		p := mustDialRaw(t, pn, public, n, newTestKey(t))
		p.close()
		if _, err := dialRaw(t, pn, public, n, newTestKey(t)); err == nil {
			t.Fatal("second connection within the throttle time got through")
		}
		time.Sleep(inboundThrottleTime)
		mustDialRaw(t, pn, public, n, newTestKey(t)).close()
		for range 3 {
			mustDialRaw(t, pn, "127.0.2.1", n, newTestKey(t)).close()
		}
	})
}

func TestListenNetRestrict(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pn := newPipeNet()
		n := startPipeServer(t, pn, "127.0.1.1", func(c *Config) { c.NetRestrict = netutil.MustParseNetlist("127.0.2.0/24") })
		mustDialRaw(t, pn, "127.0.2.1", n, newTestKey(t))
		if _, err := dialRaw(t, pn, "127.0.3.1", n, newTestKey(t)); err == nil {
			t.Fatal("connection from outside NetRestrict got through")
		}
	})
}

// One address holds at most four handshakes in flight; others are not
// affected, and the address gets its slots back when its handshakes end.
func TestListenPendingPerIP(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pn := newPipeNet()
		n := startPipeServer(t, pn, "127.0.1.1", func(c *Config) { c.MaxPendingPeers = 6 })
		var idle []net.Conn
		for range defaultMaxPendingPerIP {
			fd, err := pn.dial(context.Background(), mustAddr("127.0.2.1"), n.addr)
			if err != nil {
				t.Fatal(err)
			}
			idle = append(idle, fd)
		}
		synctest.Wait()
		// The fifth is closed at once, without a byte.
		fd, _ := pn.dial(context.Background(), mustAddr("127.0.2.1"), n.addr)
		start := time.Now()
		if b, _ := io.ReadAll(fd); len(b) != 0 || time.Since(start) != 0 {
			t.Fatalf("fifth connection: %d bytes after %v", len(b), time.Since(start))
		}
		// Another address gets in.
		mustDialRaw(t, pn, "127.0.2.2", n, newTestKey(t))
		// The idle ones time out, freeing the address.
		time.Sleep(handshakeTimeout)
		synctest.Wait()
		for _, fd := range idle {
			fd.Close()
		}
		mustDialRaw(t, pn, "127.0.2.1", n, newTestKey(t))
	})
}

// With all pending slots taken, new connections wait in the backlog and
// are served when a slot frees.
func TestListenPendingSlots(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pn := newPipeNet()
		n := startPipeServer(t, pn, "127.0.1.1", func(c *Config) { c.MaxPendingPeers = 2 })
		// Connections that never send their auth packet take every
		// waiting slot.
		silent := waitingSlotsFactor * 2
		for i := range silent {
			fd, err := pn.dial(context.Background(), mustAddr(fmt.Sprintf("127.0.2.%d", 10+i)), n.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer fd.Close()
		}
		synctest.Wait()
		// The one that waited longest gives way to a new connection at
		// once, which then takes a free handshake slot.
		start := time.Now()
		mustDialRaw(t, pn, "127.0.3.1", n, newTestKey(t))
		if d := time.Since(start); d != 0 {
			t.Fatalf("new connection served after %v, want at once", d)
		}
		if st := n.Stats().Listener; st.StalledClosed != 1 || st.StalledHello != 0 {
			t.Fatalf("stalled setups closed: %d (waiting for Hello: %d), want 1 (0)", st.StalledClosed, st.StalledHello)
		}
	})
}

// Temporary accept errors are retried after a short sleep.
func TestListenTemporaryAcceptError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pn := newPipeNet()
		var fails atomic.Int32
		n := startPipeServer(t, pn, "127.0.1.1", func(c *Config) {
			c.listenFunc = func(network, addr string) (net.Listener, error) {
				l, err := pn.listen(network, addr)
				fails.Store(5)
				return &flakyListener{Listener: l, fails: &fails}, err
			}
		})
		start := time.Now()
		mustDialRaw(t, pn, "127.0.2.1", n, newTestKey(t))
		if d := time.Since(start); d != 5*acceptRetryDelay {
			t.Fatalf("accepted after %v", d)
		}
	})
}

type flakyListener struct {
	net.Listener
	fails *atomic.Int32
}

func (l *flakyListener) Accept() (net.Conn, error) {
	if l.fails.Add(-1) >= 0 {
		return nil, tempError{}
	}
	return l.Listener.Accept()
}

type tempError struct{}

func (tempError) Error() string   { return "temporary" }
func (tempError) Timeout() bool   { return false }
func (tempError) Temporary() bool { return true }
