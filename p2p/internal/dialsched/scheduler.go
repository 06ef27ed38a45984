package dialsched

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/internal/mclock"
)

// levelTrace is the level of per-dial detail, below Debug.
const levelTrace = slog.Level(-8)

// checkDial errors:
var (
	errSelf             = errors.New("is self")
	errNoPort           = errors.New("node does not provide a TCP port")
	errNoAddress        = errors.New("node has no address")
	errAlreadyDialing   = errors.New("already dialing")
	errAlreadyConnected = errors.New("already connected")
	errPendingInbound   = errors.New("peer has pending inbound connection")
	errNetRestrict      = errors.New("not contained in netrestrict list")
	errRecentlyDialed   = errors.New("recently dialed")
	errBackedOff        = errors.New("backed off")
	errStatic           = errors.New("is a static node")
	errBanned           = errors.New("banned")
	errSubnetFull       = errors.New("subnet has its share of dialed peers")
	errLowScore         = errors.New("score below the dial threshold")
	errNotTrusted       = errors.New("not trusted (trusted-only mode)")
)

// Static node errors:
var (
	errResolveWait   = errors.New("waiting to resolve")
	errResolveFailed = errors.New("node not found by resolver")
)

// Scheduler dials outbound connections; see the package documentation for
// its policy. Create it with New and end it with Stop.
type Scheduler struct {
	cfg    Config
	setup  SetupFunc
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // loop, readNodes and dial goroutines
	done   chan struct{}  // closed when loop has exited
	final  Stats          // written by loop before it closes done

	// Channels into the loop.
	nodesIn      chan *enode.Node // written by readNodes
	doneCh       chan *dialTask   // written by dial goroutines
	addStaticCh  chan *enode.Node // AddStatic
	remStaticCh  chan *enode.Node // RemoveStatic
	addPeerCh    chan peerEvent   // PeerAdded
	remPeerCh    chan peerEvent   // PeerRemoved
	addPendingCh chan enode.ID    // InboundPending
	remPendingCh chan enode.ID    // InboundCompleted
	resetCh      chan enode.ID    // ForgetFailures
	statsCh      chan chan Stats  // Stats

	// Everything below here belongs to loop.
	dialing        map[enode.ID]*dialTask
	peers          map[enode.ID]bool // value: we dialed it
	dialPeers      int
	pendingInbound map[enode.ID]int // count of pending inbound connections per node
	history        *dialHistory
	backoff        *backoffTable

	// static holds every static node; staticPool the subset that passed the
	// checks when last looked at. Entries are re-checked when picked.
	static     map[enode.ID]*staticNode
	staticPool []*staticNode
	wake       timedHeap // static nodes to re-check when a backoff ends

	bootnodes    []*enode.Node
	bootIndex    int            // next bootnode to try
	bootDialing  bool           // a bootnode dial is running
	bootRetry    mclock.AbsTime // earliest end of a bootnode backoff, 0 if none
	noPeersSince mclock.AbsTime // when the peer set last became empty

	// window holds iterator candidates read but not dialed yet; the
	// best-scored are dialed first.
	window []*enode.Node

	// Subnet diversity: dynamic dialed peers and dynamic dials in flight
	// per subnet, and the subnet of each such peer.
	subnetCount map[netip.Prefix]int
	peerSubnet  map[enode.ID]netip.Prefix

	// Priority nodes not yet dialed, those being dialed, and the end of
	// the time they may hold back the iterator.
	priority        []*enode.Node
	priorityDialing map[enode.ID]bool
	priorityEnd     mclock.AbsTime

	alarm         *mclock.Alarm
	counts        [numKinds]DialCounts
	failures      [numClasses]uint64
	skipped       uint64 // candidates skipped because backed off
	discarded     uint64 // candidates failing other checks
	skippedScore  uint64 // candidates dropped for a low score
	skippedSubnet uint64 // candidates dropped because their subnet was full
	skippedBanned uint64 // candidates dropped because banned
	lastStatsLog  mclock.AbsTime
	triedSinceLog int
}

type peerEvent struct {
	id     enode.ID
	dialed bool
	err    error
}

// staticNode is a static dial target. It belongs to loop.
type staticNode struct {
	n         *enode.Node
	poolIndex int            // index in staticPool, -1 if not in it
	wakeAt    mclock.AbsTime // last time queued in the wake heap

	// Discovery lookups, throttled with backoff.
	resolved     bool // a lookup has been made
	lastResolved mclock.AbsTime
	resolveFails int
	resolveDelay time.Duration
}

// New starts a scheduler that keeps static nodes connected and fills the
// outbound slots with nodes from it. it may be nil (static nodes and
// bootnodes only); the scheduler closes it when stopped. setup is called on a
// dial goroutine for every established connection.
func New(cfg Config, it enode.Iterator, setup SetupFunc) *Scheduler {
	s := newScheduler(cfg, setup)
	s.wg.Add(1)
	go s.loop(it)
	if it != nil {
		s.wg.Add(1)
		go s.readNodes(it)
	}
	return s
}

// newScheduler creates the state of a scheduler without starting it.
func newScheduler(cfg Config, setup SetupFunc) *Scheduler {
	cfg = cfg.withDefaults()
	now := cfg.Clock.Now()
	s := &Scheduler{
		cfg:            cfg,
		setup:          setup,
		done:           make(chan struct{}),
		nodesIn:        make(chan *enode.Node, CandidateWindow),
		doneCh:         make(chan *dialTask),
		addStaticCh:    make(chan *enode.Node),
		remStaticCh:    make(chan *enode.Node),
		addPeerCh:      make(chan peerEvent),
		remPeerCh:      make(chan peerEvent),
		addPendingCh:   make(chan enode.ID),
		remPendingCh:   make(chan enode.ID),
		resetCh:        make(chan enode.ID),
		statsCh:        make(chan chan Stats),
		dialing:        make(map[enode.ID]*dialTask),
		peers:          make(map[enode.ID]bool),
		pendingInbound: make(map[enode.ID]int),
		history:        newDialHistory(),
		backoff:        newBackoffTable(BackoffTableSize),
		static:         make(map[enode.ID]*staticNode),
		alarm:          mclock.NewAlarm(cfg.Clock),
		noPeersSince:   now,
		lastStatsLog:   now,

		subnetCount:     make(map[netip.Prefix]int),
		peerSubnet:      make(map[enode.ID]netip.Prefix),
		priorityDialing: make(map[enode.ID]bool),
	}
	for _, n := range cfg.Priority {
		if n != nil {
			s.priority = append(s.priority, n)
		}
	}
	if len(s.priority) > 0 {
		s.priorityEnd = now.Add(cfg.PriorityWait)
	}
	for _, n := range cfg.Bootnodes {
		if n != nil {
			s.bootnodes = append(s.bootnodes, n)
		}
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s
}

// Stop cancels running dials, closes the iterator and waits until every
// goroutine of the scheduler has returned. A connection whose setup is still
// running is closed. Stop may be called more than once.
func (s *Scheduler) Stop() {
	s.cancel()
	s.wg.Wait()
}

// AddStatic adds a static node, or replaces the record of a known one.
func (s *Scheduler) AddStatic(n *enode.Node) { send(s, s.addStaticCh, n) }

// RemoveStatic removes a static node. A running dial to it is not cancelled,
// and a connected peer stays connected.
func (s *Scheduler) RemoveStatic(n *enode.Node) { send(s, s.remStaticCh, n) }

// PeerAdded tells the scheduler that a peer joined the peer set; dialed is
// true for connections we dialed (static or dynamic).
func (s *Scheduler) PeerAdded(id enode.ID, dialed bool) {
	send(s, s.addPeerCh, peerEvent{id: id, dialed: dialed})
}

// PeerRemoved tells the scheduler that a peer left the peer set, and err is
// why. Errors that Config.Classify puts in ClassBusy, ClassHandshake,
// ClassProtocol or ClassSelf back the node off; others (ClassConnect
// included: network errors end connections all the time) do not.
func (s *Scheduler) PeerRemoved(id enode.ID, dialed bool, err error) {
	send(s, s.remPeerCh, peerEvent{id: id, dialed: dialed, err: err})
}

// InboundPending tells the scheduler that an inbound connection from id is
// being set up; id is not dialed until InboundCompleted.
func (s *Scheduler) InboundPending(id enode.ID) { send(s, s.addPendingCh, id) }

// InboundCompleted ends one InboundPending, whether or not the peer was
// added. Calls pair up: a node with two pending inbound connections is
// dialable again after the second InboundCompleted.
func (s *Scheduler) InboundCompleted(id enode.ID) { send(s, s.remPendingCh, id) }

// ForgetFailures clears the backoff of id, so that it may be dialed again
// as soon as the other checks allow (an operator lifted its ban, say).
func (s *Scheduler) ForgetFailures(id enode.ID) { send(s, s.resetCh, id) }

// Stats returns the scheduler's counters. After Stop it returns the final
// ones.
func (s *Scheduler) Stats() Stats {
	req := make(chan Stats, 1)
	select {
	case s.statsCh <- req:
	case <-s.done:
		return s.final
	}
	select {
	case st := <-req:
		return st
	case <-s.done:
		return s.final
	}
}

func send[T any](s *Scheduler, ch chan<- T, v T) {
	select {
	case ch <- v:
	case <-s.ctx.Done():
	}
}

// readNodes delivers the iterator's nodes to loop.
func (s *Scheduler) readNodes(it enode.Iterator) {
	defer s.wg.Done()
	for it.Next() {
		select {
		case s.nodesIn <- it.Node():
		case <-s.ctx.Done():
			return
		}
	}
}

// loop owns the dial state. Each turn expires history and backoffs, starts
// as many dials as there are free slots, and then waits for one event.
// Stats requests are answered at the start of the next turn, after its dials
// have started, so a reply reflects every event handled before it.
func (s *Scheduler) loop(it enode.Iterator) {
	defer s.wg.Done()
	var (
		nodesCh  chan *enode.Node
		statsReq []chan Stats
	)
	for {
		now := s.cfg.Clock.Now()
		s.history.expire(now, s.updateStaticPool)
		s.wake.popDue(now, s.updateStaticPool)
		s.startStaticDials(s.freeStaticSlots())
		slots := s.freeDialSlots() // counts the static dials just started
		if s.cfg.TrustedOnly {
			slots = min(slots, 0)
		}
		slots -= s.startBootnodeDial(slots, now)
		slots -= s.startPriorityDials(slots)
		hold := s.holdIterator(now)
		if !hold && slots > 0 && it != nil {
			s.drainCandidates()
			slots -= s.dialFromWindow(slots)
		}
		if !hold && slots > 0 && it != nil && len(s.window) < CandidateWindow {
			nodesCh = s.nodesIn
		} else {
			nodesCh = nil // stop pulling candidates from discovery
		}
		s.rearmAlarm(now)
		s.logStats(now)
		for _, req := range statsReq {
			req <- s.snapshot(now, slots)
		}
		statsReq = statsReq[:0]

		select {
		case n := <-nodesCh: // from readNodes; dialed at the top
			s.window = append(s.window, n)
		case t := <-s.doneCh: // from a dial goroutine
			s.taskDone(t)
		case ev := <-s.addPeerCh: // PeerAdded
			s.peerAdded(ev)
		case ev := <-s.remPeerCh: // PeerRemoved
			s.peerRemoved(ev)
		case id := <-s.addPendingCh: // InboundPending
			s.pendingInbound[id]++
		case id := <-s.remPendingCh: // InboundCompleted
			if s.pendingInbound[id]--; s.pendingInbound[id] <= 0 {
				delete(s.pendingInbound, id)
				s.updateStaticPool(id)
			}
		case id := <-s.resetCh: // ForgetFailures
			s.backoff.reset(id)
			s.updateStaticPool(id)
		case n := <-s.addStaticCh: // AddStatic
			s.addStatic(n)
		case n := <-s.remStaticCh: // RemoveStatic
			s.removeStatic(n.ID())
		case req := <-s.statsCh: // Stats
			statsReq = append(statsReq, req)
		case <-s.alarm.C():
			// History or a backoff ended; handled at the top.
		case <-s.ctx.Done():
			s.shutdown(it)
			return
		}
	}
}

func (s *Scheduler) shutdown(it enode.Iterator) {
	if it != nil {
		it.Close()
	}
	s.alarm.Stop()
	for len(s.dialing) > 0 {
		s.taskDone(<-s.doneCh)
	}
	s.final = s.snapshot(s.cfg.Clock.Now(), 0)
	close(s.done)
}

// freeDialSlots is the number of dynamic (and bootnode) dials that may
// start now: the outbound target minus every dialed peer, static ones
// included, and minus every dial in flight, static ones included, within
// MaxActiveDials. It is negative when static peers and dials overshoot the
// target.
func (s *Scheduler) freeDialSlots() int {
	return min(s.cfg.MaxDialPeers-s.dialPeers, s.cfg.MaxActiveDials) - len(s.dialing)
}

// freeStaticSlots is the number of static dials that may start now. Free
// outbound slots do not hold them back, only MaxActiveDials does; a zero
// target disables them like all dialing.
func (s *Scheduler) freeStaticSlots() int {
	if s.cfg.MaxDialPeers <= 0 {
		return 0
	}
	return s.cfg.MaxActiveDials - len(s.dialing)
}

// checkDial returns an error if n must not be dialed now.
func (s *Scheduler) checkDial(n *enode.Node, static bool) error {
	id := n.ID()
	ip := n.IPAddr()
	switch {
	case id == s.cfg.Self:
		return errSelf
	case (ip.IsValid() || n.Hostname() != "") && n.TCP() == 0:
		return errNoPort
	case !static && !ip.IsValid() && n.Hostname() == "":
		return errNoAddress // only static nodes are looked up in discovery
	}
	if _, ok := s.dialing[id]; ok {
		return errAlreadyDialing
	}
	if _, ok := s.peers[id]; ok {
		return errAlreadyConnected
	}
	if _, ok := s.pendingInbound[id]; ok {
		return errPendingInbound
	}
	if s.cfg.NetRestrict != nil && ip.IsValid() && !s.cfg.NetRestrict.Contains(ip) {
		return errNetRestrict
	}
	if s.cfg.Banned != nil && s.cfg.Banned(n) {
		return errBanned
	}
	if s.history.contains(id) {
		return errRecentlyDialed
	}
	if _, ok := s.backoff.until(id, s.cfg.Clock.Now(), static); ok {
		return errBackedOff
	}
	return nil
}

// checkCandidate returns an error if the iterator candidate n must not be
// dialed now.
func (s *Scheduler) checkCandidate(n *enode.Node) error {
	if err := s.checkDial(n, false); err != nil {
		return err
	}
	if s.static[n.ID()] != nil {
		return errStatic // dialed from the static pool
	}
	if s.subnetFull(n) {
		return errSubnetFull
	}
	if s.cfg.Score != nil && s.cfg.Score(n.ID()) < s.cfg.MinScore {
		return errLowScore
	}
	return nil
}

// dropCandidate counts a candidate that is not dialed.
func (s *Scheduler) dropCandidate(n *enode.Node, err error) {
	switch err {
	case errBackedOff:
		s.skipped++
	case errLowScore:
		s.skippedScore++
	case errSubnetFull:
		s.skippedSubnet++
	case errBanned:
		s.skippedBanned++
	default:
		s.discarded++
	}
	s.cfg.Log.Log(s.ctx, levelTrace, "Discarding dial candidate", "id", n.ID(), "addr", nodeAddr(n), "err", err)
}

// drainCandidates moves the candidates readNodes has delivered into the
// window, without waiting.
func (s *Scheduler) drainCandidates() {
	for len(s.window) < CandidateWindow {
		select {
		case n := <-s.nodesIn:
			s.window = append(s.window, n)
		default:
			return
		}
	}
}

// dialFromWindow drops the window's candidates that fail the checks and
// dials the best-scored of the others, up to slots of them, in order of
// arrival among equal scores. The rest stay in the window.
func (s *Scheduler) dialFromWindow(slots int) (started int) {
	if len(s.window) == 0 || slots <= 0 {
		return 0
	}
	type cand struct {
		n     *enode.Node
		score int
	}
	cands := make([]cand, 0, len(s.window))
	for _, n := range s.window {
		if err := s.checkCandidate(n); err != nil {
			s.dropCandidate(n, err)
			continue
		}
		c := cand{n: n}
		if s.cfg.Score != nil {
			c.score = s.cfg.Score(n.ID())
		}
		cands = append(cands, c)
	}
	slices.SortStableFunc(cands, func(a, b cand) int { return cmp.Compare(b.score, a.score) })
	rest := make([]*enode.Node, 0, len(cands))
	for _, c := range cands {
		if started >= slots {
			rest = append(rest, c.n)
			continue
		}
		// A dial just started may have changed the verdict (the same
		// node twice in the window, a subnet filling up).
		if err := s.checkCandidate(c.n); err != nil {
			s.dropCandidate(c.n, err)
			continue
		}
		s.startDial(&dialTask{kind: kindDynamic, id: c.n.ID(), dest: c.n})
		started++
	}
	s.window = rest
	return started
}

// startPriorityDials dials Priority nodes, up to slots of them.
func (s *Scheduler) startPriorityDials(slots int) (started int) {
	for started < slots && len(s.priority) > 0 {
		n := s.priority[0]
		s.priority = s.priority[1:]
		if err := s.checkCandidate(n); err != nil {
			s.dropCandidate(n, err)
			continue
		}
		s.priorityDialing[n.ID()] = true
		s.startDial(&dialTask{kind: kindDynamic, id: n.ID(), dest: n})
		started++
	}
	return started
}

// holdIterator reports whether Priority nodes still hold back the iterator
// candidates. When PriorityWait has passed, the Priority nodes not dialed
// yet join the window.
func (s *Scheduler) holdIterator(now mclock.AbsTime) bool {
	if len(s.priority) == 0 && len(s.priorityDialing) == 0 {
		return false
	}
	if now < s.priorityEnd {
		return true
	}
	s.window = append(s.priority, s.window...)
	s.priority = nil
	clear(s.priorityDialing)
	return false
}

// subnetFull reports whether n's subnet has MaxDialsPerSubnet dynamic
// dialed peers and dials.
func (s *Scheduler) subnetFull(n *enode.Node) bool {
	p, ok := s.subnetOf(n)
	return ok && s.subnetCount[p] >= s.cfg.MaxDialsPerSubnet
}

// subnetOf returns the subnet of n counted for MaxDialsPerSubnet.
func (s *Scheduler) subnetOf(n *enode.Node) (netip.Prefix, bool) {
	if s.cfg.Subnet == nil || s.cfg.MaxDialsPerSubnet <= 0 {
		return netip.Prefix{}, false
	}
	ip := n.IPAddr()
	if !ip.IsValid() {
		return netip.Prefix{}, false
	}
	return s.cfg.Subnet(ip)
}

func (s *Scheduler) uncountSubnet(p netip.Prefix) {
	if s.subnetCount[p]--; s.subnetCount[p] <= 0 {
		delete(s.subnetCount, p)
	}
}

// startDial records the dial and runs t on its own goroutine.
func (s *Scheduler) startDial(t *dialTask) {
	now := s.cfg.Clock.Now()
	s.history.add(t.id, now.Add(HistoryExpiration))
	s.dialing[t.id] = t
	s.counts[t.kind].Started++
	if t.kind == kindDynamic {
		if p, ok := s.subnetOf(t.dest); ok {
			t.subnet, t.counted = p, true
			s.subnetCount[p]++
		}
	}
	s.cfg.Log.Log(s.ctx, levelTrace, "Starting dial", "id", t.id, "addr", nodeAddr(t.dest), "kind", t.kind)
	s.wg.Add(1)
	go s.runTask(t)
}

// taskDone records the outcome of a dial.
func (s *Scheduler) taskDone(t *dialTask) {
	delete(s.dialing, t.id)
	s.triedSinceLog++
	now := s.cfg.Clock.Now()
	if t.kind == kindBootnode {
		s.bootDialing = false
	}
	delete(s.priorityDialing, t.id)
	if t.counted {
		// A successful setup added the peer; the peer keeps the count
		// until it leaves, unless it has left already.
		if _, ok := s.peers[t.id]; ok && t.err == nil {
			s.peerSubnet[t.id] = t.subnet
		} else {
			s.uncountSubnet(t.subnet)
		}
	}
	if st := s.static[t.id]; st != nil && t.kind == kindStatic {
		s.applyResolve(st, t, now)
	}
	if t.err == nil {
		s.counts[t.kind].Succeeded++
		s.backoff.reset(t.id)
		s.cfg.Log.Log(s.ctx, levelTrace, "Dial succeeded", "id", t.id, "addr", nodeAddr(t.dest), "kind", t.kind)
		s.updateStaticPool(t.id)
		return
	}
	s.counts[t.kind].Failed++
	class := ClassNone
	switch {
	case s.ctx.Err() != nil:
		// Stopped: not the node's fault.
	case t.stage == stageDial:
		class = ClassConnect
		if s.cfg.ConnectFailed != nil {
			s.cfg.ConnectFailed(t.dest, t.kind == kindStatic, t.err)
		}
	case t.stage == stageSetup:
		class = s.cfg.Classify(t.err)
	}
	s.failures[class]++
	delay := s.backoff.fail(t.id, class, now)
	level := levelTrace
	if class >= ClassHandshake {
		level = slog.LevelDebug
	}
	s.cfg.Log.Log(s.ctx, level, "Dial failed", "id", t.id, "addr", nodeAddr(t.dest), "kind", t.kind,
		"class", class, "backoff", delay, "err", t.err)
	s.updateStaticPool(t.id)
}

func (s *Scheduler) peerAdded(ev peerEvent) {
	if _, ok := s.peers[ev.id]; ok {
		return
	}
	s.peers[ev.id] = ev.dialed
	if ev.dialed {
		s.dialPeers++
	}
	s.backoff.reset(ev.id)
	if st := s.static[ev.id]; st != nil && st.poolIndex >= 0 {
		s.removeFromPool(st.poolIndex)
	}
}

func (s *Scheduler) peerRemoved(ev peerEvent) {
	dialed, ok := s.peers[ev.id]
	if !ok {
		return
	}
	delete(s.peers, ev.id)
	if dialed {
		s.dialPeers--
	}
	if p, ok := s.peerSubnet[ev.id]; ok {
		delete(s.peerSubnet, ev.id)
		s.uncountSubnet(p)
	}
	now := s.cfg.Clock.Now()
	if len(s.peers) == 0 {
		s.noPeersSince = now
	}
	if class := s.cfg.Classify(ev.err); class > ClassConnect {
		delay := s.backoff.fail(ev.id, class, now)
		s.cfg.Log.Log(s.ctx, levelTrace, "Backing off dropped peer", "id", ev.id, "class", class, "backoff", delay, "err", ev.err)
	}
	s.updateStaticPool(ev.id)
}

// rearmAlarm sets the alarm to the next time a node may become dialable.
func (s *Scheduler) rearmAlarm(now mclock.AbsTime) {
	var next mclock.AbsTime
	consider := func(t mclock.AbsTime, ok bool) {
		if ok && t > now && (next == 0 || t < next) {
			next = t
		}
	}
	consider(s.history.next())
	consider(s.wake.next())
	consider(s.bootRetry, s.bootRetry != 0)
	consider(s.priorityEnd, len(s.priority) > 0 || len(s.priorityDialing) > 0)
	consider(s.noPeersSince.Add(BootnodeFallback), len(s.bootnodes) > 0 && len(s.peers) == 0)
	if next != 0 {
		s.alarm.Schedule(next)
	}
}

// logStats logs progress at most every statsLogInterval while the outbound
// target is not met.
func (s *Scheduler) logStats(now mclock.AbsTime) {
	if now < s.lastStatsLog.Add(statsLogInterval) {
		return
	}
	if s.dialPeers < s.cfg.MaxDialPeers {
		s.cfg.Log.Info("Looking for peers", "peercount", len(s.peers), "dialed", s.dialPeers,
			"target", s.cfg.MaxDialPeers, "tried", s.triedSinceLog, "static", len(s.static))
	}
	s.triedSinceLog = 0
	s.lastStatsLog = now
}

// DialCounts counts the dials of one kind since the scheduler started.
type DialCounts struct {
	Started   uint64
	Succeeded uint64 // SetupFunc returned nil
	Failed    uint64 // TCP connect, lookup or setup failed
}

// Stats is a snapshot of the scheduler, for metrics and diagnostics.
type Stats struct {
	Dynamic  DialCounts // dials of iterator candidates
	Static   DialCounts // dials of static nodes
	Bootnode DialCounts // fallback dials of bootnodes

	// Failures counts failed dials by class. ClassNone holds the dials
	// cut short by Stop and failed discovery lookups of static nodes.
	Failures map[FailureClass]uint64

	SkippedBackoff uint64 // iterator candidates skipped because backed off
	SkippedScore   uint64 // iterator candidates dropped because Score was below MinScore
	SkippedSubnet  uint64 // iterator candidates dropped because their subnet was full
	SkippedBanned  uint64 // iterator candidates dropped because Banned
	Discarded      uint64 // iterator candidates failing another check
	Window         int    // candidates read from the iterator, not yet dialed or dropped

	BackedOff        int                  // nodes backed off now
	BackedOffByClass map[FailureClass]int // BackedOff by the class of the last failure
	Dialing          int                  // dials in flight, static ones included
	FreeSlots        int                  // dynamic dials that may still start now (negative: static peers and dials overshoot the target)
	Peers            int                  // connected peers, inbound included
	DialedPeers      int                  // connected peers we dialed, static ones included
	StaticNodes      int                  // configured static nodes
}

// snapshot runs on loop.
func (s *Scheduler) snapshot(now mclock.AbsTime, freeSlots int) Stats {
	st := Stats{
		Dynamic:        s.counts[kindDynamic],
		Static:         s.counts[kindStatic],
		Bootnode:       s.counts[kindBootnode],
		Failures:       make(map[FailureClass]uint64),
		SkippedBackoff: s.skipped,
		SkippedScore:   s.skippedScore,
		SkippedSubnet:  s.skippedSubnet,
		SkippedBanned:  s.skippedBanned,
		Discarded:      s.discarded,
		Window:         len(s.window) + len(s.nodesIn),
		Dialing:        len(s.dialing),
		FreeSlots:      freeSlots,
		Peers:          len(s.peers),
		DialedPeers:    s.dialPeers,
		StaticNodes:    len(s.static),
	}
	for c, n := range s.failures {
		if n > 0 {
			st.Failures[FailureClass(c)] = n
		}
	}
	var byClass [numClasses]int
	st.BackedOff, byClass = s.backoff.active(now)
	st.BackedOffByClass = make(map[FailureClass]int)
	for c, n := range byClass {
		if n > 0 {
			st.BackedOffByClass[FailureClass(c)] = n
		}
	}
	return st
}
