package netutil

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/devp2p-go/devp2p/internal/mclock"
)

const (
	opStatement = iota
	opContact
	opPredict
	opCheckFullCone
)

type iptrackTestEvent struct {
	op       int
	time     time.Duration // absolute, from the start of the test
	ip, from string
}

func TestIPTrackerStatements(t *testing.T) {
	t.Parallel()
	tests := []iptrackTestEvent{
		{opPredict, 0, "", ""},
		{opStatement, 0, "127.0.0.1:1", "127.0.0.2"},
		{opPredict, 1 * time.Millisecond, "", ""}, // only one statement
		{opStatement, 2 * time.Millisecond, "127.0.0.1:1", "127.0.0.2"},
		{opStatement, 3 * time.Millisecond, "127.0.0.1:1", "127.0.0.3"},
		{opPredict, 1000 * time.Millisecond, "127.0.0.1:1", ""},
		{opStatement, 1001 * time.Millisecond, "127.0.0.1:2", "127.0.0.4"},
		{opStatement, 1002 * time.Millisecond, "127.0.0.1:2", "127.0.0.5"},
		{opStatement, 1003 * time.Millisecond, "127.0.0.1:2", "127.0.0.6"},
		{opPredict, 1004 * time.Millisecond, "127.0.0.1:2", ""},
		// Statements from 127.0.0.2 and .3 expire; .4 to .6 remain.
		{opStatement, 1500 * time.Millisecond, "127.0.0.1:1", "127.0.0.7"},
		{opPredict, 1600 * time.Millisecond, "127.0.0.1:2", ""},
		// Later statements of the same host replace earlier ones.
		{opStatement, 2101 * time.Millisecond, "127.0.0.1:1", "127.0.0.4"},
		{opStatement, 2102 * time.Millisecond, "127.0.0.1:1", "127.0.0.5"},
		{opPredict, 2103 * time.Millisecond, "127.0.0.1:1", ""},
	}
	runIPTrackerTest(t, tests)
}

func TestIPTrackerContact(t *testing.T) {
	t.Parallel()
	tests := []iptrackTestEvent{
		{opCheckFullCone, 0, "false", ""},
		{opContact, 0, "", "127.0.0.2"},
		{opStatement, 10 * time.Millisecond, "127.0.0.1:1", "127.0.0.2"},
		{opCheckFullCone, 20 * time.Millisecond, "false", ""},
		// A statement from a host we never contacted.
		{opStatement, 30 * time.Millisecond, "127.0.0.1:1", "127.0.0.3"},
		{opCheckFullCone, 40 * time.Millisecond, "true", ""},
		// It expires; so does the contact, and 127.0.0.2's statement is
		// again from an uncontacted host.
		{opCheckFullCone, 1500 * time.Millisecond, "false", ""},
		{opContact, 1600 * time.Millisecond, "", "127.0.0.2"},
		{opStatement, 1700 * time.Millisecond, "127.0.0.1:1", "127.0.0.2"},
		{opCheckFullCone, 1710 * time.Millisecond, "false", ""},
		{opStatement, 1750 * time.Millisecond, "127.0.0.1:1", "127.0.0.8"},
		{opCheckFullCone, 1800 * time.Millisecond, "true", ""},
	}
	runIPTrackerTest(t, tests)
}

func runIPTrackerTest(t *testing.T, evs []iptrackTestEvent) {
	t.Helper()
	var clock mclock.Simulated
	it := NewIPTracker(1*time.Second, 1*time.Second, 2, &clock)
	start := clock.Now()
	for i, ev := range evs {
		clock.Run(ev.time - clock.Now().Sub(start))
		switch ev.op {
		case opStatement:
			it.AddStatement(netip.MustParseAddr(ev.from), netip.MustParseAddrPort(ev.ip))
		case opContact:
			it.AddContact(netip.MustParseAddr(ev.from))
		case opPredict:
			pred := it.PredictEndpoint()
			want := netip.AddrPort{}
			if ev.ip != "" {
				want = netip.MustParseAddrPort(ev.ip)
			}
			if pred != want {
				t.Errorf("%d: wrong prediction %v, want %v", i, pred, want)
			}
		case opCheckFullCone:
			if got := fmt.Sprint(it.PredictFullConeNAT()); got != ev.ip {
				t.Errorf("%d: full-cone prediction %s, want %s", i, got, ev.ip)
			}
		}
	}
}

func TestIPTrackerTieBreak(t *testing.T) {
	t.Parallel()
	for range 20 {
		it := NewIPTracker(time.Minute, time.Minute, 1, nil)
		it.AddStatement(netip.MustParseAddr("10.0.0.1"), netip.MustParseAddrPort("1.1.1.2:1"))
		it.AddStatement(netip.MustParseAddr("10.0.0.2"), netip.MustParseAddrPort("1.1.1.1:1"))
		if got := it.PredictEndpoint(); got != netip.MustParseAddrPort("1.1.1.1:1") {
			t.Fatalf("tie broken to %v", got)
		}
	}
}

func TestIPTrackerForceGC(t *testing.T) {
	t.Parallel()
	var clock mclock.Simulated
	const (
		window  = 10 * time.Second
		rate    = 50 * time.Millisecond
		max     = int(window/rate) + 1
		runTime = 2 * window
	)
	it := NewIPTracker(window, window, 10, &clock)
	for i := 0; i < int(runTime/rate); i++ {
		addr := netip.AddrFrom4([4]byte{byte(i >> 16), byte(i >> 8), byte(i), 0})
		it.AddStatement(addr, netip.AddrPortFrom(addr, 1))
		clock.Run(rate)
	}
	if len(it.contact) > 2*max {
		t.Errorf("contacts not GCed, have %d", len(it.contact))
	}
	if len(it.statements) > 2*max {
		t.Errorf("statements not GCed, have %d", len(it.statements))
	}
}
