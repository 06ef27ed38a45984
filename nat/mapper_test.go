package nat

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/devp2p-go/devp2p/internal/mclock"
	"github.com/devp2p-go/devp2p/nat/nattest"
)

// The mapping is made at once, its address reported, the external address
// checked every 2 minutes, the mapping renewed after 8 (go-ethereum's
// timing) and deleted on Stop.
func TestMapperRefresh(t *testing.T) {
	h := newMapperHarness(t, MapperConfig{Protocol: "tcp", InternalPort: 30303, Name: "test"})
	h.start()
	h.expect("add tcp 30303->30303 test 10m0s", "ip")
	h.expectExternal("203.0.113.7:30303")
	h.idle()
	st := h.m.Status()
	if !st.Mapped || st.ExpiresIn != 10*time.Minute || st.NextAttempt != 2*time.Minute || st.LastError != nil {
		t.Errorf("status after mapping: %+v", st)
	}
	if st.Mechanism != "fake" || st.Protocol != "tcp" || st.InternalPort != 30303 || st.External.String() != "203.0.113.7:30303" {
		t.Errorf("status fields: %+v", st)
	}

	for range 3 { // at 2, 4 and 6 minutes
		h.run(2 * time.Minute)
		h.expect("ip")
	}
	h.run(2 * time.Minute) // 8 minutes: refresh
	h.expect("add tcp 30303->30303 test 10m0s", "ip")
	h.expectNoExternal()
	if st := h.m.Status(); st.ExpiresIn != 10*time.Minute || st.NextAttempt != 2*time.Minute {
		t.Errorf("status after refresh: %+v", st)
	}

	h.m.Stop()
	h.expect("delete tcp 30303->30303")
	h.m.Stop() // idempotent
	if st := h.m.Status(); st.Mapped || st.NextAttempt != 0 {
		t.Errorf("status after Stop: %+v", st)
	}
}

// Failures are retried after 10 s, doubling up to 5 minutes; the first
// success resets the backoff.
func TestMapperRetryBackoff(t *testing.T) {
	h := newMapperHarness(t, MapperConfig{Protocol: "udp", InternalPort: 30303})
	h.nat.set(func(f *fakeNAT) { f.addErr = errors.New("gateway says no") })
	h.start()
	for i, backoff := range []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second, 160 * time.Second, 5 * time.Minute, 5 * time.Minute} {
		h.expect("add udp 30303->30303 devp2p 10m0s")
		h.idle()
		st := h.m.Status()
		if st.NextAttempt != backoff || st.Failures != i+1 || st.LastError == nil || st.Mapped {
			t.Fatalf("after failure %d: %+v, want retry in %v", i+1, st, backoff)
		}
		h.run(backoff)
	}
	h.nat.set(func(f *fakeNAT) { f.addErr = nil })
	h.run(5 * time.Minute)
	h.expect("add udp 30303->30303 devp2p 10m0s") // from the last h.run above
	h.expect("add udp 30303->30303 devp2p 10m0s", "ip")
	h.expectExternal("203.0.113.7:30303")
	h.idle()
	if st := h.m.Status(); st.Failures != 0 || st.LastError != nil || !st.Mapped {
		t.Errorf("after success: %+v", st)
	}
	h.m.Stop()
	h.expect("delete udp 30303->30303")
}

// A failed external address query counts as a failed attempt, but the
// granted mapping is still deleted on Stop.
func TestMapperExternalIPFailure(t *testing.T) {
	h := newMapperHarness(t, MapperConfig{Protocol: "tcp", InternalPort: 30303})
	h.nat.set(func(f *fakeNAT) { f.ipErr = errors.New("no WAN") })
	h.start()
	h.expect("add tcp 30303->30303 devp2p 10m0s", "ip")
	h.idle()
	if st := h.m.Status(); st.Failures != 1 || !st.Mapped || st.External.IsValid() {
		t.Errorf("status: %+v", st)
	}
	h.expectNoExternal()
	h.m.Stop()
	h.expect("delete tcp 30303->30303")
}

// A failed deletion on Stop shows in the status.
func TestMapperDeleteFailure(t *testing.T) {
	h := newMapperHarness(t, MapperConfig{Protocol: "udp", InternalPort: 30303})
	h.nat.set(func(f *fakeNAT) { f.delErr = errors.New("gateway gone") })
	h.start()
	h.expect("add udp 30303->30303 devp2p 10m0s", "ip")
	h.idle()
	h.m.Stop()
	h.expect("delete udp 30303->30303")
	if st := h.m.Status(); st.LastError == nil || st.LastError.Error() != "gateway gone" || st.Mapped {
		t.Errorf("status: %+v", st)
	}
}

// A new external address renews the mapping at once and is reported.
func TestMapperExternalIPChange(t *testing.T) {
	h := newMapperHarness(t, MapperConfig{Protocol: "tcp", InternalPort: 30303})
	h.start()
	h.expect("add tcp 30303->30303 devp2p 10m0s", "ip")
	h.expectExternal("203.0.113.7:30303")
	h.idle()
	h.nat.set(func(f *fakeNAT) { f.ip = netip.MustParseAddr("198.51.100.1") })
	h.run(2 * time.Minute)
	h.expect("ip", "add tcp 30303->30303 devp2p 10m0s", "ip")
	h.expectExternal("198.51.100.1:30303")
	h.idle()
	if st := h.m.Status(); st.NextAttempt != 2*time.Minute || st.ExpiresIn != 10*time.Minute {
		t.Errorf("status: %+v", st)
	}
	h.m.Stop()
	h.expect("delete tcp 30303->30303")
}

// The gateway's choice of port is kept: renewals ask for it, and a new
// one is reported.
func TestMapperGrantedPort(t *testing.T) {
	h := newMapperHarness(t, MapperConfig{Protocol: "tcp", InternalPort: 30303, ExternalPort: 30000})
	h.nat.set(func(f *fakeNAT) { f.grant = 41000 })
	h.start()
	h.expect("add tcp 30000->30303 devp2p 10m0s", "ip")
	h.expectExternal("203.0.113.7:41000")
	h.idle()
	h.run(8 * time.Minute)
	h.expect("ip", "ip", "ip", "add tcp 41000->30303 devp2p 10m0s", "ip")
	h.expectNoExternal()
	h.idle()

	h.nat.set(func(f *fakeNAT) { f.grant = 42000 })
	h.run(8 * time.Minute)
	h.expect("ip", "ip", "ip", "add tcp 41000->30303 devp2p 10m0s", "ip")
	h.expectExternal("203.0.113.7:42000")
	h.m.Stop()
	h.expect("delete tcp 42000->30303")
}

// Once the lifetime of a mapping has run out during failures, the Mapper
// asks for the configured port again and does not delete on Stop.
func TestMapperExpiry(t *testing.T) {
	h := newMapperHarness(t, MapperConfig{Protocol: "tcp", InternalPort: 30303, Lifetime: time.Minute, RefreshInterval: 30 * time.Second, RetryInterval: 20 * time.Second, ExternalIPInterval: time.Hour})
	h.nat.set(func(f *fakeNAT) { f.grant = 41000 })
	h.start()
	h.expect("add tcp 30303->30303 devp2p 1m0s", "ip")
	h.expectExternal("203.0.113.7:41000")
	h.idle()
	h.nat.set(func(f *fakeNAT) { f.addErr = errors.New("down") })
	h.run(30 * time.Second) // t=30s: refresh fails
	h.expect("add tcp 41000->30303 devp2p 1m0s")
	h.idle()
	h.run(20 * time.Second) // t=50s: retry, mapping still alive
	h.expect("add tcp 41000->30303 devp2p 1m0s")
	h.idle()
	h.run(40 * time.Second) // t=90s: expired at 60s
	h.expect("add tcp 30303->30303 devp2p 1m0s")
	h.idle()
	if st := h.m.Status(); st.Mapped || st.ExpiresIn != 0 || st.External.String() != "203.0.113.7:41000" {
		t.Errorf("status after expiry: %+v", st)
	}
	h.m.Stop()
	h.expectNone()
}

// With ExtIP the address is reported once; nothing needs deleting.
func TestMapperExtIP(t *testing.T) {
	got := make(chan netip.AddrPort, 1)
	m, err := NewMapper(ExtIP(netip.MustParseAddr("203.0.113.50")), MapperConfig{
		Protocol: "udp", InternalPort: 30303, Clock: new(mclock.Simulated),
		OnExternal: func(ap netip.AddrPort) { got <- ap },
	})
	if err != nil {
		t.Fatal(err)
	}
	if ap := <-got; ap.String() != "203.0.113.50:30303" {
		t.Errorf("reported %v", ap)
	}
	m.Stop()
}

func TestMapperConfigErrors(t *testing.T) {
	n := ExtIP(netip.MustParseAddr("203.0.113.50"))
	for _, tc := range []struct {
		n    Interface
		cfg  MapperConfig
		want string
	}{
		{nil, MapperConfig{Protocol: "tcp", InternalPort: 1}, "needs an Interface"},
		{n, MapperConfig{Protocol: "icmp", InternalPort: 1}, `protocol "icmp"`},
		{n, MapperConfig{Protocol: "tcp"}, "internal port 0"},
		{n, MapperConfig{Protocol: "tcp", InternalPort: 1, ExternalPort: 70000}, "external port 70000"},
		{n, MapperConfig{Protocol: "tcp", InternalPort: 1, Lifetime: time.Minute, RefreshInterval: time.Minute}, "refresh interval"},
		{n, MapperConfig{Protocol: "tcp", InternalPort: 1, Lifetime: -time.Minute}, "lifetime"},
		{n, MapperConfig{Protocol: "tcp", InternalPort: 1, RetryInterval: time.Hour, MaxRetryInterval: time.Minute}, "retry interval"},
	} {
		m, err := NewMapper(tc.n, tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewMapper(%+v): err = %v, want %q", tc.cfg, err, tc.want)
		}
		if m != nil {
			m.Stop()
		}
	}
}

// The Mapper against the fake NAT-PMP gateway: the mapping is renewed on
// the gateway and removed from it on Stop.
func TestMapperWithFakePMP(t *testing.T) {
	gw := nattest.NewPMP(t)
	clock := new(mclock.Simulated)
	got := make(chan netip.AddrPort, 4)
	m, err := NewMapper(PMP(gw.Addr), MapperConfig{
		Protocol: "udp", InternalPort: 30303, Clock: clock, Log: testLogger(t),
		OnExternal: func(ap netip.AddrPort) { got <- ap },
	})
	if err != nil {
		t.Fatal(err)
	}
	if ap := <-got; ap.String() != "203.0.113.7:30303" {
		t.Errorf("reported %v", ap)
	}
	waitTimers(t, clock)
	before := gw.Requests()
	runClock(t, clock, 8*time.Minute)
	// Three address checks, then the renewal and its address query.
	if n := gw.Requests() - before; n != 5 {
		t.Errorf("%d requests in 8 minutes, want 5", n)
	}
	if mp, ok := gw.Mapping(pmpOpUDP, 30303); !ok || mp.Lifetime != 600 {
		t.Errorf("gateway holds %+v, %v", mp, ok)
	}
	m.Stop()
	if _, ok := gw.Mapping(pmpOpUDP, 30303); ok {
		t.Error("mapping not deleted on Stop")
	}
}

// The Mapper against the fake UPnP device.
func TestMapperWithFakeUPnP(t *testing.T) {
	igd := newFakeIGD(t, "WANIPConnection:1")
	clock := new(mclock.Simulated)
	n := igd.client(t) // rate limit off; its clock stays the system clock
	got := make(chan netip.AddrPort, 4)
	m, err := NewMapper(n, MapperConfig{
		Protocol: "tcp", InternalPort: 30303, Clock: clock, Log: testLogger(t),
		OnExternal: func(ap netip.AddrPort) { got <- ap },
	})
	if err != nil {
		t.Fatal(err)
	}
	if ap := <-got; ap.String() != "203.0.113.9:30303" {
		t.Errorf("reported %v", ap)
	}
	waitTimers(t, clock)
	runClock(t, clock, 8*time.Minute)
	if c := igd.calls("AddPortMapping"); c != 2 {
		t.Errorf("%d AddPortMapping calls, want 2", c)
	}
	m.Stop()
	if _, ok := igd.mapping("TCP", 30303); ok {
		t.Error("mapping not deleted on Stop")
	}
	if igd.calls("DeletePortMapping") != 1 {
		t.Errorf("calls: %v", igd.callCounts())
	}
}

// Code below here is the framework for the tests above.

// fakeNAT is an in-memory Interface that records calls on a channel.
type fakeNAT struct {
	callCh chan string

	mu     sync.Mutex // guards following
	ip     netip.Addr
	grant  uint16 // port to grant; zero means the one asked for
	addErr error
	ipErr  error
	delErr error
}

func (f *fakeNAT) set(fn func(*fakeNAT)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *fakeNAT) AddMapping(protocol string, extport, intport int, name string, lifetime time.Duration) (uint16, error) {
	f.callCh <- fmt.Sprintf("add %s %d->%d %s %v", protocol, extport, intport, name, lifetime)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.addErr != nil {
		return 0, f.addErr
	}
	if f.grant != 0 {
		return f.grant, nil
	}
	return uint16(extport), nil
}

func (f *fakeNAT) DeleteMapping(protocol string, extport, intport int) error {
	f.callCh <- fmt.Sprintf("delete %s %d->%d", protocol, extport, intport)
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.delErr
}

func (f *fakeNAT) ExternalIP() (netip.Addr, error) {
	f.callCh <- "ip"
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ip, f.ipErr
}

func (f *fakeNAT) String() string { return "fake" }

type mapperHarness struct {
	t          *testing.T
	nat        *fakeNAT
	clock      *mclock.Simulated
	cfg        MapperConfig
	externalCh chan netip.AddrPort
	m          *Mapper
}

// newMapperHarness prepares a Mapper on a simulated clock; start starts it.
func newMapperHarness(t *testing.T, cfg MapperConfig) *mapperHarness {
	h := &mapperHarness{
		t:          t,
		nat:        &fakeNAT{callCh: make(chan string, 100), ip: netip.MustParseAddr("203.0.113.7")},
		clock:      new(mclock.Simulated),
		externalCh: make(chan netip.AddrPort, 10),
	}
	cfg.Clock, cfg.Log = h.clock, testLogger(t)
	cfg.OnExternal = func(ap netip.AddrPort) { h.externalCh <- ap }
	h.cfg = cfg
	t.Cleanup(func() {
		if h.m != nil {
			h.m.Stop()
		}
	})
	return h
}

func (h *mapperHarness) start() {
	m, err := NewMapper(h.nat, h.cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	h.m = m
}

// expect waits for the given calls, in order.
func (h *mapperHarness) expect(calls ...string) {
	h.t.Helper()
	for _, want := range calls {
		select {
		case got := <-h.nat.callCh:
			if got != want {
				h.t.Fatalf("call %q, want %q", got, want)
			}
		case <-time.After(5 * time.Second):
			h.t.Fatalf("no call, want %q", want)
		}
	}
}

// expectNone checks that no call was made.
func (h *mapperHarness) expectNone() {
	h.t.Helper()
	select {
	case got := <-h.nat.callCh:
		h.t.Fatalf("unexpected call %q", got)
	default:
	}
}

func (h *mapperHarness) expectExternal(want string) {
	h.t.Helper()
	select {
	case got := <-h.externalCh:
		if got.String() != want {
			h.t.Fatalf("reported %v, want %s", got, want)
		}
	case <-time.After(5 * time.Second):
		h.t.Fatalf("nothing reported, want %s", want)
	}
}

func (h *mapperHarness) expectNoExternal() {
	h.t.Helper()
	h.idle()
	select {
	case got := <-h.externalCh:
		h.t.Fatalf("reported %v, want nothing", got)
	default:
	}
}

// idle waits until the loop has armed its timer, i.e. finished its work.
func (h *mapperHarness) idle() { waitTimers(h.t, h.clock) }

// run advances the clock by d.
func (h *mapperHarness) run(d time.Duration) { runClock(h.t, h.clock, d) }

// runClock advances the clock by d in steps of a second, letting the loop
// finish the work of each timer that fires before the next step. Every
// interval in these tests is a whole number of seconds, so the loop sees
// the time its timer was due.
func runClock(t *testing.T, clock *mclock.Simulated, d time.Duration) {
	t.Helper()
	for range d / time.Second {
		waitTimers(t, clock)
		clock.Run(time.Second)
	}
	waitTimers(t, clock)
}

// waitTimers waits until a timer is armed: the Mapper's loop is idle.
func waitTimers(t *testing.T, clock *mclock.Simulated) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for clock.ActiveTimers() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the loop did not re-arm its timer")
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// testLogger sends log output to t.Log.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimSuffix(string(b), "\n"))
	return len(b), nil
}
