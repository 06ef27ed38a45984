package p2p

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
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

// listenLoop accepts inbound connections. It decides on each connection
// from its IP before any cryptography (checkInbound), counting what it
// refuses (inboundState.stats), and holds the accepted ones to the two
// tiers of pending slots (see slots.go). When it returns, every setup it
// started has ended.
func (srv *Server) listenLoop() {
	defer srv.loopWG.Done()
	slots := srv.pendingSlots
	defer slots.drain()

	var lastLog time.Time
	for {
		fd, err := srv.listener.Accept()
		if err != nil {
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
		a := srv.admitArgs(netutil.AddrFromNetAddr(fd.RemoteAddr()))
		if err := srv.inbound.admit(a); err != nil {
			srv.log.Log(srv.ctx, LevelTrace, "Rejected inbound connection", "addr", fd.RemoteAddr(), "err", err)
			fd.Close()
			continue
		}
		if !slots.takeWaiting(fd, srv.quit) {
			fd.Close()
			srv.inbound.release(a.ip, a.subnet)
			return
		}
		go func() {
			srv.setupConn(fd, inboundConn, nil)
			slots.setupEnded(fd)
			srv.inbound.release(a.ip, a.subnet)
		}()
	}
}

// admitArgs fills the parts of an inboundCheck that come from the server.
func (srv *Server) admitArgs(ip netip.Addr) inboundCheck {
	ip = ip.Unmap()
	l := &srv.cfg.Limits
	subnet, _ := l.subnet(ip)
	return inboundCheck{
		ip:                  ip,
		netRestrict:         srv.cfg.NetRestrict,
		banned:              srv.bans.ipBanned(ip),
		trustedOnly:         l.TrustedOnly,
		maxPendingPerIP:     srv.cfg.maxPendingPerIP,
		subnet:              subnet,
		maxPendingPerSubnet: l.MaxPendingPerSubnet,
		maxInboundPerSubnet: l.MaxInboundPerSubnet,
		group:               l.group(ip),
		evictOn:             l.evictOn(),
		snap:                srv.snapshot.Load(),
		limits:              srv.limits,
	}
}

// inboundState is the listener's memory of source IPs and subnets: when
// each IP was last accepted (for the throttle) and how many handshakes
// are in flight from each IP and subnet. It also counts what the listener
// refused, by reason.
type inboundState struct {
	clock    mclock.Clock
	throttle time.Duration

	mu            sync.Mutex // guards following
	seen          map[netip.Addr]mclock.AbsTime
	pending       map[netip.Addr]int
	pendingSubnet map[netip.Prefix]int
	pruned        mclock.AbsTime
	courtesy      tokenBucket
	evict         tokenBucket
	rejected      [len(inboundRejections)]uint64
	courtesyTaken uint64 // connections let through for a courtesy refusal
	evictTaken    uint64 // connections let through for a possible eviction

	evicted atomic.Uint64 // inbound peers evicted, counted by the run loop
}

// listenStats are the listener's counters.
type listenStats struct {
	// Rejected counts the connections closed before any cryptography, by
	// reason (the checkInbound errors' texts).
	Rejected map[string]uint64
	// Courtesy counts the connections of a full server given the handshake
	// for a courtesy refusal; EvictTries those given it because a peer
	// could be evicted for them; Evicted the inbound peers evicted.
	Courtesy, EvictTries, Evicted uint64
}

// stats returns the listener's counters.
func (s *inboundState) stats() listenStats {
	st := listenStats{Rejected: make(map[string]uint64, len(inboundRejections))}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, n := range s.rejected {
		if n > 0 {
			st.Rejected[inboundRejections[i].Error()] = n
		}
	}
	st.Courtesy, st.EvictTries, st.Evicted = s.courtesyTaken, s.evictTaken, s.evicted.Load()
	return st
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
	b.refill(now, burst, interval)
	if b.tokens == 0 {
		return false
	}
	b.tokens--
	return true
}

// has reports whether there is a token, without taking it.
func (b *tokenBucket) has(now mclock.AbsTime, burst int, interval time.Duration) bool {
	b.refill(now, burst, interval)
	return b.tokens > 0
}

func (b *tokenBucket) refill(now mclock.AbsTime, burst int, interval time.Duration) {
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
}

func newInboundState(clock mclock.Clock, throttle time.Duration) *inboundState {
	return &inboundState{
		clock:         clock,
		throttle:      throttle,
		seen:          make(map[netip.Addr]mclock.AbsTime),
		pending:       make(map[netip.Addr]int),
		pendingSubnet: make(map[netip.Prefix]int),
	}
}

// admit runs checkInbound for a.ip and, if it passes, records the attempt.
// A connection refused only for lack of a slot may still go on to the
// handshakes: within the eviction budget if a peer could be evicted for it
// (mayEvict), else within the courtesy budget, for a refusal with a reason
// at checkpoint 1.
func (s *inboundState) admit(a inboundCheck) error {
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	ip := a.ip
	if ip.IsValid() {
		s.pruneLocked(now)
		last, ok := s.seen[ip]
		a.recentlySeen = ok && now.Sub(last) < s.throttle
		a.pendingFromIP = s.pending[ip]
		if a.subnet.IsValid() {
			a.pendingFromSubnet = s.pendingSubnet[a.subnet]
		}
	}
	if err := s.slotRefusalLocked(checkInbound(a), a, now); err != nil {
		for i, e := range inboundRejections {
			if e == err {
				s.rejected[i]++
			}
		}
		return err
	}
	if !ip.IsValid() {
		return nil
	}
	if !netutil.IsLAN(ip) {
		s.seen[ip] = now
	}
	s.pending[ip]++
	if a.subnet.IsValid() {
		s.pendingSubnet[a.subnet]++
	}
	return nil
}

func (s *inboundState) slotRefusalLocked(err error, a inboundCheck, now mclock.AbsTime) error {
	if err != errNoInboundSlot {
		return err
	}
	if mayEvict(a) && s.evict.take(now, evictBurst, evictInterval) {
		s.evictTaken++
		return nil
	}
	if s.courtesy.take(now, courtesyBurst, courtesyInterval) {
		s.courtesyTaken++
		return nil
	}
	return err
}

// release ends a handshake admitted for ip, of subnet (invalid if exempt).
func (s *inboundState) release(ip netip.Addr, subnet netip.Prefix) {
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
	if !subnet.IsValid() {
		return
	}
	if s.pendingSubnet[subnet] <= 1 {
		delete(s.pendingSubnet, subnet)
	} else {
		s.pendingSubnet[subnet]--
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
