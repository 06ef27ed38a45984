package discover

import (
	"errors"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/devp2p-go/devp2p/discover/v4wire"
	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/internal/mclock"
)

// Errors of requests.
var (
	errTimeout       = errors.New("discover: RPC timeout")
	errClosed        = errors.New("discover: socket closed")
	errNoUDPEndpoint = errors.New("discover: node has no UDP endpoint")
)

// replyKey selects the requests a reply may answer: the sender's ID and the
// reply's packet type. The sender's IP is checked per request.
type replyKey struct {
	id    enode.ID
	ptype byte
}

// replyMatchFunc is called for each reply from the right node and of the
// right type. matched reports whether the reply belongs to the request;
// done whether the request is complete. It runs with the replies lock held
// and must not call into the transport; the packet is valid only during the
// call.
type replyMatchFunc func(p v4wire.Packet) (matched, done bool)

type ipTypeKey struct {
	ip    netip.Addr
	ptype byte
}

// pendingReply is a request waiting for its reply.
type pendingReply struct {
	key    replyKey
	ip     netip.Addr
	match  replyMatchFunc
	onDone func(err error) // optional; runs without the lock held
	errc   chan error      // receives the outcome once: nil, errTimeout or errClosed
	timer  mclock.Timer

	// Guarded by the replies lock until errc has received a value.
	gotReply bool // a reply matched
	finished bool // removed from the table
}

// replies matches inbound replies to pending requests. Each request has a
// timer on the injected clock; with a simulated clock, timeouts fire (and
// errc receives errTimeout) inside the clock's Run, so tests are
// deterministic. Requests are indexed by sender and type, so matching a
// reply costs O(requests to that node), not O(all requests) as in
// go-ethereum's list.
type replies struct {
	clock mclock.Clock
	ctr   *counters
	log   *slog.Logger

	mu                  sync.Mutex // guards following
	m                   map[replyKey][]*pendingReply
	byIP                map[ipTypeKey]int // number of pending requests per IP and reply type
	closed              bool
	consecutiveTimeouts int
	lastTimeoutWarn     mclock.AbsTime
	warned              bool // lastTimeoutWarn is set
}

func newReplies(clock mclock.Clock, ctr *counters, log *slog.Logger) *replies {
	return &replies{
		clock: clock, ctr: ctr, log: log,
		m:    make(map[replyKey][]*pendingReply),
		byIP: make(map[ipTypeKey]int),
	}
}

// add registers a request for a reply of type ptype from node id at ip,
// failing with errTimeout after timeout. onDone, if not nil, is called with
// the outcome (in addition to errc receiving it).
func (r *replies) add(id enode.ID, ip netip.Addr, ptype byte, timeout time.Duration, match replyMatchFunc, onDone func(error)) *pendingReply {
	p := &pendingReply{key: replyKey{id, ptype}, ip: ip.Unmap(), match: match, onDone: onDone, errc: make(chan error, 1)}
	r.mu.Lock()
	if r.closed {
		p.finished = true
		r.mu.Unlock()
		p.complete(errClosed)
		return p
	}
	r.m[p.key] = append(r.m[p.key], p)
	r.byIP[ipTypeKey{p.ip, ptype}]++
	p.timer = r.clock.AfterFunc(timeout, func() { r.expire(p) })
	r.mu.Unlock()
	return p
}

func (p *pendingReply) complete(err error) {
	p.errc <- err
	if p.onDone != nil {
		p.onDone(err)
	}
}

// removeLocked takes p out of the table.
func (r *replies) removeLocked(p *pendingReply) {
	p.finished = true
	if p.timer != nil {
		p.timer.Stop()
	}
	k := ipTypeKey{p.ip, p.key.ptype}
	if r.byIP[k] <= 1 {
		delete(r.byIP, k)
	} else {
		r.byIP[k]--
	}
	list := r.m[p.key]
	if i := slices.Index(list, p); i >= 0 {
		list = slices.Delete(list, i, i+1)
	}
	if len(list) == 0 {
		delete(r.m, p.key)
	} else {
		r.m[p.key] = list
	}
}

// cancel abandons a request; its errc receives nothing.
func (r *replies) cancel(p *pendingReply) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !p.finished {
		r.removeLocked(p)
	}
}

func (r *replies) expire(p *pendingReply) {
	r.mu.Lock()
	if p.finished {
		r.mu.Unlock()
		return
	}
	r.removeLocked(p)
	if !p.gotReply {
		r.ctr.timeouts.Add(1)
		r.consecutiveTimeouts++
		if r.consecutiveTimeouts >= consecutiveTimeoutsWarn {
			r.consecutiveTimeouts = 0
			now := r.clock.Now()
			if !r.warned || now.Sub(r.lastTimeoutWarn) >= timeoutWarnCooldown {
				r.lastTimeoutWarn, r.warned = now, true
				r.log.Warn("Many discovery requests timed out; check the system clock, the network and the firewall", "count", consecutiveTimeoutsWarn)
			}
		}
	}
	r.mu.Unlock()
	p.complete(errTimeout)
}

// expecting reports whether any request waits for a reply of type ptype
// from ip. It lets the read loop drop unsolicited replies before recovering
// their sender's key.
func (r *replies) expecting(ip netip.Addr, ptype byte) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.byIP[ipTypeKey{ip, ptype}] > 0
}

// handle offers a reply from node id at ip to the matching requests and
// reports whether any of them accepted it.
func (r *replies) handle(id enode.ID, ip netip.Addr, pkt v4wire.Packet) (matched bool) {
	var done []*pendingReply
	r.mu.Lock()
	for _, p := range r.m[replyKey{id, pkt.Kind()}] {
		if p.ip != ip {
			continue
		}
		ok, complete := p.match(pkt)
		if !ok {
			continue
		}
		matched, p.gotReply = true, true
		if complete {
			done = append(done, p)
		}
	}
	for _, p := range done {
		r.removeLocked(p)
	}
	if matched {
		r.consecutiveTimeouts = 0
	}
	r.mu.Unlock()
	for _, p := range done {
		p.complete(nil)
	}
	return matched
}

// close fails all pending requests with errClosed; later ones fail at once.
func (r *replies) close() {
	r.mu.Lock()
	r.closed = true
	var all []*pendingReply
	for _, list := range r.m {
		all = append(all, list...)
	}
	for _, p := range all {
		r.removeLocked(p)
	}
	r.mu.Unlock()
	for _, p := range all {
		p.complete(errClosed)
	}
}
