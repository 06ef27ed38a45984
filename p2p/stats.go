package p2p

import (
	"errors"
	"net"

	"github.com/devp2p-go/devp2p/discover"
	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/p2p/internal/dialsched"
)

// ServerStats is a snapshot of the server for metrics and diagnostics. Counters
// only grow while the server lives; the others are current values.
type ServerStats struct {
	Running bool `json:"running"`

	// Peers counts the connected peers by direction and class.
	Peers PeerCounts `json:"peers"`
	// PendingInbound and PendingOutbound count the connections in their
	// handshakes (accepted or dialed, not yet peers or refused).
	PendingInbound  int `json:"pendingInbound"`
	PendingOutbound int `json:"pendingOutbound"`

	// Dials are the dial scheduler's counters.
	Dials DialStats `json:"dials"`

	// HandshakeFailures counts failed connection setups by phase
	// (HandshakePhase…) and reason. The reason is the disconnect reason
	// (its go-ethereum text) sent or received, or for the encryption
	// handshake one of "timeout", "network", "invalid" and "replay". Setups cut
	// short by Stop are not counted.
	HandshakeFailures map[string]map[string]uint64 `json:"handshakeFailures"`

	// Failures counts every failed connection setup and every ended peer
	// by "phase/direction/reason" (see docs/peer-policy.md for the closed
	// sets: phases tcp, ecies, hello, admission, running; directions
	// inbound, outbound; reasons the disconnect reason texts, "remote:"
	// and the text for those the remote sent, and timeout, network,
	// invalid, mac, too-large, snappy, frame, replay, flood, unknown).
	// Setups and peers cut short by Stop count as "client quitting" or
	// not at all.
	Failures map[string]uint64 `json:"failures"`

	// Bans is the number of bans in force (one per banned ID or IP).
	Bans int `json:"bans"`

	// Listener counts what the listener refused before any cryptography,
	// and the handshakes it allowed a full server for courtesy refusals
	// and evictions.
	Listener ListenerStats `json:"listener"`

	// Discovery is a snapshot of discovery v4, with its table size
	// (Discovery.TableNodes); nil when discovery is off.
	Discovery *discover.Stats `json:"discovery,omitempty"`

	// PeerStore counts the writes of the peer store.
	PeerStore PeerStoreStats `json:"peerStore"`

	// Protocols counts the messages of each configured protocol, by
	// protocol name, over all peers the server has had.
	Protocols map[string]ProtocolStats `json:"protocols"`
}

// PeerCounts counts connected peers. A peer counts once in Inbound or
// Outbound and once in Static, Dynamic or neither (inbound); Trusted
// overlaps with all of them.
type PeerCounts struct {
	Total    int `json:"total"`
	Inbound  int `json:"inbound"`
	Outbound int `json:"outbound"`
	Trusted  int `json:"trusted"`
	Static   int `json:"static"`  // dialed because static
	Dynamic  int `json:"dynamic"` // dialed to fill an outbound slot
}

// DialCounts counts the dials of one kind.
type DialCounts struct {
	Started   uint64 `json:"started"`
	Succeeded uint64 `json:"succeeded"` // the peer was added
	Failed    uint64 `json:"failed"`
}

// DialStats are the dial scheduler's counters and state.
type DialStats struct {
	Dynamic  DialCounts `json:"dynamic"`  // candidates from discovery and the peer store
	Static   DialCounts `json:"static"`   // static nodes
	Bootnode DialCounts `json:"bootnode"` // fallback dials of bootnodes

	// Failures counts failed dials by class: "connect", "busy" (too many
	// peers, already connected), "handshake", "protocol", "self", and
	// "none" for dials cut short by Stop and failed lookups of static
	// nodes.
	Failures map[string]uint64 `json:"failures"`

	SkippedBackoff uint64 `json:"skippedBackoff"` // candidates skipped because backed off
	SkippedScore   uint64 `json:"skippedScore"`   // candidates dropped for a reputation below Policy.DialThreshold
	SkippedSubnet  uint64 `json:"skippedSubnet"`  // candidates dropped because their subnet had its share of outbound peers
	SkippedBanned  uint64 `json:"skippedBanned"`  // candidates dropped because banned
	Discarded      uint64 `json:"discarded"`      // candidates failing another check
	BackedOff      int    `json:"backedOff"`      // nodes backed off now
	Dialing        int    `json:"dialing"`        // dials in flight

	// BackedOffByClass splits BackedOff by the class of each node's last
	// failure (the names of Failures).
	BackedOffByClass map[string]int `json:"backedOffByClass"`
}

// ListenerStats are the listener's counters.
type ListenerStats struct {
	// Rejected counts the connections closed before any cryptography, by
	// reason: "not in netrestrict list", "banned", "too many attempts",
	// "too many pending handshakes from IP", "no inbound slot free" and
	// the others of docs/limits.md.
	Rejected map[string]uint64 `json:"rejected"`
	// Courtesy counts connections of a full server given the handshake
	// for a courtesy refusal (DiscTooManyPeers after checkpoint 1).
	Courtesy uint64 `json:"courtesy"`
	// EvictTries counts connections of a full server given the handshake
	// because an inbound peer could be evicted for them; Evicted counts
	// the inbound peers evicted.
	EvictTries uint64 `json:"evictTries"`
	Evicted    uint64 `json:"evicted"`
	// StalledClosed counts inbound setups closed to make room for new
	// ones (see docs/limits.md, pending slots): with every waiting slot
	// taken, the connection that had waited longest for its auth packet;
	// with every handshake slot taken, a setup that had waited a while
	// for its Hello (StalledHello counts these alone).
	StalledClosed uint64 `json:"stalledClosed"`
	StalledHello  uint64 `json:"stalledHello"`
}

// PeerStoreStats counts the peer store's writes.
type PeerStoreStats struct {
	Written uint64 `json:"written"` // records written
	Failed  uint64 `json:"failed"`  // writes that failed
	Dropped uint64 `json:"dropped"` // updates dropped because the disk fell behind
}

// Phases of a connection setup, for Stats.HandshakeFailures.
const (
	// HandshakePhaseRLPx is the encryption handshake.
	HandshakePhaseRLPx = "rlpx"
	// HandshakePhaseCheckpoint1 is the admission check after it (self,
	// already connected, too many peers).
	HandshakePhaseCheckpoint1 = "checkpoint1"
	// HandshakePhaseHello is the Hello exchange, including a Disconnect
	// the remote sends instead of Hello.
	HandshakePhaseHello = "hello"
	// HandshakePhaseCheckpoint2 is the admission check after Hello
	// (shared capability, the checks of checkpoint 1 again).
	HandshakePhaseCheckpoint2 = "checkpoint2"
)

// Stages of localError for the checkpoints.
const (
	stageCheckpoint1 = "checkpoint 1"
	stageCheckpoint2 = "checkpoint 2"
)

// countLegacy counts a failed setup in HandshakeFailures.
func (ps *policyState) countLegacy(err error) {
	phase, reason := setupFailure(err)
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.legacy == nil {
		ps.legacy = make(map[string]map[string]uint64)
	}
	if ps.legacy[phase] == nil {
		ps.legacy[phase] = make(map[string]uint64)
	}
	ps.legacy[phase][reason]++
}

func (ps *policyState) snapshot() map[string]map[string]uint64 {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	out := make(map[string]map[string]uint64, len(ps.legacy))
	for phase, reasons := range ps.legacy {
		cp := make(map[string]uint64, len(reasons))
		for r, n := range reasons {
			cp[r] = n
		}
		out[phase] = cp
	}
	return out
}

// setupFailure tells the phase in which a setup failed and why.
func setupFailure(err error) (phase, reason string) {
	if errors.Is(err, errEncHandshake) || errors.Is(err, errNoPubkey) {
		var ne net.Error
		switch {
		case errors.Is(err, errAuthReplay):
			reason = ReasonReplay
		case errors.As(err, &ne) && ne.Timeout():
			reason = "timeout"
		case isNetError(err):
			reason = "network"
		default:
			reason = "invalid"
		}
		return HandshakePhaseRLPx, reason
	}
	var pe *PeerError
	if errors.As(err, &pe) {
		switch pe.Msg {
		case stageCheckpoint1:
			return HandshakePhaseCheckpoint1, pe.Reason.String()
		case stageCheckpoint2:
			return HandshakePhaseCheckpoint2, pe.Reason.String()
		}
	}
	return HandshakePhaseHello, DiscReasonFor(err).String()
}

// Stats returns a snapshot of the server. Before Start it is empty; after
// Stop it holds the final counters.
func (srv *Server) Stats() ServerStats {
	srv.mu.Lock()
	st := ServerStats{Running: srv.running}
	ds, disc, store, setups := srv.dialsched, srv.discv4, srv.store, len(srv.setups)
	traffic := srv.traffic
	srv.mu.Unlock()
	if ds == nil {
		return st // not started
	}
	if st.Running {
		srv.doPeerOp(func(peers map[enode.ID]*Peer) {
			for _, p := range peers {
				st.Peers.add(p.connFlags())
			}
		})
		if srv.inbound != nil {
			st.PendingInbound = srv.inbound.pendingCount()
		}
		st.PendingOutbound = max(setups-st.PendingInbound, 0)
		if disc != nil {
			d := disc.Stats()
			st.Discovery = &d
		}
	}
	st.Dials = dialStats(ds.Stats())
	st.HandshakeFailures = srv.pol.snapshot()
	st.Failures = srv.pol.countsSnapshot()
	if srv.bans != nil {
		st.Bans = srv.bans.count()
	}
	st.Protocols = traffic.snapshot()
	if srv.inbound != nil {
		l := srv.inbound.stats()
		st.Listener = ListenerStats{Rejected: l.Rejected, Courtesy: l.Courtesy, EvictTries: l.EvictTries, Evicted: l.Evicted}
		w, h := srv.pendingSlots.closed()
		st.Listener.StalledClosed, st.Listener.StalledHello = w+h, h
	}
	if store != nil {
		st.PeerStore = PeerStoreStats{
			Written: store.written.Load(),
			Failed:  store.failed.Load(),
			Dropped: store.dropped.Load(),
		}
	}
	return st
}

func (c *PeerCounts) add(f connFlag) {
	c.Total++
	if f.is(inboundConn) {
		c.Inbound++
	} else {
		c.Outbound++
	}
	if f.is(trustedConn) {
		c.Trusted++
	}
	if f.is(staticDialedConn) {
		c.Static++
	}
	if f.is(dynDialedConn) {
		c.Dynamic++
	}
}

func dialStats(s dialsched.Stats) DialStats {
	d := DialStats{
		Dynamic:        DialCounts(s.Dynamic),
		Static:         DialCounts(s.Static),
		Bootnode:       DialCounts(s.Bootnode),
		Failures:       make(map[string]uint64, len(s.Failures)),
		SkippedBackoff: s.SkippedBackoff,
		SkippedScore:   s.SkippedScore,
		SkippedSubnet:  s.SkippedSubnet,
		SkippedBanned:  s.SkippedBanned,
		Discarded:      s.Discarded,
		BackedOff:      s.BackedOff,
		Dialing:        s.Dialing,
	}
	for c, n := range s.Failures {
		d.Failures[c.String()] = n
	}
	d.BackedOffByClass = make(map[string]int, len(s.BackedOffByClass))
	for c, n := range s.BackedOffByClass {
		d.BackedOffByClass[c.String()] = n
	}
	return d
}

// pendingCount returns the number of inbound handshakes in flight.
func (s *inboundState) pendingCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.pending {
		n += c
	}
	return n
}
