package nat

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/devp2p-go/devp2p/internal/mclock"
)

// Mapper defaults. Lifetime, refresh and external-address interval are
// go-ethereum's (p2p/server_nat.go, v1.17.10: 10 min, 8 min, 2 min);
// go-ethereum retries a failed mapping every 5 minutes, which is the
// ceiling of the backoff here.
const (
	DefaultLifetime           = 10 * time.Minute
	DefaultExternalIPInterval = 2 * time.Minute
	DefaultRetryInterval      = 10 * time.Second
	DefaultMaxRetryInterval   = 5 * time.Minute
)

// MapperConfig says which port a Mapper keeps mapped, and how.
type MapperConfig struct {
	// Protocol is "tcp" or "udp".
	Protocol string

	// InternalPort is the local port to map. Required.
	InternalPort int

	// ExternalPort is the external port to ask for. Zero means
	// InternalPort. The gateway may grant another; while a mapping lives,
	// refreshes ask for the port granted, so the address stays stable.
	ExternalPort int

	// Name describes the mapping in the gateway's user interface. Empty
	// means "devp2p".
	Name string

	// Lifetime is the lease asked for. Zero means DefaultLifetime.
	Lifetime time.Duration

	// RefreshInterval is the time from a successful mapping to its
	// renewal; it must be shorter than Lifetime. Zero means 4/5 of
	// Lifetime (8 minutes by default).
	RefreshInterval time.Duration

	// ExternalIPInterval is how often the external address is checked
	// between refreshes; a change renews the mapping at once. Zero means
	// DefaultExternalIPInterval.
	ExternalIPInterval time.Duration

	// RetryInterval is the wait after a failed attempt; it doubles with
	// each further failure, up to MaxRetryInterval. Zero means
	// DefaultRetryInterval and DefaultMaxRetryInterval.
	RetryInterval    time.Duration
	MaxRetryInterval time.Duration

	// OnExternal, if set, is called with the mapping's external address
	// when it is first learned and whenever it changes, for example to put
	// it into the node record. It runs on the Mapper's goroutine: it must
	// not block for long and must not call Stop.
	OnExternal func(netip.AddrPort)

	// Log receives log messages. Nil means slog.Default().
	Log *slog.Logger

	// Clock is the source of time for every timer. Nil means the system
	// clock.
	Clock mclock.Clock
}

func (cfg MapperConfig) withDefaults() MapperConfig {
	cfg.Protocol = strings.ToLower(cfg.Protocol)
	if cfg.ExternalPort == 0 {
		cfg.ExternalPort = cfg.InternalPort
	}
	if cfg.Name == "" {
		cfg.Name = "devp2p"
	}
	if cfg.Lifetime == 0 {
		cfg.Lifetime = DefaultLifetime
	}
	if cfg.RefreshInterval == 0 {
		cfg.RefreshInterval = cfg.Lifetime * 4 / 5
	}
	if cfg.ExternalIPInterval == 0 {
		cfg.ExternalIPInterval = DefaultExternalIPInterval
	}
	if cfg.RetryInterval == 0 {
		cfg.RetryInterval = DefaultRetryInterval
	}
	if cfg.MaxRetryInterval == 0 {
		cfg.MaxRetryInterval = max(DefaultMaxRetryInterval, cfg.RetryInterval)
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = mclock.System{}
	}
	return cfg
}

func (cfg MapperConfig) validate() error {
	if _, err := checkMapping(cfg.Protocol, cfg.ExternalPort, cfg.InternalPort, cfg.Lifetime); err != nil {
		return err
	}
	switch {
	case cfg.RefreshInterval <= 0 || cfg.RefreshInterval >= cfg.Lifetime:
		return fmt.Errorf("nat: refresh interval %v is not between 0 and the lifetime %v", cfg.RefreshInterval, cfg.Lifetime)
	case cfg.ExternalIPInterval < 0 || cfg.RetryInterval < 0 || cfg.MaxRetryInterval < cfg.RetryInterval:
		return errors.New("nat: negative interval, or maximum retry interval below the first")
	}
	return nil
}

// MapperStatus describes a Mapper's mapping, for diagnostics.
type MapperStatus struct {
	Mechanism    string         // the Interface's String, e.g. "UPnP(WANIPConnection:1 at 192.168.1.1:5000)"
	Protocol     string         // "tcp" or "udp"
	InternalPort int            // the local port
	External     netip.AddrPort // the last external address learned; invalid before the first success
	Mapped       bool           // the gateway granted the mapping and its lifetime has not run out
	ExpiresIn    time.Duration  // time left of the mapping's lifetime, zero if not Mapped
	NextAttempt  time.Duration  // time until the next refresh or retry; zero once stopped
	Failures     int            // failed attempts since the last success
	LastError    error          // error of the last attempt, nil after a success
}

// Mapper keeps one port mapping alive: it maps the port at once, renews
// the mapping before its lifetime ends, retries with backoff after
// failures, watches the external address, and deletes the mapping when
// stopped. Its methods are safe for concurrent use.
type Mapper struct {
	nat   Interface
	cfg   MapperConfig
	log   *slog.Logger
	clock mclock.Clock

	quitCh   chan struct{} // closed by Stop
	stopOnce sync.Once
	wg       sync.WaitGroup

	mu     sync.Mutex  // guards following
	status mapperState // published by loop for Status

	// Everything below here belongs to loop.
	ip          netip.Addr // last external IP learned
	port        uint16     // last external port granted
	reported    netip.AddrPort
	mapped      bool // a mapping was granted; it lives until expires
	expires     mclock.AbsTime
	failures    int
	lastErr     error
	nextRefresh mclock.AbsTime // next mapping request (refresh or retry)
	nextIPCheck mclock.AbsTime // next external address check, while healthy
	stopped     bool
}

// mapperState is the loop's state as published for Status.
type mapperState struct {
	external        netip.AddrPort
	mapped, stopped bool
	expires, next   mclock.AbsTime
	failures        int
	lastErr         error
}

// NewMapper validates cfg and starts keeping the mapping alive on n. The
// first attempt starts at once; the external address arrives through
// cfg.OnExternal. Call Stop to delete the mapping.
func NewMapper(n Interface, cfg MapperConfig) (*Mapper, error) {
	if n == nil {
		return nil, errors.New("nat: NewMapper needs an Interface")
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	m := &Mapper{
		nat:    n,
		cfg:    cfg,
		clock:  cfg.Clock,
		quitCh: make(chan struct{}),
	}
	m.log = cfg.Log.With("proto", cfg.Protocol, "intport", cfg.InternalPort)
	m.wg.Add(1)
	go m.loop()
	return m, nil
}

// Stop ends the refresh loop and deletes the mapping from the gateway.
// It waits for the loop, including a gateway request under way (each is
// bounded by a timeout of a few seconds). Stop may be called more than once.
func (m *Mapper) Stop() {
	m.stopOnce.Do(func() { close(m.quitCh) })
	m.wg.Wait()
}

// Status returns the state of the mapping.
func (m *Mapper) Status() MapperStatus {
	m.mu.Lock()
	st := m.status
	m.mu.Unlock()
	now := m.clock.Now()
	s := MapperStatus{
		Mechanism:    m.nat.String(),
		Protocol:     m.cfg.Protocol,
		InternalPort: m.cfg.InternalPort,
		External:     st.external,
		Failures:     st.failures,
		LastError:    st.lastErr,
	}
	if st.mapped && now < st.expires {
		s.Mapped, s.ExpiresIn = true, st.expires.Sub(now)
	}
	if !st.stopped {
		s.NextAttempt = max(st.next.Sub(now), 0)
	}
	return s
}

func (m *Mapper) loop() {
	defer m.wg.Done()
	m.refresh()
	timer := m.clock.NewTimer(m.wait())
	defer timer.Stop()
	for {
		select {
		case <-timer.C():
			// The next refresh, retry or external address check is due.
			if m.clock.Now() >= m.nextRefresh {
				m.refresh()
			} else {
				m.checkIP()
			}
			timer.Reset(m.wait())
		case <-m.quitCh:
			// Stop was called.
			m.unmap()
			return
		}
	}
}

// wait returns the time until the next action.
func (m *Mapper) wait() time.Duration {
	return max(m.nextAction().Sub(m.clock.Now()), 0)
}

// nextAction returns the time of the next refresh, retry or external
// address check. Addresses are checked only while the mapping is healthy.
func (m *Mapper) nextAction() mclock.AbsTime {
	if m.failures == 0 && m.nextIPCheck < m.nextRefresh {
		return m.nextIPCheck
	}
	return m.nextRefresh
}

// refresh requests the mapping and the external address, and schedules
// the next refresh or, after a failure, the next retry.
func (m *Mapper) refresh() {
	defer m.publish()
	now := m.clock.Now()
	want := m.cfg.ExternalPort
	if m.mapped && now < m.expires {
		want = int(m.port) // keep the port granted while the mapping lives
	}
	port, err := m.nat.AddMapping(m.cfg.Protocol, want, m.cfg.InternalPort, m.cfg.Name, m.cfg.Lifetime)
	if err == nil {
		m.port, m.mapped, m.expires = port, true, now.Add(m.cfg.Lifetime)
		var ip netip.Addr
		if ip, err = m.nat.ExternalIP(); err == nil {
			m.ip = ip
		}
	}
	if err != nil {
		m.fail(now, err)
		return
	}
	if m.failures > 0 {
		m.log.Info("Port mapping restored", "nat", m.nat, "extport", m.port, "failures", m.failures)
	}
	m.failures, m.lastErr = 0, nil
	m.nextRefresh = now.Add(m.cfg.RefreshInterval)
	m.nextIPCheck = now.Add(m.cfg.ExternalIPInterval)
	m.report()
}

// fail records a failed attempt and schedules a retry with backoff.
func (m *Mapper) fail(now mclock.AbsTime, err error) {
	m.failures++
	m.lastErr = err
	backoff := m.cfg.RetryInterval
	for i := 1; i < m.failures && backoff < m.cfg.MaxRetryInterval; i++ {
		backoff *= 2
	}
	backoff = min(backoff, m.cfg.MaxRetryInterval)
	m.nextRefresh = now.Add(backoff)
	if m.failures == 1 {
		m.log.Warn("Port mapping failed", "nat", m.nat, "err", err, "retry", backoff)
	} else {
		m.log.Debug("Port mapping failed again", "nat", m.nat, "err", err, "failures", m.failures, "retry", backoff)
	}
}

// checkIP asks for the external address between refreshes and renews the
// mapping if it changed: a gateway with a new address has often lost its
// mappings too.
func (m *Mapper) checkIP() {
	defer m.publish()
	now := m.clock.Now()
	m.nextIPCheck = now.Add(m.cfg.ExternalIPInterval)
	ip, err := m.nat.ExternalIP()
	switch {
	case err != nil:
		m.lastErr = err
		m.log.Debug("External address check failed", "nat", m.nat, "err", err)
	case ip != m.ip:
		m.log.Info("External address changed", "nat", m.nat, "old", m.ip, "new", ip)
		m.refresh()
	default:
		m.lastErr = nil
	}
}

// report calls OnExternal if the external address changed.
func (m *Mapper) report() {
	ext := netip.AddrPortFrom(m.ip, m.port)
	if ext == m.reported {
		return
	}
	m.reported = ext
	m.log.Info("Mapped port", "nat", m.nat, "ext", ext)
	if _, fixed := m.nat.(ExtIP); !fixed && (!m.ip.IsGlobalUnicast() || m.ip.IsPrivate()) {
		m.log.Warn("External address is not public; the gateway is behind another NAT", "nat", m.nat, "ip", m.ip)
	}
	if m.cfg.OnExternal != nil {
		m.cfg.OnExternal(ext)
	}
}

// unmap deletes a live mapping as the loop ends.
func (m *Mapper) unmap() {
	defer m.publish()
	m.stopped = true
	if !m.mapped || m.clock.Now() >= m.expires {
		return
	}
	m.mapped = false
	if err := m.nat.DeleteMapping(m.cfg.Protocol, int(m.port), m.cfg.InternalPort); err != nil {
		m.lastErr = err
		m.log.Debug("Deleting port mapping failed", "nat", m.nat, "extport", m.port, "err", err)
		return
	}
	m.log.Debug("Deleted port mapping", "nat", m.nat, "extport", m.port)
}

// publish copies the loop's state for Status.
func (m *Mapper) publish() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.status = mapperState{
		external: m.reported,
		mapped:   m.mapped,
		stopped:  m.stopped,
		expires:  m.expires,
		next:     m.nextAction(),
		failures: m.failures,
		lastErr:  m.lastErr,
	}
}
