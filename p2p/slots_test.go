package p2p

import (
	"net"
	"testing"
	"testing/synctest"
	"time"

	"github.com/devp2p-go/devp2p/internal/mclock"
)

// A setup waiting for a handshake slot closes one stalled setup (waiting
// for its Hello longer than helloAge) per waiting setup, no more: the
// others may be peers on slow links.
func TestPendingSlotsCloseStalledHello(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newPendingSlots(mclock.System{}, 3, 5*time.Second) // helloAge 1 s
		quit := make(chan struct{})
		defer close(quit)
		conn := func() net.Conn {
			a, b := net.Pipe()
			t.Cleanup(func() { a.Close(); b.Close() })
			return a
		}
		// Three setups hold the handshake slots and wait for their Hello.
		var stalled []net.Conn
		for range 3 {
			fd := conn()
			if !s.takeWaiting(fd, quit) || !s.authReceived(fd, quit) {
				t.Fatal("no slot")
			}
			s.awaitHello(fd)
			stalled = append(stalled, fd)
		}
		// Their setups end (returning the slot) when their connection is
		// closed, as setupConn's reads fail.
		for _, fd := range stalled {
			go func() {
				fd.Read(make([]byte, 1))
				s.setupEnded(fd)
			}()
		}
		time.Sleep(2 * time.Second)
		newcomer := conn()
		if !s.takeWaiting(newcomer, quit) {
			t.Fatal("no waiting slot")
		}
		done := make(chan bool)
		go func() { done <- s.authReceived(newcomer, quit) }()
		if !<-done {
			t.Fatal("newcomer got no handshake slot")
		}
		synctest.Wait()
		if w, h := s.closed(); w != 0 || h != 1 {
			t.Fatalf("closed %d waiting, %d stalled before Hello; want 0, 1", w, h)
		}
	})
}
