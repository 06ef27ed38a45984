package p2p

import (
	"errors"
	"sync"

	"github.com/devp2p-go/devp2p/enode"
)

// PeerEventType is the type of a PeerEvent.
type PeerEventType string

// Peer event types. The strings are go-ethereum's.
const (
	// PeerEventTypeAdd is emitted when a peer has been added to the server.
	PeerEventTypeAdd PeerEventType = "add"
	// PeerEventTypeDrop is emitted when a peer has been removed from the server.
	PeerEventTypeDrop PeerEventType = "drop"
	// PeerEventTypeMsgSend is emitted when a protocol message has been sent
	// (only with Config.EnableMsgEvents).
	PeerEventTypeMsgSend PeerEventType = "msgsend"
	// PeerEventTypeMsgRecv is emitted when a protocol message has been read
	// by its protocol (only with Config.EnableMsgEvents).
	PeerEventTypeMsgRecv PeerEventType = "msgrecv"
)

// PeerEvent describes a peer being added or dropped, or a message sent or
// received. The JSON form is go-ethereum's, plus the reason and requested
// fields of a drop and the connection's direction and class of add and drop
// events.
type PeerEvent struct {
	Type          PeerEventType `json:"type"`
	Peer          enode.ID      `json:"peer"`
	Error         string        `json:"error,omitempty"`
	Protocol      string        `json:"protocol,omitempty"`
	MsgCode       *uint64       `json:"msg_code,omitempty"`
	MsgSize       *uint32       `json:"msg_size,omitempty"`
	LocalAddress  string        `json:"local,omitempty"`
	RemoteAddress string        `json:"remote,omitempty"`

	// Reason is the disconnect reason of a drop: the one we sent, or the
	// one the remote sent when RemoteRequested is true.
	Reason *DiscReason `json:"reason,omitempty"`
	// RemoteRequested is true for a drop the remote asked for with
	// Disconnect.
	RemoteRequested bool `json:"remoteRequested,omitempty"`
	// Err is the error that ended the peer (drop events only).
	Err error `json:"-"`

	// The connection of an add or drop event: Inbound if the remote
	// dialed (else we did), Static or Dynamic for a connection we dialed
	// to a static node or to fill an outbound slot, Trusted if the remote
	// is trusted (at the time of the event). Message events leave them
	// false.
	Inbound bool `json:"inbound,omitempty"`
	Trusted bool `json:"trusted,omitempty"`
	Static  bool `json:"static,omitempty"`
	Dynamic bool `json:"dynamic,omitempty"`
}

// Direction returns "inbound" or "outbound" for an add or drop event.
func (ev *PeerEvent) Direction() string {
	if ev.Inbound {
		return "inbound"
	}
	return "outbound"
}

func (ev *PeerEvent) setFlags(f connFlag) {
	ev.Inbound = f.is(inboundConn)
	ev.Trusted = f.is(trustedConn)
	ev.Static = f.is(staticDialedConn)
	ev.Dynamic = f.is(dynDialedConn)
}

// ErrSubscriptionOverflow is sent on a subscription's error channel when
// its subscriber fell too far behind and was dropped.
var ErrSubscriptionOverflow = errors.New("p2p: event subscriber too slow, subscription dropped")

// maxPendingEvents is how many undelivered events a subscription may hold
// before it is dropped.
const maxPendingEvents = 4096

// Subscription is a stream of events to a channel. Unsubscribe stops it;
// Err delivers at most one error (ErrSubscriptionOverflow) and is closed when
// the subscription ends.
type Subscription interface {
	Unsubscribe()
	Err() <-chan error
}

// eventFeed delivers peer events to subscribers without ever blocking the
// sender: each subscription has a bounded queue drained by a goroutine of
// its own, which blocks on the subscriber's channel instead.
type eventFeed struct {
	mu     sync.Mutex // guards subs and closed
	subs   map[*eventSub]struct{}
	closed bool
	wg     sync.WaitGroup
}

type eventSub struct {
	feed *eventFeed
	ch   chan<- *PeerEvent

	mu       sync.Mutex   // guards following
	queue    []*PeerEvent // queue[head:] is undelivered
	head     int
	ended    bool
	overflow chan struct{} // closed when the queue overflowed
	wake     chan struct{} // cap 1
	quit     chan struct{}
	errc     chan error
	endOnce  sync.Once
}

// subscribe starts delivering events to ch.
func (f *eventFeed) subscribe(ch chan<- *PeerEvent) Subscription {
	s := &eventSub{
		feed:     f,
		ch:       ch,
		wake:     make(chan struct{}, 1),
		quit:     make(chan struct{}),
		overflow: make(chan struct{}),
		errc:     make(chan error, 1),
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		s.ended = true
		close(s.errc)
		close(s.quit)
		s.endOnce.Do(func() {})
		return s
	}
	if f.subs == nil {
		f.subs = make(map[*eventSub]struct{})
	}
	f.subs[s] = struct{}{}
	f.wg.Add(1)
	go s.deliver()
	return s
}

// hasSubscribers reports whether anyone listens, so callers can skip
// building events nobody reads.
func (f *eventFeed) hasSubscribers() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.subs) > 0
}

// send queues ev for every subscriber. It never blocks on a subscriber.
func (f *eventFeed) send(ev *PeerEvent) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for s := range f.subs {
		s.push(ev)
	}
}

// close ends all subscriptions and waits for their goroutines.
func (f *eventFeed) close() {
	f.mu.Lock()
	subs := f.subs
	f.subs, f.closed = nil, true
	f.mu.Unlock()
	for s := range subs {
		s.end(nil)
	}
	f.wg.Wait()
}

func (s *eventSub) push(ev *PeerEvent) {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return
	}
	if len(s.queue)-s.head >= maxPendingEvents {
		// The delivery goroutine ends the subscription: end takes feed.mu,
		// which our caller holds.
		s.ended, s.queue, s.head = true, nil, 0
		close(s.overflow)
	} else {
		s.queue = append(s.queue, ev)
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *eventSub) deliver() {
	defer s.feed.wg.Done()
	for {
		s.mu.Lock()
		if s.head < len(s.queue) {
			ev := s.queue[s.head]
			s.queue[s.head] = nil
			if s.head++; s.head == len(s.queue) {
				s.queue, s.head = s.queue[:0], 0
			}
			s.mu.Unlock()
			select {
			case s.ch <- ev:
				continue
			case <-s.overflow:
				s.end(ErrSubscriptionOverflow)
				return
			case <-s.quit:
				return
			}
		}
		s.mu.Unlock()
		select {
		case <-s.wake:
		case <-s.overflow:
			s.end(ErrSubscriptionOverflow)
			return
		case <-s.quit:
			return
		}
	}
}

// end stops the subscription, sending err on its error channel if not nil.
func (s *eventSub) end(err error) {
	s.endOnce.Do(func() {
		s.mu.Lock()
		s.ended = true
		s.queue, s.head = nil, 0
		s.mu.Unlock()
		s.feed.mu.Lock()
		delete(s.feed.subs, s)
		s.feed.mu.Unlock()
		if err != nil {
			s.errc <- err
		}
		close(s.errc)
		close(s.quit)
	})
}

// Unsubscribe stops the delivery of events. Events not yet delivered are lost.
func (s *eventSub) Unsubscribe() { s.end(nil) }

// Err returns the subscription's error channel.
func (s *eventSub) Err() <-chan error { return s.errc }
