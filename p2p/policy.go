package p2p

import (
	"errors"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/netutil"
	"github.com/devp2p-go/devp2p/nodedb"
	"github.com/devp2p-go/devp2p/p2p/internal/dialsched"
	"github.com/devp2p-go/devp2p/rlpx"
)

// The failure policy: every failed connection setup and every ended peer
// is classified by phase, direction and reason (a failure), and one table
// (policyTable) maps it to an action: a backoff tier for the dialer, a
// reputation delta and, for severe cases, a ban. docs/peer-policy.md lists
// the table.

// Phases of a failure, for Stats.Failures.
const (
	// PhaseTCP is the TCP connect of a dial.
	PhaseTCP = "tcp"
	// PhaseECIES is the RLPx encryption handshake.
	PhaseECIES = "ecies"
	// PhaseHello is the Hello exchange, including a Disconnect the remote
	// sends instead of Hello.
	PhaseHello = "hello"
	// PhaseAdmission is the server's admission checks around Hello
	// (checkpoints 1 and 2: self, already connected, peer caps, a shared
	// capability).
	PhaseAdmission = "admission"
	// PhaseRunning is a peer that was added and has ended.
	PhaseRunning = "running"
)

// Directions of a failure.
const (
	DirInbound  = "inbound"
	DirOutbound = "outbound"
)

// Reasons of a failure that are not disconnect reasons. Disconnect reasons
// decided here are their go-ethereum text ("breach of protocol", "too many
// peers", …); those the remote sent are "remote:" and the text ("remote:too
// many peers"); an unassigned code the remote sent is "remote:unknown".
const (
	ReasonTimeout  = "timeout"   // a read, the handshake or the TCP connect timed out
	ReasonNetwork  = "network"   // the connection was closed, reset or refused
	ReasonInvalid  = "invalid"   // the encryption handshake's messages did not decrypt or decode
	ReasonMAC      = "mac"       // a frame header or frame MAC did not match
	ReasonTooLarge = "too-large" // a handshake packet, frame or message (after decompression) over the limit
	ReasonSnappy   = "snappy"    // invalid snappy data
	ReasonFrame    = "frame"     // an empty frame or an invalid message code
	ReasonReplay   = "replay"    // a replayed auth message (the handshake's replay filter)
	ReasonFlood    = "flood"     // more messages (pings) than the peer's rate limit
	ReasonUnknown  = "unknown"   // anything else
)

// remoteReasonPrefix marks the disconnect reasons the remote sent.
const remoteReasonPrefix = "remote:"

// policyError is an error that names its failure reason for the table.
type policyError struct{ msg, reason string }

func (e policyError) Error() string        { return e.msg }
func (e policyError) PolicyReason() string { return e.reason }

// errBaseFlood is the error of a peer that sent base-protocol messages
// (pings) faster than its rate limit.
var errBaseFlood error = policyError{"too many base protocol messages", ReasonFlood}

// PolicyReasoner is implemented by errors that name their failure reason
// for the policy table directly, such as the replay filter's (ReasonReplay)
// and a rate limit's (ReasonFlood). Reasons outside the documented set count
// as ReasonUnknown.
type PolicyReasoner interface {
	PolicyReason() string
}

// failure is one failed setup or ended peer.
type failure struct {
	phase, dir, reason string
}

// key is the failure's key in Stats.Failures.
func (f failure) key() string { return f.phase + "/" + f.dir + "/" + f.reason }

// backoffTier is how long the dialer leaves a node alone after a failure:
// the first backoff of the tier, doubling on each consecutive failure of the
// same tier up to one hour (see p2p/internal/dialsched).
type backoffTier uint8

// Backoff tiers.
const (
	backoffNone      backoffTier = iota // not held against the node
	backoffShort                        // 30 s: could not connect
	backoffBusy                         // 3 min: the node is full
	backoffHandshake                    // 15 min: a failed handshake or a wrong identity
	backoffProtocol                     // 15 min: no shared capability, another version, a protocol breach
	backoffSelf                         // 1 h: the node is ourselves
	numBackoffTiers
)

var backoffTierNames = [numBackoffTiers]string{"none", "connect", "busy", "handshake", "protocol", "self"}

// String returns the tier's name, that of the dial scheduler's failure
// class it selects.
func (b backoffTier) String() string {
	if b < numBackoffTiers {
		return backoffTierNames[b]
	}
	return "unknown"
}

// class maps the tier to the dial scheduler's failure class.
func (b backoffTier) class() dialsched.FailureClass {
	switch b {
	case backoffShort:
		return dialsched.ClassConnect
	case backoffBusy:
		return dialsched.ClassBusy
	case backoffHandshake:
		return dialsched.ClassHandshake
	case backoffProtocol:
		return dialsched.ClassProtocol
	case backoffSelf:
		return dialsched.ClassSelf
	}
	return dialsched.ClassNone
}

// banScope says what a ban of the policy covers.
type banScope uint8

// Ban scopes. banIDInboundIP bans the node ID, and the IP address too when
// the connection was inbound (an IP we dialed is the node's advertised
// address, which an attacker could point at someone else).
const (
	banNone        banScope = iota
	banID                   // the node ID
	banIP                   // the IP address (inbound only)
	banIDInboundIP          // the ID, and the IP of an inbound connection
)

// action is what the policy does about a failure.
type action struct {
	backoff backoffTier
	score   int           // reputation delta (≤ 0)
	ban     banScope      // what to ban
	banTTL  time.Duration // for how long
	idTTL   time.Duration // ID ban of banIDInboundIP, if longer than banTTL (the IP ban uses banTTL)
}

// Ban durations of the table.
const (
	severeBanTTL = time.Hour        // ID bans for protocol breaches, bad MACs, identity lies
	ipBanTTL     = 10 * time.Minute // IP bans of inbound connections (an IP may be shared)
	replayBanTTL = time.Hour        // IP bans for replayed auth messages
)

// policyRule is one row of the table: phase and dir empty match any, and
// reasons nil matches any.
type policyRule struct {
	phase, dir string
	reasons    []string
	act        action
}

// Reason groups of the table.
var (
	transportBreach = []string{ReasonMAC, ReasonTooLarge, ReasonSnappy, ReasonFrame}
	remoteBusy      = []string{remote(DiscTooManyPeers), remote(DiscAlreadyConnected)}
	remoteRefusal   = []string{remote(DiscUselessPeer), remote(DiscIncompatibleVersion),
		remote(DiscProtocolError), remote(DiscSubprotocolError)}
	remoteIdentity = []string{remote(DiscInvalidIdentity), remote(DiscUnexpectedIdentity)}
	remoteNetwork  = []string{remote(DiscNetworkError), remote(DiscReadTimeout), remoteReasonPrefix + ReasonUnknown}
	remoteGone     = []string{remote(DiscQuitting), remote(DiscRequested)}
)

func remote(d DiscReason) string { return remoteReasonPrefix + d.String() }

// severe is the action for a breach: ban the ID for an hour (and an inbound
// IP for 10 min), drop the reputation, back off 15 min.
var severe = action{backoff: backoffProtocol, score: -500, ban: banIDInboundIP, banTTL: ipBanTTL, idTTL: severeBanTTL}

// policyTable is the one table of the failure policy. The first row that
// matches a failure gives its action. Every row is checked by
// TestPolicyTable; docs/peer-policy.md lists them.
var policyTable = []policyRule{
	// TCP connect of a dial.
	{phase: PhaseTCP, act: action{backoff: backoffShort, score: -10}},

	// Encryption handshake.
	{phase: PhaseECIES, reasons: []string{ReasonReplay},
		act: action{ban: banIP, banTTL: replayBanTTL}},
	{phase: PhaseECIES, dir: DirInbound, reasons: []string{ReasonTooLarge},
		act: action{ban: banIP, banTTL: ipBanTTL}},
	{phase: PhaseECIES, dir: DirInbound, act: action{}}, // slow or garbage clients: the listener's per-IP caps
	{phase: PhaseECIES, dir: DirOutbound, reasons: []string{ReasonTimeout, ReasonNetwork},
		act: action{backoff: backoffShort, score: -10}},
	{phase: PhaseECIES, dir: DirOutbound, act: action{backoff: backoffHandshake, score: -50}}, // invalid: another key at that address

	// Hello and the running peer share the rows for what the remote sends.
	{phase: PhaseHello, reasons: transportBreach, act: severe},
	{phase: PhaseRunning, reasons: transportBreach, act: severe},
	{reasons: []string{DiscProtocolError.String(), ReasonFlood}, act: severe},
	{reasons: []string{DiscInvalidIdentity.String(), DiscUnexpectedIdentity.String()},
		act: action{backoff: backoffHandshake, score: -500, ban: banIDInboundIP, banTTL: ipBanTTL, idTTL: severeBanTTL}},
	{reasons: []string{DiscIncompatibleVersion.String()}, act: action{backoff: backoffProtocol, score: -50}},
	{reasons: []string{DiscSubprotocolError.String()}, act: action{backoff: backoffProtocol, score: -100}},
	{reasons: []string{DiscUselessPeer.String()}, act: action{backoff: backoffProtocol, score: -20}},
	{reasons: []string{ReasonTimeout}, act: action{backoff: backoffShort, score: -20}},
	{reasons: []string{ReasonNetwork}, act: action{backoff: backoffShort, score: -5}},
	{reasons: []string{DiscSelf.String(), remote(DiscSelf)}, act: action{backoff: backoffSelf}},

	// What the remote sent.
	{reasons: remoteBusy, act: action{backoff: backoffBusy}},
	{reasons: remoteRefusal, act: action{backoff: backoffProtocol, score: -20}},
	{reasons: remoteIdentity, act: action{backoff: backoffHandshake, score: -20}},
	{reasons: remoteNetwork, act: action{backoff: backoffShort}},
	{reasons: remoteGone, act: action{}},

	// Our own decisions that are not the remote's fault: caps, a
	// connection the other way, our quitting, an operator's request. A
	// node we dialed while full is left alone for a while.
	{phase: PhaseAdmission, dir: DirOutbound, reasons: []string{DiscTooManyPeers.String(), DiscAlreadyConnected.String()},
		act: action{backoff: backoffBusy}},
	{reasons: []string{DiscTooManyPeers.String(), DiscAlreadyConnected.String(), DiscQuitting.String(),
		DiscRequested.String()}, act: action{}},

	// Anything else.
	{act: action{backoff: backoffShort, score: -5}},
}

// lookupRule returns the index of the first row matching f.
func lookupRule(f failure) int {
	for i, r := range policyTable {
		if (r.phase == "" || r.phase == f.phase) && (r.dir == "" || r.dir == f.dir) &&
			(r.reasons == nil || slices.Contains(r.reasons, f.reason)) {
			return i
		}
	}
	return len(policyTable) - 1 // the last row matches everything
}

// lookupAction returns the action for f.
func lookupAction(f failure) action { return policyTable[lookupRule(f)].act }

// knownReasons is the closed set of reasons besides the disconnect reasons.
var knownReasons = map[string]bool{
	ReasonTimeout: true, ReasonNetwork: true, ReasonInvalid: true, ReasonMAC: true, ReasonTooLarge: true,
	ReasonSnappy: true, ReasonFrame: true, ReasonReplay: true, ReasonFlood: true, ReasonUnknown: true,
}

// setupPhase tells the phase in which a connection setup failed.
func setupPhase(err error) string {
	if errors.Is(err, errEncHandshake) || errors.Is(err, errNoPubkey) {
		return PhaseECIES
	}
	var pe *PeerError
	if errors.As(err, &pe) && (pe.Msg == stageCheckpoint1 || pe.Msg == stageCheckpoint2) {
		return PhaseAdmission
	}
	return PhaseHello
}

// classifySetup classifies the error that ended a connection setup.
func classifySetup(dir string, err error) failure {
	phase := setupPhase(err)
	var pe *PeerError
	// A bare disconnect reason is what the remote sent instead of Hello.
	remoteSent := phase == PhaseHello && !errors.As(err, &pe) && isDiscReason(err)
	return failure{phase: phase, dir: dir, reason: failureReason(err, remoteSent)}
}

// classifyDrop classifies the error that ended a running peer.
func classifyDrop(dir string, err error, remoteRequested bool) failure {
	return failure{phase: PhaseRunning, dir: dir, reason: failureReason(err, remoteRequested)}
}

func isDiscReason(err error) bool {
	var d DiscReason
	return errors.As(err, &d)
}

// failureReason returns the reason of err in the closed set.
func failureReason(err error, remoteSent bool) string {
	if remoteSent {
		var d DiscReason
		if errors.As(err, &d) && d.Valid() {
			return remote(d)
		}
		return remoteReasonPrefix + ReasonUnknown
	}
	var pr PolicyReasoner
	if errors.As(err, &pr) {
		if r := pr.PolicyReason(); knownReasons[r] {
			return r
		}
		return ReasonUnknown
	}
	switch {
	case errors.Is(err, rlpx.ErrHeaderMAC), errors.Is(err, rlpx.ErrFrameMAC):
		return ReasonMAC
	case errors.Is(err, rlpx.ErrHandshakeTooLarge), errors.Is(err, rlpx.ErrMessageTooLarge):
		return ReasonTooLarge
	case errors.Is(err, rlpx.ErrSnappy):
		return ReasonSnappy
	case errors.Is(err, rlpx.ErrMessageCode), errors.Is(err, rlpx.ErrEmptyFrame):
		return ReasonFrame
	case errors.Is(err, errEncHandshake), errors.Is(err, errNoPubkey):
		var ne net.Error
		switch {
		case errors.As(err, &ne) && ne.Timeout():
			return ReasonTimeout
		case isNetError(err):
			return ReasonNetwork
		}
		return ReasonInvalid
	}
	var d DiscReason
	switch {
	case errors.As(err, &d):
		switch d {
		case DiscReadTimeout:
			return ReasonTimeout
		case DiscNetworkError:
			return ReasonNetwork
		}
		if d.Valid() {
			return d.String()
		}
		return ReasonUnknown
	case errors.Is(err, errProtocolReturned):
		return DiscQuitting.String()
	case netutil.IsTimeout(err):
		return ReasonTimeout
	case isNetError(err):
		return ReasonNetwork
	}
	return DiscSubprotocolError.String() // a protocol's Run returned an error
}

// Policy holds the settings of the peer policy: reputation, automatic bans
// and anchors, set in Config.Policy. The zero value gives the defaults.
type Policy struct {
	// BanThreshold is the reputation at or below which a node is banned
	// by ID for ReputationBanTTL. Zero means −500; it is clamped to
	// nodedb.MinScore…−1.
	BanThreshold int

	// ReputationBanTTL is the length of a ban for a low reputation. Zero
	// means 1 h.
	ReputationBanTTL time.Duration

	// DialThreshold is the least reputation of a dynamic dial candidate.
	// Zero means −200.
	DialThreshold int

	// RecoveryInterval is the connection time that earns one point of
	// reputation, up to MaxEarnedScore. Zero means 10 s.
	RecoveryInterval time.Duration

	// MaxAnchors is the number of anchors kept. Zero means 4; negative
	// means none.
	MaxAnchors int

	// AnchorMinAge is how long an outbound peer must have been connected
	// to become an anchor. Zero means 5 min.
	AnchorMinAge time.Duration

	// AnchorWait bounds how long the anchor dials after a restart hold
	// back other dial candidates. Zero means 5 s.
	AnchorWait time.Duration

	// NoAutoBans disables the bans of the table and of a low reputation
	// (reputation is still kept and used by the dialer).
	NoAutoBans bool
}

// Policy defaults.
const (
	defaultBanThreshold     = -500
	defaultReputationBanTTL = time.Hour
	defaultDialThreshold    = -200
	defaultRecoveryInterval = 10 * time.Second
	defaultMaxAnchors       = 4
	defaultAnchorMinAge     = 5 * time.Minute
	defaultAnchorWait       = 5 * time.Second

	// MaxEarnedScore is the most reputation connection time earns.
	MaxEarnedScore = 100
	// protectedPenalty caps one penalty of a trusted or static node.
	protectedPenalty = -10
	// reputationCacheSize bounds the reputations held in memory.
	reputationCacheSize = 10000
)

func (p Policy) withDefaults() Policy {
	if p.BanThreshold == 0 {
		p.BanThreshold = defaultBanThreshold
	}
	p.BanThreshold = min(max(p.BanThreshold, nodedb.MinScore), -1)
	setDefault(&p.ReputationBanTTL, defaultReputationBanTTL)
	if p.DialThreshold == 0 {
		p.DialThreshold = defaultDialThreshold
	}
	setDefault(&p.RecoveryInterval, defaultRecoveryInterval)
	switch {
	case p.MaxAnchors == 0:
		p.MaxAnchors = defaultMaxAnchors
	case p.MaxAnchors < 0:
		p.MaxAnchors = 0
	}
	setDefault(&p.AnchorMinAge, defaultAnchorMinAge)
	setDefault(&p.AnchorWait, defaultAnchorWait)
	return p
}

// policy returns the server's policy settings with defaults applied.
func (cfg *Config) policy() Policy {
	return cfg.Policy.withDefaults()
}

// trusted reports whether id is in the trusted set.
func (ps *policyState) trusted(id enode.ID) bool {
	ps.trustMu.RLock()
	defer ps.trustMu.RUnlock()
	return ps.trust[id]
}

// setTrusted adds id to the trusted set or removes it. The run loop calls
// it when AddTrustedPeer or RemoveTrustedPeer changes the set.
func (ps *policyState) setTrusted(id enode.ID, on bool) {
	ps.trustMu.Lock()
	defer ps.trustMu.Unlock()
	if on {
		ps.trust[id] = true
	} else {
		delete(ps.trust, id)
	}
}

// policyState is the policy's state in a Server: failure counters,
// reputation and the settings. It lives in Server.pol.
type policyState struct {
	mu     sync.Mutex
	counts map[string]uint64            // by failure key
	legacy map[string]map[string]uint64 // HandshakeFailures: phase → reason

	// Set by setupPolicy, before any goroutine of the server starts.
	cfg     Policy
	rep     *reputation
	anchors []*enode.Node // of earlier runs, dialed first

	trustMu sync.RWMutex
	trust   map[enode.ID]bool // the trusted set, kept by the run loop

	store atomic.Pointer[peerStore] // set by startPolicy
}

// count adds one failure.
func (ps *policyState) count(f failure) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.counts == nil {
		ps.counts = make(map[string]uint64)
	}
	ps.counts[f.key()]++
}

func (ps *policyState) countsSnapshot() map[string]uint64 {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	out := make(map[string]uint64, len(ps.counts))
	for k, n := range ps.counts {
		out[k] = n
	}
	return out
}

// failureSubject is whom a failure is held against.
type failureSubject struct {
	id        enode.ID   // zero if unknown (before the encryption handshake ends)
	ip        netip.Addr // the remote IP, if known
	protected bool       // a trusted or static node: penalties capped, no automatic bans
	lifetime  time.Duration
}

// setupPolicy prepares the policy state at Start, before the dial scheduler.
func (srv *Server) setupPolicy() {
	ps := &srv.pol
	ps.cfg = srv.cfg.policy()
	ps.rep = newReputation(srv.nodedb, reputationCacheSize)
	ps.trust = make(map[enode.ID]bool)
	for _, n := range srv.cfg.TrustedNodes {
		ps.setTrusted(n.ID(), true)
	}
	srv.loadBans()
	ps.anchors = srv.anchorNodes()
}

// startPolicy runs at Start once the peer store exists.
func (srv *Server) startPolicy() {
	srv.store.setPolicy(srv.pol.cfg, srv.quit)
	srv.pol.store.Store(srv.store)
}

// dialFailed applies the policy to a failed setup of a dialed connection.
func (srv *Server) dialFailed(dest *enode.Node, static bool, err error) {
	if err == nil || errors.Is(err, ErrServerStopped) || srv.stopping() {
		return // Stop closes the connections in setup: not the remote's fault
	}
	ps := &srv.pol
	ps.countLegacy(err)
	subj := failureSubject{id: dest.ID(), ip: dest.IPAddr(), protected: static || ps.trusted(dest.ID())}
	srv.applyFailure(classifySetup(DirOutbound, err), subj)
}

// connectFailed applies the policy to a dial whose TCP connect failed. It
// is the scheduler's ConnectFailed.
func (srv *Server) connectFailed(dest *enode.Node, static bool, err error) {
	reason := ReasonNetwork
	if netutil.IsTimeout(err) {
		reason = ReasonTimeout
	}
	ps := &srv.pol
	subj := failureSubject{id: dest.ID(), ip: dest.IPAddr(), protected: static || ps.trusted(dest.ID())}
	srv.applyFailure(failure{phase: PhaseTCP, dir: DirOutbound, reason: reason}, subj)
}

// inboundSetupFailed applies the policy to a failed setup of an accepted
// connection; setupConn calls it.
func (srv *Server) inboundSetupFailed(c *conn, err error) {
	if err == nil || errors.Is(err, ErrServerStopped) || !c.flags.is(inboundConn) || srv.stopping() {
		return
	}
	srv.pol.countLegacy(err)
	subj := failureSubject{id: c.id, ip: netutil.AddrFromNetAddr(c.fd.RemoteAddr()).Unmap()}
	subj.protected = c.flags.is(trustedConn) || srv.pol.trusted(c.id)
	srv.applyFailure(classifySetup(DirInbound, err), subj)
}

// stopping reports whether Stop has begun. srv.quit is set by Start before
// any goroutine that calls this starts.
func (srv *Server) stopping() bool {
	select {
	case <-srv.quit:
		return true
	default:
		return false
	}
}

// peerEnded applies the policy to a peer that has ended, and credits the
// reputation its connection time earned. It runs on the run loop.
func (srv *Server) peerEnded(pd peerDrop) {
	flags := pd.p.connFlags()
	dir := DirOutbound
	if flags.is(inboundConn) {
		dir = DirInbound
	}
	subj := failureSubject{
		id:        pd.p.ID(),
		ip:        netutil.AddrFromNetAddr(pd.p.RemoteAddr()).Unmap(),
		protected: flags.is(trustedConn) || flags.is(staticDialedConn),
		lifetime:  pd.p.Lifetime(),
	}
	srv.applyFailure(classifyDrop(dir, pd.err, pd.remoteRequested), subj)
}

// applyFailure counts f and applies its action to subj.
func (srv *Server) applyFailure(f failure, subj failureSubject) {
	ps := &srv.pol
	ps.count(f)
	act := lookupAction(f)
	if ps.rep == nil {
		return // not started
	}
	autoBans := !ps.cfg.NoAutoBans && !subj.protected
	if autoBans && act.ban != banNone {
		reason := "policy: " + f.key()
		ipTTL, idTTL := act.banTTL, max(act.idTTL, act.banTTL)
		switch act.ban {
		case banID:
			if subj.id != (enode.ID{}) {
				srv.addBan(Ban{ID: subj.id, Reason: reason, Auto: true}, idTTL)
			}
		case banIP:
			if f.dir == DirInbound && subj.ip.IsValid() {
				srv.addBan(Ban{IP: subj.ip, Reason: reason, Auto: true}, ipTTL)
			}
		case banIDInboundIP:
			if subj.id != (enode.ID{}) {
				srv.addBan(Ban{ID: subj.id, Reason: reason, Auto: true}, idTTL)
			}
			if f.dir == DirInbound && subj.ip.IsValid() {
				srv.addBan(Ban{IP: subj.ip, Reason: reason, Auto: true}, ipTTL)
			}
		}
	}
	if subj.id == (enode.ID{}) {
		return
	}
	delta := act.score
	if subj.protected {
		delta = max(delta, protectedPenalty)
	}
	earned := 0
	if subj.lifetime > 0 {
		earned = int(subj.lifetime / ps.cfg.RecoveryInterval)
	}
	score, changed := ps.rep.update(subj.id, earned, delta)
	if autoBans && score <= ps.cfg.BanThreshold {
		if !srv.bans.idBanned(subj.id) {
			srv.addBan(Ban{ID: subj.id, Reason: "policy: reputation", Auto: true}, ps.cfg.ReputationBanTTL)
		}
		// Start the next round halfway: a node that comes back must
		// misbehave again, but less, to be banned again.
		score, changed = ps.rep.update(subj.id, 0, ps.cfg.BanThreshold/2-score)
		changed = true
	}
	if st := ps.store.Load(); changed && st != nil {
		st.scoreChanged(subj.id, score)
	}
}

// classifyError maps the error that ended a dialed setup, or a peer, to
// the scheduler's failure classes through the policy table (the rows of
// an outbound connection; a peer's end is looked up in the rows of the
// phase its error names, which give running peers the same tiers).
func classifyError(err error) dialsched.FailureClass {
	if err == nil || errors.Is(err, ErrServerStopped) {
		return dialsched.ClassNone
	}
	return lookupAction(classifySetup(DirOutbound, err)).backoff.class()
}

// isNetError reports whether err comes from the network rather than from
// the bytes received.
func isNetError(err error) bool {
	return dialsched.DefaultClassify(err) == dialsched.ClassConnect
}

// dialScore is the scheduler's Score: a node's reputation.
func (srv *Server) dialScore(id enode.ID) int {
	return srv.pol.rep.get(id)
}

// dialBanned is the scheduler's Banned.
func (srv *Server) dialBanned(n *enode.Node) bool {
	return srv.bans.idBanned(n.ID()) || srv.bans.ipBanned(n.IPAddr())
}

// dialTrusted is the scheduler's Trusted.
func (srv *Server) dialTrusted(id enode.ID) bool { return srv.pol.trusted(id) }
