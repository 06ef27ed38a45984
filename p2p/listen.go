package p2p

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/devp2p-go/devp2p/internal/mclock"
	"github.com/devp2p-go/devp2p/netutil"
)

// Accept loop timings (go-ethereum's).
const (
	acceptRetryDelay   = 200 * time.Millisecond // sleep after a temporary accept error
	acceptErrorLogRate = time.Second            // at most one such log per second
)

// A full server closes new connections before the encryption handshake,
// so a flood costs it next to nothing. A few of them, at most
// courtesyBurst at once and one per courtesyInterval on average, get the
// handshake anyway and are refused at checkpoint 1 with DiscTooManyPeers,
// so that well-behaved dialers learn the reason and back off accordingly.
const (
	courtesyBurst    = 4
	courtesyInterval = 250 * time.Millisecond
)

// listenLoop accepts inbound connections. It takes a pending slot before
// Accept, so that with all slots in use new connections wait in the
// kernel's backlog instead of costing anything here, and it decides on each
// connection from its IP before any cryptography (checkInbound). When it
// returns, every setup it started has ended.
func (srv *Server) listenLoop() {
	defer srv.loopWG.Done()
	slots := make(chan struct{}, srv.cfg.MaxPendingPeers)
	for range cap(slots) {
		slots <- struct{}{}
	}
	defer func() {
		for range cap(slots) {
			<-slots
		}
	}()

	var lastLog time.Time
	for {
		select {
		case <-slots:
		case <-srv.quit:
			return
		}
		fd, err := srv.listener.Accept()
		if err != nil {
			slots <- struct{}{}
			if netutil.IsTemporaryError(err) && !errors.Is(err, net.ErrClosed) {
				if time.Since(lastLog) > acceptErrorLogRate {
					srv.log.Debug("Temporary accept error", "err", err)
					lastLog = time.Now()
				}
				select {
				case <-time.After(acceptRetryDelay):
					continue
				case <-srv.quit:
					return
				}
			}
			select {
			case <-srv.quit:
			default:
				srv.log.Error("Accept failed, no longer listening", "err", err)
			}
			return
		}
		srv.lastInboundConn.Store(time.Now().UnixNano())
		ip := netutil.AddrFromNetAddr(fd.RemoteAddr())
		if err := srv.inbound.admit(ip, srv.admitArgs(ip)); err != nil {
			srv.log.Log(srv.ctx, LevelTrace, "Rejected inbound connection", "addr", fd.RemoteAddr(), "err", err)
			fd.Close()
			slots <- struct{}{}
			continue
		}
		go func() {
			srv.setupEnded(srv.setupConn(fd, inboundConn, nil))
			srv.inbound.release(ip)
			slots <- struct{}{}
		}()
	}
}

// admitArgs fills the parts of an inboundCheck that come from the server.
func (srv *Server) admitArgs(ip netip.Addr) inboundCheck {
	return inboundCheck{
		ip:              ip,
		netRestrict:     srv.cfg.NetRestrict,
		maxPendingPerIP: srv.cfg.maxPendingPerIP,
		snap:            srv.snapshot.Load(),
		limits:          srv.limits,
	}
}

// inboundState is the listener's memory of source IPs: when each was last
// accepted (for the throttle) and how many of its handshakes are in flight.
type inboundState struct {
	clock    mclock.Clock
	throttle time.Duration

	mu       sync.Mutex // guards following
	seen     map[netip.Addr]mclock.AbsTime
	pending  map[netip.Addr]int
	pruned   mclock.AbsTime
	courtesy tokenBucket
}

// tokenBucket is a token bucket that fills at one token per interval up
// to burst tokens. The zero value starts full on first use.
type tokenBucket struct {
	tokens  int
	last    mclock.AbsTime
	started bool
}

// take takes a token if there is one.
func (b *tokenBucket) take(now mclock.AbsTime, burst int, interval time.Duration) bool {
	if !b.started {
		b.tokens, b.last, b.started = burst, now, true
	}
	if n := int(now.Sub(b.last) / interval); n > 0 {
		b.tokens = min(b.tokens+n, burst)
		b.last = b.last.Add(time.Duration(n) * interval)
	}
	if b.tokens == burst {
		b.last = now
	}
	if b.tokens == 0 {
		return false
	}
	b.tokens--
	return true
}

func newInboundState(clock mclock.Clock, throttle time.Duration) *inboundState {
	return &inboundState{
		clock:    clock,
		throttle: throttle,
		seen:     make(map[netip.Addr]mclock.AbsTime),
		pending:  make(map[netip.Addr]int),
	}
}

// admit runs checkInbound for ip and, if it passes, records the attempt.
// A connection refused only for lack of a slot may still be admitted for
// a courtesy refusal after the handshake, within the courtesy budget.
func (s *inboundState) admit(ip netip.Addr, a inboundCheck) error {
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !ip.IsValid() {
		return s.courtesyLocked(checkInbound(a), now)
	}
	s.pruneLocked(now)
	last, ok := s.seen[ip]
	a.recentlySeen = ok && now.Sub(last) < s.throttle
	a.pendingFromIP = s.pending[ip]
	if err := s.courtesyLocked(checkInbound(a), now); err != nil {
		return err
	}
	if !netutil.IsLAN(ip) {
		s.seen[ip] = now
	}
	s.pending[ip]++
	return nil
}

func (s *inboundState) courtesyLocked(err error, now mclock.AbsTime) error {
	if err == errNoInboundSlot && s.courtesy.take(now, courtesyBurst, courtesyInterval) {
		return nil
	}
	return err
}

// release ends a handshake admitted for ip.
func (s *inboundState) release(ip netip.Addr) {
	if !ip.IsValid() {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending[ip] <= 1 {
		delete(s.pending, ip)
	} else {
		s.pending[ip]--
	}
}

// pruneLocked forgets throttle entries that expired, at most once per
// throttle period.
func (s *inboundState) pruneLocked(now mclock.AbsTime) {
	if now.Sub(s.pruned) < s.throttle {
		return
	}
	s.pruned = now
	for ip, t := range s.seen {
		if now.Sub(t) >= s.throttle {
			delete(s.seen, ip)
		}
	}
}
