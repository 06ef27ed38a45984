package netutil

import (
	"net/netip"
	"time"

	"github.com/devp2p-go/devp2p/internal/mclock"
)

// IPTracker predicts the external endpoint (IP address and port) of the local
// host from statements made by other hosts, such as the "to" endpoint of
// discovery pings and pongs. Each host's latest statement counts once, and
// statements expire after a window.
//
// An IPTracker is not safe for concurrent use.
type IPTracker struct {
	window          time.Duration
	contactWindow   time.Duration
	minStatements   int
	clock           mclock.Clock
	statements      map[netip.Addr]ipStatement
	contact         map[netip.Addr]mclock.AbsTime
	lastStatementGC mclock.AbsTime
	lastContactGC   mclock.AbsTime
}

type ipStatement struct {
	endpoint netip.AddrPort
	time     mclock.AbsTime
}

// NewIPTracker creates an IP tracker. Statements are kept for window and
// contacts for contactWindow; no prediction is made until at least
// minStatements hosts agree on an endpoint. Windows should be minutes long:
// larger values make predictions more stable as network conditions change.
// A nil clock means the system clock.
func NewIPTracker(window, contactWindow time.Duration, minStatements int, clock mclock.Clock) *IPTracker {
	if clock == nil {
		clock = mclock.System{}
	}
	return &IPTracker{
		window:        window,
		contactWindow: contactWindow,
		minStatements: minStatements,
		clock:         clock,
		statements:    make(map[netip.Addr]ipStatement),
		contact:       make(map[netip.Addr]mclock.AbsTime),
	}
}

// PredictFullConeNAT reports whether the local host appears to be behind a
// full-cone NAT (or no NAT): whether some host made a statement about our
// endpoint without being contacted by us first.
func (it *IPTracker) PredictFullConeNAT() bool {
	now := it.clock.Now()
	it.gcContact(now)
	it.gcStatements(now)
	for host, st := range it.statements {
		if c, ok := it.contact[host]; !ok || c > st.time {
			return true
		}
	}
	return false
}

// PredictEndpoint returns the endpoint named by the most hosts, if at least
// minStatements did; otherwise it returns the zero AddrPort. Ties are broken
// by the smaller endpoint, so the prediction is deterministic.
func (it *IPTracker) PredictEndpoint() netip.AddrPort {
	it.gcStatements(it.clock.Now())
	counts := make(map[netip.AddrPort]int, len(it.statements))
	var (
		best      netip.AddrPort
		bestCount int
	)
	for _, s := range it.statements {
		c := counts[s.endpoint] + 1
		counts[s.endpoint] = c
		if c < it.minStatements {
			continue
		}
		if c > bestCount || c == bestCount && s.endpoint.Compare(best) < 0 {
			best, bestCount = s.endpoint, c
		}
	}
	return best
}

// AddStatement records that host says our external endpoint is endpoint.
func (it *IPTracker) AddStatement(host netip.Addr, endpoint netip.AddrPort) {
	now := it.clock.Now()
	it.statements[host] = ipStatement{endpoint, now}
	if now.Sub(it.lastStatementGC) >= it.window {
		it.gcStatements(now)
	}
}

// AddContact records that we sent our endpoint to host (for example in a
// ping).
func (it *IPTracker) AddContact(host netip.Addr) {
	now := it.clock.Now()
	it.contact[host] = now
	if now.Sub(it.lastContactGC) >= it.contactWindow {
		it.gcContact(now)
	}
}

func (it *IPTracker) gcStatements(now mclock.AbsTime) {
	it.lastStatementGC = now
	cutoff := now.Add(-it.window)
	for host, s := range it.statements {
		if s.time < cutoff {
			delete(it.statements, host)
		}
	}
}

func (it *IPTracker) gcContact(now mclock.AbsTime) {
	it.lastContactGC = now
	cutoff := now.Add(-it.contactWindow)
	for host, t := range it.contact {
		if t < cutoff {
			delete(it.contact, host)
		}
	}
}
