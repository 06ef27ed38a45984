package p2p

import (
	"bytes"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/internal/mclock"
	"github.com/devp2p-go/devp2p/nodedb"
)

// The peer store: the run loop reports every peer that is added and
// dropped, and a goroutine of its own (storeLoop) writes the peer's record
// (nodedb.PeerRecord) into the node database, so that the run loop never
// waits for the disk. The same goroutine runs the database's periodic upkeep
// (nodedb.DB.Maintain). It also writes reputation and bans (nodedb.DB.PutBan
// and DeleteBan), and elects the anchors. At Start, the anchors and then the
// best outbound peers of earlier runs are read from the store and dialed
// before any discovery candidate.

// Peer records of peers not seen for peerRecordLifetime are deleted
// (anchors and banned peers are kept), checked every peerExpireInterval,
// so that the records of passing inbound peers do not pile up.
const (
	peerRecordLifetime = 30 * 24 * time.Hour
	peerExpireInterval = time.Hour
)

// maxStoreQueue bounds the peer store's queue. When the disk is so slow
// that it fills, further updates are dropped (and counted) rather than
// held in memory without bound.
const maxStoreQueue = 4096

// Kinds of storeOp.
const (
	opSession = iota // a session started or ended
	opScore          // the reputation changed
	opBan            // a ban was set
	opUnban          // bans were lifted
)

// storeOp is one update of the peer store.
type storeOp struct {
	kind     int
	score    int              // opScore
	ban      nodedb.BanRecord // opBan
	ip       netip.Addr       // opUnban, with id
	stopping bool             // opSession: ended by the server's Stop

	added  bool // session started; else ended
	id     enode.ID
	node   *enode.Node // the dialed record; nil for inbound peers
	dialed bool
	at     time.Time     // wall time of the event
	dur    time.Duration // length of the ended session
	reason string        // why the session ended
}

// peerStore writes peer records on its own goroutine.
type peerStore struct {
	db       *nodedb.DB
	log      *slog.Logger
	clock    mclock.Clock
	maintain time.Duration

	mu      sync.Mutex // guards queue, closed, policy and srvQuit
	queue   []storeOp
	closed  bool
	policy  Policy          // anchors; set by setPolicy
	srvQuit <-chan struct{} // closed by the server's Stop

	// Owned by loop: the outbound sessions running (and those ended by
	// Stop), and the current anchors (nil until loaded).
	live    map[enode.ID]liveSession
	anchors map[enode.ID]bool
	wake    chan struct{} // cap 1
	quit    chan struct{}
	done    chan struct{}
	dropped atomic.Uint64 // updates dropped because the queue was full
	written atomic.Uint64 // records written
	failed  atomic.Uint64 // writes that failed
}

func newPeerStore(db *nodedb.DB, log *slog.Logger, clock mclock.Clock, maintain time.Duration) *peerStore {
	s := &peerStore{
		db:       db,
		log:      log,
		clock:    clock,
		maintain: maintain,
		wake:     make(chan struct{}, 1),
		quit:     make(chan struct{}),
		done:     make(chan struct{}),
		live:     make(map[enode.ID]liveSession),
	}
	go s.loop()
	return s
}

// liveSession is an outbound session the store knows to be running.
type liveSession struct {
	start time.Time
}

// setPolicy sets the anchor settings and the server's quit channel, which
// tells the sessions ended by Stop.
func (s *peerStore) setPolicy(p Policy, quit <-chan struct{}) {
	s.mu.Lock()
	s.policy, s.srvQuit = p, quit
	s.mu.Unlock()
}

// scoreChanged records id's new reputation (in its record, if it has one).
// It does not block.
func (s *peerStore) scoreChanged(id enode.ID, score int) {
	s.push(storeOp{kind: opScore, id: id, score: score})
}

// banChanged stores a ban (nodedb.DB.PutBan). It does not block.
func (s *peerStore) banChanged(b nodedb.BanRecord) {
	s.push(storeOp{kind: opBan, ban: b})
}

// banLifted deletes the stored bans of id (if not zero) and ip (if valid).
// It does not block.
func (s *peerStore) banLifted(id enode.ID, ip netip.Addr) {
	s.push(storeOp{kind: opUnban, id: id, ip: ip})
}

// stopping reports whether the server is stopping.
func (s *peerStore) stopping() bool {
	s.mu.Lock()
	q := s.srvQuit
	s.mu.Unlock()
	if q == nil {
		return false
	}
	select {
	case <-q:
		return true
	default:
		return false
	}
}

// peerAdded records the start of p's session. Called by the run loop; it
// does not block.
func (s *peerStore) peerAdded(p *Peer, flags connFlag) {
	op := storeOp{added: true, id: p.ID(), dialed: flags.dialed(), at: time.Now()}
	if flags.dialed() {
		op.node = p.Node()
	}
	s.push(op)
}

// peerDropped records the end of p's session. Called by the run loop; it
// does not block.
func (s *peerStore) peerDropped(p *Peer, flags connFlag, err error) {
	op := storeOp{
		id:       p.ID(),
		dialed:   flags.dialed(),
		at:       time.Now(),
		dur:      p.Lifetime(),
		reason:   DiscReasonFor(err).String(),
		stopping: s.stopping(),
	}
	if flags.dialed() {
		op.node = p.Node()
	}
	s.push(op)
}

func (s *peerStore) push(op storeOp) {
	s.mu.Lock()
	switch {
	case s.closed:
	case len(s.queue) >= maxStoreQueue:
		s.dropped.Add(1)
	default:
		s.queue = append(s.queue, op)
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// close writes what is queued and stops the goroutine. Nothing is
// recorded after it.
func (s *peerStore) close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.mu.Unlock()
	close(s.quit)
	<-s.done
}

func (s *peerStore) loop() {
	defer close(s.done)
	timer := s.clock.NewTimer(s.maintain)
	defer timer.Stop()
	var lastExpire time.Time
	for {
		select {
		case <-s.wake:
			s.writeQueued()
		case <-timer.C():
			now := time.Now()
			s.electAnchors(now)
			if _, err := s.db.Maintain(now); err != nil {
				s.log.Warn("Node database upkeep failed", "err", err)
			}
			if lastExpire.IsZero() || now.Sub(lastExpire) >= peerExpireInterval {
				lastExpire = now
				if n, err := s.db.ExpirePeers(now, peerRecordLifetime); err != nil {
					s.log.Warn("Expiring peer records failed", "err", err)
				} else if n > 0 {
					s.log.Debug("Expired peer records", "count", n)
				}
			}
			timer.Reset(s.maintain)
		case <-s.quit:
			s.writeQueued()
			s.electAnchors(time.Now())
			return
		}
	}
}

// writeQueued writes every queued update.
func (s *peerStore) writeQueued() {
	for {
		s.mu.Lock()
		ops := s.queue
		s.queue = nil
		s.mu.Unlock()
		if len(ops) == 0 {
			return
		}
		for i := range ops {
			s.apply(&ops[i])
		}
	}
}

// apply folds one update into the peer's stored record.
func (s *peerStore) apply(op *storeOp) {
	switch op.kind {
	case opScore:
		if r, ok := s.db.PeerWithoutNode(op.id); ok && int(r.Score) != op.score {
			r.Score = int32(op.score)
			s.put(r)
		}
		return
	case opBan:
		s.count(op.ban.ID, s.db.PutBan(op.ban))
		return
	case opUnban:
		s.count(op.id, s.db.DeleteBan(op.id, op.ip))
		return
	}
	if op.dialed {
		if op.added {
			s.live[op.id] = liveSession{start: op.at}
		} else if !op.stopping {
			delete(s.live, op.id)
		}
	}
	// A dialed peer's record gets the node that was dialed, so the stored
	// one need not be decoded (it is most of the cost of a read).
	var (
		r  *nodedb.PeerRecord
		ok bool
	)
	if op.node != nil {
		r, ok = s.db.PeerWithoutNode(op.id)
	} else {
		r, ok = s.db.Peer(op.id)
	}
	if !ok {
		r = &nodedb.PeerRecord{ID: op.id}
	}
	if op.added {
		if r.FirstSeen.IsZero() {
			r.FirstSeen = op.at
		}
		r.LastConnected = op.at
		r.Sessions++
		r.LastOutbound = op.dialed
		r.LastReason = "" // "still connected" until the session ends
	} else {
		if r.Sessions == 0 {
			// The start was not recorded (the queue overflowed).
			r.Sessions = 1
			r.LastConnected = op.at.Add(-op.dur)
			r.LastOutbound = op.dialed
			if r.FirstSeen.IsZero() {
				r.FirstSeen = r.LastConnected
			}
		}
		r.LastDisconnected = op.at
		r.TotalConnected += op.dur
		r.LastReason = op.reason
	}
	if op.node != nil {
		r.Node = op.node
	} else if dn := s.db.Node(op.id); dn != nil && (r.Node == nil || dn.Seq() > r.Node.Seq()) {
		// An inbound peer: the record discovery has of it has its
		// listening endpoint (the connection's port is ephemeral).
		r.Node = dn
	}
	s.put(r)
}

// put writes r and counts the write.
func (s *peerStore) put(r *nodedb.PeerRecord) {
	s.count(r.ID, s.db.PutPeer(r))
}

// count counts a write (of a peer record or a ban) that ended with err.
func (s *peerStore) count(id enode.ID, err error) {
	if err != nil {
		s.failed.Add(1)
		s.log.Debug("Peer store write failed", "id", id, "err", err)
		return
	}
	s.written.Add(1)
}

// Anchors: the outbound peers connected longest, at least
// Policy.AnchorMinAge, up to Policy.MaxAnchors of them, are marked as
// anchors in their records (nodedb.PeerRecord.Anchor), and the others lose
// the mark. Only sessions we dialed count: a peer that connected to us may
// be an attacker's node that sought us out. The election runs with the
// store's upkeep (every few seconds) and when the store closes at Stop,
// where the sessions Stop ended count as still running. While no outbound
// peer qualifies, the anchors of earlier runs are kept, so that a restart
// that has not reconnected yet does not forget them. After a restart the
// anchors are dialed before any other candidate.

// electAnchors marks the anchors. It runs on loop.
func (s *peerStore) electAnchors(now time.Time) {
	s.mu.Lock()
	p := s.policy
	s.mu.Unlock()
	if p.MaxAnchors <= 0 || p.AnchorMinAge <= 0 {
		return // no policy set (tests of the store alone), or anchors off
	}
	if s.anchors == nil {
		s.anchors = make(map[enode.ID]bool)
		for _, r := range s.db.Peers() {
			if r.Anchor {
				s.anchors[r.ID] = true
			}
		}
	}
	type cand struct {
		id    enode.ID
		start time.Time
	}
	var cands []cand
	for id, ls := range s.live {
		if now.Sub(ls.start) >= p.AnchorMinAge {
			cands = append(cands, cand{id, ls.start})
		}
	}
	if len(cands) == 0 {
		return
	}
	slices.SortFunc(cands, func(a, b cand) int {
		if c := a.start.Compare(b.start); c != 0 {
			return c
		}
		return bytes.Compare(a.id[:], b.id[:])
	})
	elected := make(map[enode.ID]bool)
	for _, c := range cands[:min(len(cands), p.MaxAnchors)] {
		elected[c.id] = true
	}
	for id := range s.anchors {
		if !elected[id] {
			s.setAnchor(id, false)
		}
	}
	for id := range elected {
		if !s.anchors[id] {
			s.setAnchor(id, true)
		}
	}
	s.anchors = elected
}

func (s *peerStore) setAnchor(id enode.ID, on bool) {
	r, ok := s.db.PeerWithoutNode(id)
	if !ok || r.Anchor == on {
		return
	}
	r.Anchor = on
	s.put(r)
	s.log.Debug("Anchor changed", "id", id, "anchor", on)
}

// restartPeers returns the nodes to dial first after a restart: the best
// outbound peers of earlier runs (nodedb.DB.BestOutboundPeers).
func restartPeers(db *nodedb.DB, n int) []*enode.Node {
	if n <= 0 {
		return nil
	}
	recs := db.BestOutboundPeers(n)
	nodes := make([]*enode.Node, 0, len(recs))
	for _, r := range recs {
		if r.Node != nil && r.Node.TCP() != 0 {
			nodes = append(nodes, r.Node)
		}
	}
	return nodes
}

// prefixIter yields the nodes of first, then those of rest (which may be
// nil: the iterator then ends after first). Next and Node are called by one
// goroutine; Close may be called concurrently.
type prefixIter struct {
	first  []*enode.Node
	rest   enode.Iterator
	cur    *enode.Node
	closed atomic.Bool
}

func (it *prefixIter) Next() bool {
	if it.closed.Load() {
		it.cur = nil
		return false
	}
	if len(it.first) > 0 {
		it.cur, it.first = it.first[0], it.first[1:]
		return true
	}
	if it.rest == nil || !it.rest.Next() {
		it.cur = nil
		return false
	}
	it.cur = it.rest.Node()
	return true
}

func (it *prefixIter) Node() *enode.Node { return it.cur }

func (it *prefixIter) Close() {
	if it.closed.Swap(true) {
		return
	}
	if it.rest != nil {
		it.rest.Close()
	}
}
