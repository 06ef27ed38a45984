package p2p

import (
	"cmp"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/netutil"
)

// Diagnostics answers "why don't I have peers?": what limits the server,
// what it has tried and what went wrong, in one JSON-friendly snapshot,
// with Findings that say it in sentences. docs/diagnostics.md explains
// every finding. Counters count since Start; durations are whole seconds,
// with -1 for "never" or "unknown".
type Diagnostics struct {
	// Time is when the snapshot was taken (wall clock).
	Time time.Time `json:"time"`
	// Running reports whether the server runs; all else is empty if not.
	Running bool `json:"running"`
	// UptimeSeconds is the time since Start, -1 if unknown.
	UptimeSeconds int64 `json:"uptimeSeconds"`

	// Enode is our enode URL; RecordIP the IP address in our node record,
	// which is what other nodes dial ("" if none).
	Enode    string `json:"enode,omitempty"`
	RecordIP string `json:"recordIP,omitempty"`

	Config    DiagConfig    `json:"config"`
	Discovery DiagDiscovery `json:"discovery"`
	Slots     DiagSlots     `json:"slots"`
	Inbound   DiagInbound   `json:"inbound"`
	Dials     DiagDials     `json:"dials"`

	// HandshakeFailures counts failed connection setups (both directions)
	// by phase and reason, as ServerStats.HandshakeFailures.
	HandshakeFailures map[string]map[string]uint64 `json:"handshakeFailures"`

	Bans DiagBans `json:"bans"`

	// Findings are the conclusions, most severe first (see Findings).
	Findings []Finding `json:"findings"`
}

// DiagConfig is the part of the configuration that decides about peers.
type DiagConfig struct {
	MaxPeers        int    `json:"maxPeers"`
	MaxPendingPeers int    `json:"maxPendingPeers"`
	NoDial          bool   `json:"noDial"`
	NoDiscovery     bool   `json:"noDiscovery"`
	TrustedOnly     bool   `json:"trustedOnly"`
	NetRestrict     string `json:"netRestrict,omitempty"` // the allowed networks; empty: no restriction
	Bootnodes       int    `json:"bootnodes"`             // configured bootstrap nodes
	Protocols       int    `json:"protocols"`             // configured sub-protocols
}

// DiagDiscovery is the state of discovery v4.
type DiagDiscovery struct {
	Enabled bool `json:"enabled"`
	// TableNodes is the number of nodes in the table; Validated those
	// whose last liveness check succeeded.
	TableNodes int `json:"tableNodes"`
	Validated  int `json:"validated"`
	// PacketsIn counts the datagrams received; Timeouts the requests that
	// got no reply in time.
	PacketsIn uint64 `json:"packetsIn"`
	Timeouts  uint64 `json:"timeouts"`
}

// SlotUse is the use of one kind of peer slot. Used may exceed Cap: trusted
// peers pass every cap, static dialed peers the outbound one.
type SlotUse struct {
	Cap  int `json:"cap"`
	Used int `json:"used"`
	Free int `json:"free"`
}

// ConfiguredUse counts configured nodes of a kind and how many of them are
// connected.
type ConfiguredUse struct {
	Configured int `json:"configured"`
	Connected  int `json:"connected"`
}

// DiagSlots is the use of the peer slots.
type DiagSlots struct {
	MaxPeers int     `json:"maxPeers"`
	Peers    int     `json:"peers"`
	Inbound  SlotUse `json:"inbound"`
	// Outbound's Cap is the dial target, MaxPeers/DialRatio or MaxOutbound;
	// Used counts every dialed peer, static ones included.
	Outbound SlotUse `json:"outbound"`
	// Static counts the static nodes (configured and added) and the peers
	// dialed as static; Trusted the trusted nodes and the connected peers
	// that are trusted.
	Static  ConfiguredUse `json:"static"`
	Trusted ConfiguredUse `json:"trusted"`
	// PendingInbound and PendingOutbound count connections in their
	// handshakes.
	PendingInbound  int `json:"pendingInbound"`
	PendingOutbound int `json:"pendingOutbound"`
}

// DiagInbound tells whether anybody reaches the node.
type DiagInbound struct {
	// ListenAddr is the TCP listening address, "" when not listening.
	ListenAddr string `json:"listenAddr"`
	// SecondsSinceConn is the time since the last accepted TCP
	// connection, whatever became of it; SecondsSincePeer the time since
	// the last inbound peer was added. -1: never.
	SecondsSinceConn int64 `json:"secondsSinceConn"`
	SecondsSincePeer int64 `json:"secondsSincePeer"`
	// Rejections counts inbound connections closed by the listener before
	// the encryption handshake, by reason; nil where the server does not
	// count them.
	Rejections map[string]uint64 `json:"rejections,omitempty"`
}

// DiagDials sums up the dialing.
type DiagDials struct {
	Attempts  uint64 `json:"attempts"`  // dials started, all kinds
	Successes uint64 `json:"successes"` // dials that became peers
	Failures  uint64 `json:"failures"`  // failed dials, "none" class excluded
	// FailuresByClass counts failed dials by class ("connect", "busy",
	// "handshake", "protocol", "self", "none"; see DialStats.Failures).
	FailuresByClass map[string]uint64 `json:"failuresByClass"`
	Dialing         int               `json:"dialing"` // in flight now
	// BackedOff is the number of nodes not dialed now because an earlier
	// dial or peer failed; BackedOffByReason splits it where the server
	// tracks the reason (nil otherwise).
	BackedOff         int            `json:"backedOff"`
	BackedOffByReason map[string]int `json:"backedOffByReason,omitempty"`
	// SkippedBackoff counts candidates skipped because backed off.
	SkippedBackoff uint64 `json:"skippedBackoff"`
}

// DiagBans are the bans in force.
type DiagBans struct {
	IDs  int       `json:"ids"` // banned node IDs
	IPs  int       `json:"ips"` // banned IP addresses
	List []BanInfo `json:"list"`
}

// maxDiagBans bounds DiagBans.List; the counts are always complete.
const maxDiagBans = 100

// BanInfo is the JSON form of a Ban: one banned node ID or IP address.
type BanInfo struct {
	ID               string    `json:"id,omitempty"` // node ID, hex
	IP               string    `json:"ip,omitempty"`
	Until            time.Time `json:"until"`
	ExpiresInSeconds int64     `json:"expiresInSeconds"`
	Reason           string    `json:"reason"`
	Auto             bool      `json:"auto"` // set by the peer policy, not by an operator
}

// Info returns the JSON form of b as seen at now.
func (b Ban) Info(now time.Time) BanInfo {
	bi := BanInfo{Until: b.Until.UTC().Truncate(time.Second), Reason: b.Reason, Auto: b.Auto}
	if b.ID != (enode.ID{}) {
		bi.ID = b.ID.String()
	}
	if b.IP.IsValid() {
		bi.IP = b.IP.String()
	}
	bi.ExpiresInSeconds = max(int64(b.Until.Sub(now).Seconds()), 0)
	return bi
}

// Severity ranks a Finding.
type Severity string

// Severities, most severe first.
const (
	// SeverityError: the node cannot get (enough) peers this way.
	SeverityError Severity = "error"
	// SeverityWarning: probably why peers are few.
	SeverityWarning Severity = "warning"
	// SeverityInfo: worth knowing, often normal.
	SeverityInfo Severity = "info"
	// SeverityOK: nothing wrong found.
	SeverityOK Severity = "ok"
)

func (s Severity) rank() int {
	switch s {
	case SeverityError:
		return 0
	case SeverityWarning:
		return 1
	case SeverityInfo:
		return 2
	}
	return 3
}

// Finding is one conclusion of the diagnostics: a sentence for humans and
// a stable code (listed in docs/diagnostics.md) for programs.
type Finding struct {
	Severity Severity `json:"severity"`
	Code     string   `json:"code"`
	Message  string   `json:"message"`
}

// Finding codes. docs/diagnostics.md explains each.
const (
	FindingNotRunning        = "not-running"
	FindingNoPeers           = "no-peers"
	FindingMaxPeersZero      = "maxpeers-zero"
	FindingNoDialNoListen    = "no-dial-no-listen"
	FindingNoDial            = "nodial"
	FindingNotListening      = "not-listening"
	FindingTrustedOnly       = "trusted-only"
	FindingNetRestrict       = "netrestrict"
	FindingDiscoveryOff      = "discovery-off"
	FindingNoBootnodes       = "no-bootnodes"
	FindingDiscoveryEmpty    = "discovery-empty"
	FindingListenLoopback    = "listen-loopback"
	FindingNoInbound         = "no-inbound"
	FindingNoInboundYet      = "no-inbound-yet"
	FindingInboundNoPeers    = "inbound-no-peers"
	FindingRecordPrivateIP   = "record-private-ip"
	FindingInboundFull       = "inbound-full"
	FindingPendingFull       = "pending-full"
	FindingOutboundBelow     = "outbound-below-target"
	FindingNoDialCandidates  = "no-dial-candidates"
	FindingDialsBusy         = "dials-busy"
	FindingDialsConnect      = "dials-connect"
	FindingDialsHandshake    = "dials-handshake"
	FindingDialsProtocol     = "dials-protocol"
	FindingBackoffBans       = "backoff-bans"
	FindingStaticMissing     = "static-missing"
	FindingTrustedMissing    = "trusted-missing"
	FindingHandshakeFailures = "handshake-failures"
	FindingListenerRejects   = "listener-rejections"
	FindingOK                = "ok"
)

// Thresholds of the findings.
const (
	// diagNoInboundAfter is how long a listening node may go without an
	// inbound connection before it is reported as unreachable.
	diagNoInboundAfter = 10 * time.Minute
	// diagStartupGrace is how long after Start an empty discovery table
	// and the absence of dials are normal.
	diagStartupGrace = time.Minute
	// diagMinFailures is the fewest failures that a finding about their
	// reasons is drawn from.
	diagMinFailures = 5
)

// Diagnostics returns a snapshot of the server that explains its peer
// count, with Findings computed from it. Before Start it reports only
// Running false; after Stop it holds the final counters.
func (srv *Server) Diagnostics() Diagnostics {
	now := time.Now()
	st := srv.Stats()
	d := Diagnostics{Time: now.UTC(), Running: st.Running, UptimeSeconds: -1}
	srv.mu.Lock()
	ds, cfg, limits, listenAddr := srv.dialsched, srv.cfg, srv.limits, srv.listenAddr
	srv.mu.Unlock()
	if ds == nil {
		d.Findings = Findings(&d, nil)
		return d
	}
	if t := srv.diagStartedAt(); t > 0 {
		d.UptimeSeconds = int64(now.Sub(time.Unix(0, t)).Seconds())
	}
	if self := srv.Self(); self != nil {
		d.Enode = self.URLv4()
		if ip := self.IPAddr(); ip.IsValid() {
			d.RecordIP = ip.String()
		}
	}
	d.Config = DiagConfig{
		MaxPeers:        cfg.MaxPeers,
		MaxPendingPeers: cfg.MaxPendingPeers,
		NoDial:          cfg.NoDial,
		NoDiscovery:     st.Discovery == nil,
		TrustedOnly:     cfg.Limits.TrustedOnly,
		Bootnodes:       len(cfg.BootstrapNodes),
		Protocols:       len(cfg.Protocols),
	}
	if cfg.NetRestrict != nil {
		d.Config.NetRestrict = cfg.NetRestrict.String()
	}
	if disc := st.Discovery; disc != nil {
		d.Discovery = DiagDiscovery{Enabled: true, TableNodes: disc.TableNodes, Validated: disc.Validated, Timeouts: disc.Timeouts}
		for _, n := range disc.PacketsIn {
			d.Discovery.PacketsIn += n
		}
	}

	sched := ds.Stats()
	d.Slots = DiagSlots{
		MaxPeers:        limits.maxPeers,
		Peers:           st.Peers.Total,
		Inbound:         slotUse(limits.maxInbound, st.Peers.Inbound),
		Outbound:        slotUse(limits.maxOutbound, st.Peers.Outbound),
		Static:          ConfiguredUse{Configured: sched.StaticNodes, Connected: st.Peers.Static},
		Trusted:         ConfiguredUse{Configured: srv.diagTrustedCount(), Connected: st.Peers.Trusted},
		PendingInbound:  st.PendingInbound,
		PendingOutbound: st.PendingOutbound,
	}

	d.Inbound = DiagInbound{
		ListenAddr:       listenAddr,
		SecondsSinceConn: secondsSince(now, srv.lastInboundConn.Load()),
		SecondsSincePeer: secondsSince(now, srv.lastInboundPeer.Load()),
		Rejections:       srv.diagListenerRejections(),
	}

	dials := st.Dials
	d.Dials = DiagDials{
		Attempts:          dials.Dynamic.Started + dials.Static.Started + dials.Bootnode.Started,
		Successes:         dials.Dynamic.Succeeded + dials.Static.Succeeded + dials.Bootnode.Succeeded,
		FailuresByClass:   dials.Failures,
		Dialing:           dials.Dialing,
		BackedOff:         dials.BackedOff,
		BackedOffByReason: srv.diagBackedOffByReason(),
		SkippedBackoff:    dials.SkippedBackoff,
	}
	d.Dials.Failures = dialFailures(dials.Failures)
	d.HandshakeFailures = st.HandshakeFailures

	d.Bans.List = []BanInfo{}
	for _, b := range srv.Bans() {
		if b.ID != (enode.ID{}) {
			d.Bans.IDs++
		} else {
			d.Bans.IPs++
		}
		if len(d.Bans.List) < maxDiagBans {
			d.Bans.List = append(d.Bans.List, b.Info(now))
		}
	}
	d.Findings = Findings(&d, nil)
	return d
}

// The hooks below fill the fields whose data the server does not expose
// yet; each returns "unknown" until it is wired to its source.

// diagStartedAt returns when the server started, in Unix nanoseconds, or 0
// if unknown.
func (srv *Server) diagStartedAt() int64 { return srv.startedAt.Load() }

// diagTrustedCount returns the number of trusted nodes, as the run loop
// last published it.
func (srv *Server) diagTrustedCount() int { return int(srv.trustedCount.Load()) }

// diagListenerRejections returns the listener's rejections by reason, or nil.
func (srv *Server) diagListenerRejections() map[string]uint64 {
	if srv.inbound == nil {
		return nil
	}
	return nilIfEmpty(srv.inbound.stats().Rejected)
}

// diagBackedOffByReason returns the backed-off nodes by reason, or nil.
func (srv *Server) diagBackedOffByReason() map[string]int {
	ds := srv.scheduler()
	if ds == nil {
		return nil
	}
	return nilIfEmpty(dialStats(ds.Stats()).BackedOffByClass)
}

// nilIfEmpty returns m, or nil if it is empty, so that a JSON round trip
// (omitempty) gives back the same value.
func nilIfEmpty[K comparable, V any](m map[K]V) map[K]V {
	if len(m) == 0 {
		return nil
	}
	return m
}

func slotUse(capacity, used int) SlotUse {
	return SlotUse{Cap: capacity, Used: used, Free: max(capacity-used, 0)}
}

func secondsSince(now time.Time, unixNano int64) int64 {
	if unixNano == 0 {
		return -1
	}
	return max(int64(now.Sub(time.Unix(0, unixNano)).Seconds()), 0)
}

// dialFailures sums failures by class, leaving out "none" (dials cut short
// by Stop, failed lookups), which says nothing about the remote.
func dialFailures(byClass map[string]uint64) uint64 {
	var n uint64
	for c, k := range byClass {
		if c != "none" {
			n += k
		}
	}
	return n
}

// Findings draws the conclusions from d, most severe first. If prev is an
// earlier snapshot of the same server, findings about counters look at
// what changed since prev ("in the last 30 s") instead of everything since
// Start. It is a pure function of its arguments.
func Findings(d, prev *Diagnostics) []Finding {
	f := &finder{d: d}
	f.run(prev)
	slices.SortStableFunc(f.out, func(a, b Finding) int { return cmp.Compare(a.Severity.rank(), b.Severity.rank()) })
	if f.out == nil {
		f.out = []Finding{}
	}
	return f.out
}

type finder struct {
	d   *Diagnostics
	out []Finding
}

func (f *finder) add(sev Severity, code, format string, args ...any) {
	f.out = append(f.out, Finding{Severity: sev, Code: code, Message: fmt.Sprintf(format, args...)})
}

// uptime returns the uptime and whether it is known.
func (f *finder) uptime() (time.Duration, bool) {
	if f.d.UptimeSeconds < 0 {
		return 0, false
	}
	return time.Duration(f.d.UptimeSeconds) * time.Second, true
}

// pastGrace reports whether the server has run for at least d, taking an
// unknown uptime as long enough.
func (f *finder) pastGrace(d time.Duration) bool {
	up, ok := f.uptime()
	return !ok || up >= d
}

func (f *finder) run(prev *Diagnostics) {
	d := f.d
	if !d.Running {
		f.add(SeverityError, FindingNotRunning, "The p2p server is not running.")
		return
	}
	s, c := &d.Slots, &d.Config
	listening := d.Inbound.ListenAddr != ""
	if s.Peers == 0 {
		f.add(SeverityError, FindingNoPeers, "No peers; the other findings say why.")
	}

	// Configuration that rules out peers.
	if c.MaxPeers == 0 {
		f.add(SeverityError, FindingMaxPeersZero, "MaxPeers is 0: no peers are dialed or accepted except trusted nodes (set --maxpeers).")
	}
	switch {
	case c.NoDial && !listening:
		f.add(SeverityError, FindingNoDialNoListen, "NoDial is set and the node does not listen: it can get no peers at all.")
	case c.NoDial:
		f.add(SeverityWarning, FindingNoDial, "NoDial is set: the node dials nobody, static nodes included; peers can only come in.")
	case !listening:
		f.add(SeverityWarning, FindingNotListening, "The node does not listen for TCP connections: it can have only the peers it dials (at most %d).", s.Outbound.Cap+s.Static.Configured)
	}
	if c.TrustedOnly {
		f.add(SeverityWarning, FindingTrustedOnly, "Trusted-only mode: only the %d trusted nodes are admitted, both ways.", s.Trusted.Configured)
	}
	if c.NetRestrict != "" {
		f.add(SeverityInfo, FindingNetRestrict, "NetRestrict allows only %s: other nodes are neither dialed nor accepted.", c.NetRestrict)
	}

	f.discovery()
	f.reachability(listening)

	// Slots.
	if s.Inbound.Cap > 0 && s.Inbound.Used >= s.Inbound.Cap {
		f.add(SeverityInfo, FindingInboundFull, "All %d inbound slots are in use: further inbound connections are refused with 'too many peers'.", s.Inbound.Cap)
	}
	if c.MaxPendingPeers > 0 && s.PendingInbound >= c.MaxPendingPeers {
		f.add(SeverityWarning, FindingPendingFull, "All %d inbound handshake slots are busy: a flood of connections, or handshakes that stall; new connections wait in the kernel's backlog.", c.MaxPendingPeers)
	}
	dialing := !c.NoDial && s.Outbound.Cap > 0
	if dialing && s.Outbound.Used < s.Outbound.Cap {
		sev := SeverityInfo
		if s.Outbound.Used == 0 {
			sev = SeverityWarning
		}
		f.add(sev, FindingOutboundBelow, "Outbound peers below target: %d of %d.", s.Outbound.Used, s.Outbound.Cap)
	}
	if s.Static.Configured > s.Static.Connected {
		missing := s.Static.Configured - s.Static.Connected
		if c.NoDial {
			f.add(SeverityWarning, FindingStaticMissing, "%d of %d static nodes not connected; with NoDial they are never dialed.", missing, s.Static.Configured)
		} else {
			f.add(SeverityWarning, FindingStaticMissing, "%d of %d static nodes not connected (down, unreachable, full, or backed off after failures).", missing, s.Static.Configured)
		}
	}
	if s.Trusted.Configured > 0 && s.Trusted.Connected == 0 {
		f.add(SeverityInfo, FindingTrustedMissing, "None of the %d trusted nodes is connected; trusted nodes are not dialed unless they are static nodes too.", s.Trusted.Configured)
	}

	f.dials(prev, dialing)
	f.handshakes(prev)
	f.rejections(prev)

	if d.Dials.BackedOff > 0 || d.Bans.IDs+d.Bans.IPs > 0 {
		msg := fmt.Sprintf("Backed off after failures: %s; banned: %d node IDs and %d IP addresses.", plural(d.Dials.BackedOff, "node"), d.Bans.IDs, d.Bans.IPs)
		if len(d.Dials.BackedOffByReason) > 0 {
			msg += " Backed off by reason: " + formatCounts(d.Dials.BackedOffByReason) + "."
		}
		f.add(SeverityInfo, FindingBackoffBans, "%s", msg)
	}

	if s.Peers > 0 && !f.has(SeverityError) && !f.has(SeverityWarning) {
		f.add(SeverityOK, FindingOK, "%s (%d inbound, %d outbound): nothing wrong found.", plural(s.Peers, "peer"), s.Inbound.Used, s.Outbound.Used)
	}
}

func (f *finder) has(sev Severity) bool {
	return slices.ContainsFunc(f.out, func(x Finding) bool { return x.Severity == sev })
}

func (f *finder) discovery() {
	d, c := f.d, &f.d.Config
	if !d.Discovery.Enabled {
		sev := SeverityInfo
		if d.Slots.Static.Configured == 0 && !c.NoDial && d.Slots.Outbound.Used < d.Slots.Outbound.Cap {
			sev = SeverityWarning
		}
		f.add(sev, FindingDiscoveryOff, "Discovery is off: dial candidates come only from static nodes (%d configured) and the peers of earlier runs.", d.Slots.Static.Configured)
		return
	}
	if d.Discovery.TableNodes > 0 {
		return
	}
	switch {
	case c.Bootnodes == 0:
		f.add(SeverityError, FindingNoBootnodes, "The discovery table is empty and no bootnodes are configured: the node cannot find the network (set --bootnodes).")
	case !f.pastGrace(diagStartupGrace):
		up, _ := f.uptime()
		f.add(SeverityInfo, FindingDiscoveryEmpty, "The discovery table is still empty (started %s ago); it fills from the %d bootnodes.", fmtSeconds(up), c.Bootnodes)
	default:
		f.add(SeverityError, FindingDiscoveryEmpty, "The discovery table is empty: are the %d bootnodes unreachable? UDP to them may be blocked, or they are down.", c.Bootnodes)
	}
}

// reachability reports whether nodes reach us.
func (f *finder) reachability(listening bool) {
	d := f.d
	s := &d.Slots
	if !listening || s.Inbound.Cap == 0 || d.Config.TrustedOnly {
		return
	}
	in := &d.Inbound
	if ap, err := netip.ParseAddrPort(in.ListenAddr); err == nil && ap.Addr().IsLoopback() {
		f.add(SeverityWarning, FindingListenLoopback, "The node listens on the loopback address %s: only nodes on this host can connect.", in.ListenAddr)
		return
	}
	up, upKnown := f.uptime()
	port := listenPort(in.ListenAddr)
	unreachable := fmt.Sprintf("the port is probably not reachable from the Internet; forward TCP and UDP %s to this host", port)
	switch {
	case in.SecondsSinceConn < 0 && !upKnown:
		f.add(SeverityWarning, FindingNoInbound, "No inbound connection yet although listening on %s; if the node has run for more than %s, %s.", in.ListenAddr, fmtSeconds(diagNoInboundAfter), unreachable)
	case in.SecondsSinceConn < 0 && up >= diagNoInboundAfter:
		f.add(SeverityWarning, FindingNoInbound, "No inbound connection since the start %s ago although listening on %s: %s.", fmtSeconds(up), in.ListenAddr, unreachable)
	case in.SecondsSinceConn < 0:
		f.add(SeverityInfo, FindingNoInboundYet, "No inbound connection yet (started %s ago); other nodes learn of a new node through discovery within minutes.", fmtSeconds(up))
	case time.Duration(in.SecondsSinceConn)*time.Second >= diagNoInboundAfter:
		f.add(SeverityWarning, FindingNoInbound, "No inbound connection in the last %s although listening on %s: %s.", fmtSeconds(time.Duration(in.SecondsSinceConn)*time.Second), in.ListenAddr, unreachable)
	case s.Inbound.Free > 0 && (in.SecondsSincePeer < 0 || time.Duration(in.SecondsSincePeer)*time.Second >= diagNoInboundAfter) && f.pastGrace(diagNoInboundAfter):
		f.add(SeverityInfo, FindingInboundNoPeers, "Inbound connections arrive but none became a peer in the last %s: see the handshake failures.", fmtSeconds(diagNoInboundAfter))
	}
	if ip, err := netip.ParseAddr(d.RecordIP); err == nil && netutil.IsLAN(ip) && !ip.IsLoopback() {
		f.add(SeverityInfo, FindingRecordPrivateIP, "The node record announces the private address %s: nodes outside the LAN cannot dial it.", ip)
	}
}

// dials draws findings from the dial counters.
func (f *finder) dials(prev *Diagnostics, dialing bool) {
	d := f.d
	byClass, attempts, period := d.Dials.FailuresByClass, d.Dials.Attempts, "since the start"
	if prev != nil {
		byClass = diffCounts(byClass, prev.Dials.FailuresByClass)
		attempts -= min(prev.Dials.Attempts, attempts)
		period = "in the last " + fmtSeconds(d.Time.Sub(prev.Time))
	}
	if dialing && d.Slots.Outbound.Free > 0 && attempts == 0 && f.pastGrace(diagStartupGrace) {
		f.add(SeverityWarning, FindingNoDialCandidates, "No dial %s although %d outbound slots are free: there are no candidates (empty discovery table, no static nodes, no peers of earlier runs) or all are backed off or banned.", period, d.Slots.Outbound.Free)
	}
	total := dialFailures(byClass)
	if total < diagMinFailures {
		return
	}
	share := func(class string) (uint64, bool) {
		n := byClass[class]
		return n, n*3 >= total*2 // two thirds or more
	}
	quant := func(n uint64) string {
		if n == total {
			return fmt.Sprintf("All %d dial failures %s were", total, period)
		}
		return fmt.Sprintf("%d of %d dial failures %s were", n, total, period)
	}
	if n, ok := share("busy"); ok {
		f.add(SeverityInfo, FindingDialsBusy, "%s 'too many peers' or 'already connected': the nodes found are full; the node keeps trying.", quant(n))
	}
	if n, ok := share("connect"); ok {
		f.add(SeverityWarning, FindingDialsConnect, "%s connection failures (refused, unreachable, timed out): stale candidates, or outgoing TCP blocked by a firewall.", quant(n))
	}
	if n, ok := share("handshake"); ok {
		f.add(SeverityWarning, FindingDialsHandshake, "%s handshake failures (encryption or Hello): the nodes dialed are not what their records say, or something on the path interferes.", quant(n))
	}
	if n, ok := share("protocol"); ok {
		f.add(SeverityWarning, FindingDialsProtocol, "%s protocol mismatches ('useless peer', incompatible version): the nodes found run other protocols; check the bootnodes and the network.", quant(n))
	}
}

// handshakes reports the dominant reason of failed connection setups.
func (f *finder) handshakes(prev *Diagnostics) {
	d := f.d
	type key struct{ phase, reason string }
	counts := make(map[key]uint64)
	var total uint64
	for phase, reasons := range d.HandshakeFailures {
		for reason, n := range reasons {
			if prev != nil {
				n -= min(prev.HandshakeFailures[phase][reason], n)
			}
			if n > 0 {
				counts[key{phase, reason}] = n
				total += n
			}
		}
	}
	if total < 2*diagMinFailures {
		return
	}
	var top key
	for k, n := range counts {
		if n > counts[top] || (n == counts[top] && (k.phase+k.reason) < (top.phase+top.reason)) {
			top = k
		}
	}
	if counts[top]*2 < total {
		return
	}
	period := "since the start"
	if prev != nil {
		period = "in the last " + fmtSeconds(d.Time.Sub(prev.Time))
	}
	f.add(SeverityInfo, FindingHandshakeFailures, "%d of %d failed connection setups %s ended in phase %s with %q.", counts[top], total, period, top.phase, top.reason)
}

// rejections reports the dominant reason of listener rejections, where the
// server counts them.
func (f *finder) rejections(prev *Diagnostics) {
	rej := f.d.Inbound.Rejections
	if prev != nil {
		rej = diffCounts(rej, prev.Inbound.Rejections)
	}
	var total uint64
	top := ""
	for r, n := range rej {
		total += n
		if n > rej[top] || (n == rej[top] && r < top) {
			top = r
		}
	}
	if total < 2*diagMinFailures || rej[top]*2 < total {
		return
	}
	f.add(SeverityInfo, FindingListenerRejects, "%d of %d inbound connections closed by the listener before the handshake were refused for %q.", rej[top], total, top)
}

// diffCounts returns cur minus prev, per key, leaving out zeros.
func diffCounts(cur, prev map[string]uint64) map[string]uint64 {
	out := make(map[string]uint64, len(cur))
	for k, n := range cur {
		if n > prev[k] {
			out[k] = n - prev[k]
		}
	}
	return out
}

func formatCounts[N int | uint64](m map[string]N) string {
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// plural returns "1 peer", "2 peers".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// listenPort returns the port of a listening address, or the address.
func listenPort(addr string) string {
	if _, port, err := net.SplitHostPort(addr); err == nil {
		return port
	}
	return addr
}

// fmtSeconds formats a duration for findings: "45 s", "12 min", "3 h 5 min".
func fmtSeconds(d time.Duration) string {
	d = d.Truncate(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	case d%time.Hour < time.Minute:
		return fmt.Sprintf("%d h", int(d.Hours()))
	}
	return fmt.Sprintf("%d h %d min", int(d.Hours()), int((d % time.Hour).Minutes()))
}
