package p2p

import (
	"net"
	"slices"
	"sync"
	"time"

	"github.com/devp2p-go/devp2p/internal/mclock"
)

// Pending slots of inbound connections, in two tiers.
//
// An accepted connection first holds a waiting slot, until the remote's
// auth packet has arrived. Waiting costs us a socket and a goroutine
// blocked in a read, so there are many of these (waitingSlotsFactor ×
// MaxPendingPeers). With all of them taken, the connection that has waited
// longest gives way to the new one at once: a client that connects and
// sends nothing can keep a legitimate peer out only by opening more
// connections than there are waiting slots within that peer's round trip
// (400 within 200 ms is 2000 connections a second), and nothing it opens
// waits in the kernel's accept queue in front of new peers for long.
//
// When the auth packet has arrived (and passed the replay filter), the
// setup trades its waiting slot for one of the MaxPendingPeers handshake
// slots, which bound the connections in cryptography and in the Hello
// exchange at once. With all handshake slots taken, a setup waiting for its
// remote's Hello gives way once it has waited stalledHelloAge; otherwise
// the new setup waits for a slot (within its setup deadline). Clients that
// complete the encryption handshake and then stall therefore hold a slot
// for stalledHelloAge at most, not for the whole setup deadline, and each
// such slot costs them a handshake.

// waitingSlotsFactor times MaxPendingPeers is the number of waiting slots.
const waitingSlotsFactor = 8

// maxStalledHelloAge caps how long a setup waiting for the remote's Hello
// keeps its handshake slot when others need one.
const maxStalledHelloAge = time.Second

// pendingSlots holds the two tiers of slots. It is safe for concurrent use.
type pendingSlots struct {
	clock    mclock.Clock
	helloAge time.Duration
	waiting  chan struct{} // tokens of waiting slots
	shaking  chan struct{} // tokens of handshake slots

	mu        sync.Mutex
	held      map[net.Conn]slotState
	waitQueue []net.Conn        // connections holding a waiting slot, oldest first
	helloWait []awaitingHello   // setups waiting for the remote's Hello, oldest first
	closedW   uint64            // waiting connections closed for a new one
	closedH   uint64            // setups waiting for Hello closed for a new one
	shakeWait int               // setups in authReceived waiting for a handshake slot
	closing   map[net.Conn]bool // closed for a new setup, slot not yet returned
}

type slotState uint8

const (
	holdsWaiting slotState = 1 << iota
	holdsHandshake
)

type awaitingHello struct {
	fd    net.Conn
	since mclock.AbsTime
}

func newPendingSlots(clock mclock.Clock, maxPending int, handshakeTO time.Duration) *pendingSlots {
	s := &pendingSlots{
		clock:    clock,
		helloAge: min(handshakeTO/5, maxStalledHelloAge),
		waiting:  make(chan struct{}, waitingSlotsFactor*maxPending),
		shaking:  make(chan struct{}, maxPending),
		held:     make(map[net.Conn]slotState),
		closing:  make(map[net.Conn]bool),
	}
	for range cap(s.waiting) {
		s.waiting <- struct{}{}
	}
	for range cap(s.shaking) {
		s.shaking <- struct{}{}
	}
	return s
}

// takeWaiting takes a waiting slot for the accepted connection fd, closing
// the connection that has waited longest if none is free. It returns false
// if quit is closed first.
func (s *pendingSlots) takeWaiting(fd net.Conn, quit <-chan struct{}) bool {
	select {
	case <-s.waiting:
	default:
		s.mu.Lock()
		var oldest net.Conn
		if len(s.waitQueue) > 0 {
			oldest = s.waitQueue[0]
			s.waitQueue = s.waitQueue[1:]
			s.closedW++
		}
		s.mu.Unlock()
		if oldest != nil {
			// Its setup ends and returns the slot (setupEnded).
			oldest.Close()
		}
		select {
		case <-s.waiting:
		case <-quit:
			return false
		}
	}
	s.mu.Lock()
	s.held[fd] |= holdsWaiting
	s.waitQueue = append(s.waitQueue, fd)
	s.mu.Unlock()
	return true
}

// authReceived trades fd's waiting slot for a handshake slot. With none
// free, a setup that has waited stalledHelloAge for its remote's Hello is
// closed to make room; otherwise it waits. It returns false if quit is
// closed first, or fd's own setup deadline makes waiting pointless (the
// caller then fails the setup).
func (s *pendingSlots) authReceived(fd net.Conn, quit <-chan struct{}) bool {
	s.mu.Lock()
	if s.held[fd]&holdsWaiting != 0 {
		s.held[fd] &^= holdsWaiting
		s.removeLocked(&s.waitQueue, fd)
		s.waiting <- struct{}{}
	}
	s.shakeWait++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.shakeWait--
		s.mu.Unlock()
	}()
	for {
		select {
		case <-s.shaking:
			s.mu.Lock()
			s.held[fd] |= holdsHandshake
			s.mu.Unlock()
			return true
		default:
		}
		// Look again when the oldest setup waiting for its Hello will have
		// waited helloAge, or after helloAge if none waits now: the
		// slots freed by a close may go to other waiting setups, and the
		// holders of all slots may reach the Hello wait later.
		wait := s.closeStalledHello()
		if wait <= 0 {
			wait = s.helloAge
		}
		timer := s.clock.NewTimer(wait)
		retry := timer.C()
		select {
		case <-s.shaking:
			stopTimer(timer)
			s.mu.Lock()
			s.held[fd] |= holdsHandshake
			s.mu.Unlock()
			return true
		case <-retry:
		case <-quit:
			stopTimer(timer)
			return false
		}
	}
}

// closeStalledHello closes the setups that have waited helloAge or more
// for their remote's Hello, oldest first, one for each setup waiting for a
// handshake slot (the caller among them): closing one at a time would let
// the others take each freed slot in turn, closing more would cut off
// slow peers for nobody. If there is none to close, it returns how long
// until the oldest will have waited helloAge, or 0 if no setup waits for
// a Hello.
func (s *pendingSlots) closeStalledHello() (retry time.Duration) {
	now := s.clock.Now()
	s.mu.Lock()
	// Setups closed earlier return their slots soon: count them as
	// freed already.
	need := max(s.shakeWait-len(s.closing), 1)
	n := 0
	for n < len(s.helloWait) && n < need && now.Sub(s.helloWait[n].since) >= s.helloAge {
		n++
	}
	if n == 0 {
		defer s.mu.Unlock()
		if len(s.helloWait) == 0 {
			return 0
		}
		return s.helloAge - now.Sub(s.helloWait[0].since)
	}
	stalled := slices.Clone(s.helloWait[:n])
	s.helloWait = slices.Delete(s.helloWait, 0, n)
	s.closedH += uint64(n)
	for _, a := range stalled {
		s.closing[a.fd] = true
	}
	s.mu.Unlock()
	for _, a := range stalled {
		a.fd.Close() // its setup ends and returns its slot
	}
	return 0
}

// awaitHello records that fd's setup waits for the remote's Hello.
func (s *pendingSlots) awaitHello(fd net.Conn) {
	now := s.clock.Now()
	s.mu.Lock()
	s.helloWait = append(s.helloWait, awaitingHello{fd, now})
	s.mu.Unlock()
}

// helloDone records that fd's setup no longer waits for the Hello.
func (s *pendingSlots) helloDone(fd net.Conn) {
	s.mu.Lock()
	for i, a := range s.helloWait {
		if a.fd == fd {
			s.helloWait = append(s.helloWait[:i], s.helloWait[i+1:]...)
			break
		}
	}
	s.mu.Unlock()
}

// setupEnded returns the slots fd's setup holds.
func (s *pendingSlots) setupEnded(fd net.Conn) {
	s.mu.Lock()
	st := s.held[fd]
	delete(s.held, fd)
	delete(s.closing, fd)
	if st&holdsWaiting != 0 {
		s.removeLocked(&s.waitQueue, fd)
	}
	for i, a := range s.helloWait {
		if a.fd == fd {
			s.helloWait = append(s.helloWait[:i], s.helloWait[i+1:]...)
			break
		}
	}
	s.mu.Unlock()
	if st&holdsWaiting != 0 {
		s.waiting <- struct{}{}
	}
	if st&holdsHandshake != 0 {
		s.shaking <- struct{}{}
	}
}

func (s *pendingSlots) removeLocked(q *[]net.Conn, fd net.Conn) {
	for i, c := range *q {
		if c == fd {
			*q = append((*q)[:i], (*q)[i+1:]...)
			return
		}
	}
}

// drain waits until every slot has been returned.
func (s *pendingSlots) drain() {
	for range cap(s.waiting) {
		<-s.waiting
	}
	for range cap(s.shaking) {
		<-s.shaking
	}
}

// closed returns the counts of connections closed to make room: waiting
// for their auth packet, and waiting for their Hello.
func (s *pendingSlots) closed() (waiting, hello uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closedW, s.closedH
}

func stopTimer(t mclock.ChanTimer) {
	if t != nil {
		t.Stop()
	}
}
