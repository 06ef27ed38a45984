package discover

import (
	"cmp"
	"context"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/devp2p-go/devp2p/discover/v4wire"
	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/internal/mclock"
	"github.com/devp2p-go/devp2p/netutil"
)

// Table geometry and limits (go-ethereum v1.17 values, except the IPv6
// subnet, where go-ethereum applies /24 to IPv6 addresses too).
const (
	alpha           = 3  // concurrent queries of a lookup
	bucketSize      = 16 // nodes per bucket
	maxReplacements = 10 // replacement candidates per bucket

	hashBits          = 256
	nBuckets          = hashBits / 15       // 17: closer distances are practically never seen
	bucketMinDistance = hashBits - nBuckets // 239: bucket 0 holds distances up to 240
	bucketIPLimit     = 2                   // per subnet per bucket
	tableIPLimit      = 10                  // per subnet in the table
	ipv4Subnet        = 24                  // subnet size for IPv4 limits
	ipv6Subnet        = 48                  // subnet size for IPv6 limits: a typical site prefix
	seedCount         = 30                  // DB nodes loaded as seeds
	seedMaxAge        = 5 * 24 * time.Hour  // seeds must have answered within this
	freshWindow       = 10 * time.Minute    // see closestForFindnode
	answerWindow      = 3 * bucketSize      // see closestForFindnode
	handoutHalfLife   = time.Minute         // see closestForFindnode
	lookupRandomCount = 3                   // random lookups per refresh
)

// transport is what the table needs from the network; UDPv4 implements it
// and table tests fake it.
type transport interface {
	// ping checks that n is alive and returns the seq of its record.
	ping(n *enode.Node) (seq uint64, err error)
	// lookupSelf and lookupRandom run lookups for a refresh.
	lookupSelf(ctx context.Context) []*enode.Node
	lookupRandom(ctx context.Context) []*enode.Node
}

type bucket struct {
	index        int
	entries      []*tableNode // in order of insertion
	replacements []*tableNode // most recent first
	ips          netutil.DistinctNetSet
}

// table is the Kademlia node table. Its contents are guarded by mu, so that
// the read loop (answering Findnode), lookups and the table's own loop (liveness
// checks, refreshes) all reach them directly; the loop owns the timers and
// the refresh state. No lock is held while calling the transport.
type table struct {
	self    enode.ID
	net     transport
	db      DB // nil: no seeds, nothing stored
	cfg     Config
	log     *slog.Logger
	clock   mclock.Clock
	nursery []*enode.Node // bootnodes

	mu       sync.Mutex // guards following
	buckets  [nBuckets]*bucket
	ips      netutil.DistinctNetSet
	rand     *rand.Rand
	reval    revalidation
	addedCh  chan struct{} // closed and replaced whenever a node enters a bucket
	initDone chan struct{} // closed when the first refresh has ended (for tests)
	dbWrites []*enode.Node // validated nodes for the loop to store

	// Channels into the loop.
	revalWakeCh chan struct{}      // written by node additions (non-blocking)
	revalDoneCh chan revalResult   // written by liveness check goroutines
	refreshCh   chan chan struct{} // written by refresh
	closeCh     chan struct{}      // closed by close
	wg          sync.WaitGroup     // the loop and its goroutines
	ctx         context.Context    // cancelled by close, for refresh lookups
	cancel      context.CancelFunc
}

func newTable(net transport, self enode.ID, db DB, cfg Config) *table {
	ctx, cancel := context.WithCancel(context.Background())
	tab := &table{
		self:        self,
		net:         net,
		db:          db,
		cfg:         cfg,
		log:         cfg.Log,
		clock:       cfg.Clock,
		ips:         netutil.DistinctNetSet{Subnet: ipv4Subnet, Subnet6: ipv6Subnet, Limit: tableIPLimit},
		rand:        cfg.rand,
		addedCh:     make(chan struct{}),
		initDone:    make(chan struct{}),
		revalWakeCh: make(chan struct{}, 1),
		revalDoneCh: make(chan revalResult),
		refreshCh:   make(chan chan struct{}),
		closeCh:     make(chan struct{}),
		ctx:         ctx,
		cancel:      cancel,
	}
	for i := range tab.buckets {
		tab.buckets[i] = &bucket{index: i, ips: netutil.DistinctNetSet{Subnet: ipv4Subnet, Subnet6: ipv6Subnet, Limit: bucketIPLimit}}
	}
	tab.reval.init(cfg.PingInterval)
	for _, n := range cfg.Bootnodes {
		if cfg.NetRestrict != nil && !cfg.NetRestrict.Contains(n.IPAddr()) {
			tab.log.Warn("Bootnode outside netrestrict ignored", "id", n.ID(), "ip", n.IPAddr())
			continue
		}
		tab.nursery = append(tab.nursery, n)
	}
	return tab
}

// start seeds the table, queues the seeds for a check at once (announcing
// our endpoint to them) and starts its loop, which begins with a refresh.
func (tab *table) start() {
	tab.loadSeeds()
	tab.mu.Lock()
	tab.announceSeedsLocked()
	tab.mu.Unlock()
	tab.wg.Add(1)
	go tab.loop()
}

// close stops the loop and waits for its goroutines. The transport must be
// closed first (or concurrently), so that pending requests end.
func (tab *table) close() {
	tab.cancel()
	close(tab.closeCh)
	tab.wg.Wait()
}

// bucketAt returns the bucket for log distance d.
func (tab *table) bucketAt(d int) *bucket {
	if d <= bucketMinDistance+1 {
		return tab.buckets[0]
	}
	return tab.buckets[d-bucketMinDistance-1]
}

func (tab *table) bucketOf(id enode.ID) *bucket { return tab.bucketAt(enode.LogDist(tab.self, id)) }

// loadSeeds adds bootnodes and nodes from the DB that answered recently.
func (tab *table) loadSeeds() {
	var seeds []*enode.Node
	if tab.db != nil {
		seeds = tab.db.QuerySeeds(seedCount, seedMaxAge)
	}
	seeds = append(seeds, tab.nursery...)
	for _, n := range seeds {
		if n.ValidateComplete() == nil {
			tab.addFound(n)
		}
	}
}

// ipExempt reports whether ip is exempt from the subnet limits
// (Config.IPLimitExempt; by default the LAN ranges).
func (tab *table) ipExempt(ip netip.Addr) bool {
	if tab.cfg.IPLimitExempt == nil {
		return netutil.IsLAN(ip)
	}
	return tab.cfg.IPLimitExempt.Contains(ip)
}

// addIPLocked counts ip against the subnet limits of the table and bucket
// b, unless it is exempt. It reports false, counting nothing, if a limit is
// reached or the address is unusable.
func (tab *table) addIPLocked(b *bucket, ip netip.Addr) bool {
	if !ip.IsValid() || ip.IsUnspecified() {
		return false
	}
	if tab.ipExempt(ip) {
		return true
	}
	if !tab.ips.Add(ip) {
		tab.log.Debug("IP exceeds table limit", "ip", ip)
		return false
	}
	if !b.ips.Add(ip) {
		tab.log.Debug("IP exceeds bucket limit", "ip", ip, "b", b.index)
		tab.ips.Remove(ip)
		return false
	}
	return true
}

func (tab *table) removeIPLocked(b *bucket, ip netip.Addr) {
	if !ip.IsValid() || tab.ipExempt(ip) {
		return
	}
	tab.ips.Remove(ip)
	b.ips.Remove(ip)
}

func indexOf(list []*tableNode, id enode.ID) int {
	return slices.IndexFunc(list, func(n *tableNode) bool { return n.ID() == id })
}

// addFound adds a node learned from a Neighbors reply, the DB or the
// bootnodes: into the bucket if it has room, else into its replacements.
// It reports whether the node entered the bucket.
func (tab *table) addFound(n *enode.Node) bool { return tab.add(n, false, false) }

// addInbound adds a node that contacted us. proven says that it also
// answered our ping from that endpoint, which counts as a liveness check.
//
// go-ethereum ignores such contacts until its first refresh has ended (an
// eclipse countermeasure); that keeps a starting node from learning about
// the nodes that find it for the 15–20 s its refresh takes. We accept them
// at once: the subnet limits bound what one attacker can insert, the
// insertion order of buckets favours nodes already present, and only
// bonded nodes (which answered a ping from their address) get here.
func (tab *table) addInbound(n *enode.Node, proven bool) bool { return tab.add(n, true, proven) }

func (tab *table) add(n *enode.Node, inbound, proven bool) bool {
	if n.ID() == tab.self {
		return false
	}
	tab.mu.Lock()
	defer tab.mu.Unlock()
	now := tab.clock.Now()
	b := tab.bucketOf(n.ID())
	if i := indexOf(b.entries, n.ID()); i >= 0 {
		e := b.entries[i]
		tab.bumpLocked(b, e, n, inbound, now)
		if proven {
			tab.checkedLocked(e, true, now)
		}
		return false
	}
	if len(b.entries) >= bucketSize {
		tab.addReplacementLocked(b, n, inbound, now)
		return false
	}
	var e *tableNode
	if i := indexOf(b.replacements, n.ID()); i >= 0 {
		// Its IP is counted already.
		e = b.replacements[i]
		b.replacements = slices.Delete(b.replacements, i, i+1)
		if e.node.IPAddr() != n.IPAddr() {
			tab.removeIPLocked(b, e.node.IPAddr())
			if !tab.addIPLocked(b, n.IPAddr()) {
				return false
			}
		}
		e.node = n
	} else {
		if !tab.addIPLocked(b, n.IPAddr()) {
			return false
		}
		e = newTableNode(n, now)
	}
	b.entries = append(b.entries, e)
	tab.nodeAddedLocked(e, now)
	if inbound {
		e.lastSeen = now
	}
	if proven {
		tab.checkedLocked(e, true, now)
	}
	return true
}

// nodeAddedLocked registers a new bucket entry for liveness checks and wakes
// waiters.
func (tab *table) nodeAddedLocked(e *tableNode, now mclock.AbsTime) {
	e.addedToBucket = now
	e.live, e.checks = false, 0
	tab.reval.push(&tab.reval.fast, e, now, tab.rand)
	close(tab.addedCh)
	tab.addedCh = make(chan struct{})
	tab.wakeLocked()
}

// bumpLocked updates entry e with a newer record n of the same node. Found
// nodes replace the record only if its seq is higher (so relayed v4 stubs,
// seq 0, never replace anything). A node contacting us may change its
// endpoint; an unchanged endpoint keeps the current record, which may be a
// signed ENR the stub lacks.
func (tab *table) bumpLocked(b *bucket, e *tableNode, n *enode.Node, inbound bool, now mclock.AbsTime) {
	ipChanged := n.IPAddr() != e.node.IPAddr()
	portChanged := n.UDP() != e.node.UDP()
	if inbound {
		e.lastSeen = now
		if !ipChanged && !portChanged && n.Seq() <= e.node.Seq() {
			return
		}
	} else if n.Seq() <= e.node.Seq() {
		return
	}
	if ipChanged {
		tab.removeIPLocked(b, e.node.IPAddr())
		if !tab.addIPLocked(b, n.IPAddr()) {
			tab.addIPLocked(b, e.node.IPAddr())
			return
		}
	}
	e.node = n
	if pub := n.Pubkey(); pub != nil {
		e.key = [64]byte(*pub)
	}
	if ipChanged || portChanged {
		// Check the new endpoint soon.
		e.live = false
		tab.reval.moveTo(&tab.reval.fast, e, now, tab.rand)
	} else if e.live && tab.db != nil {
		tab.dbWrites = append(tab.dbWrites, n) // a newer record of a live node
		tab.wakeLocked()
	}
}

// update applies a record fetched from the node itself (ENR response).
func (tab *table) update(n *enode.Node) {
	tab.mu.Lock()
	defer tab.mu.Unlock()
	b := tab.bucketOf(n.ID())
	if i := indexOf(b.entries, n.ID()); i >= 0 {
		tab.bumpLocked(b, b.entries[i], n, false, tab.clock.Now())
	}
}

// addReplacementLocked adds n to the replacements of b, or updates its
// entry there. inbound says that n contacted us (a bonded node, see
// addInbound).
func (tab *table) addReplacementLocked(b *bucket, n *enode.Node, inbound bool, now mclock.AbsTime) {
	if i := indexOf(b.replacements, n.ID()); i >= 0 {
		e := b.replacements[i]
		if n.Seq() > e.node.Seq() && n.IPAddr() == e.node.IPAddr() {
			e.node = n
		}
		if inbound {
			e.contacted = n.IPAddr() == e.node.IPAddr() && n.UDP() == e.node.UDP()
		}
		e.lastSeen = now
		return
	}
	if !tab.addIPLocked(b, n.IPAddr()) {
		return
	}
	e := newTableNode(n, now)
	e.contacted = inbound
	b.replacements = slices.Insert(b.replacements, 0, e)
	if len(b.replacements) > maxReplacements {
		last := b.replacements[maxReplacements]
		b.replacements = b.replacements[:maxReplacements]
		tab.removeIPLocked(b, last.node.IPAddr())
	}
}

// deleteLocked removes entry e from bucket b and promotes a random
// replacement in its place.
func (tab *table) deleteLocked(b *bucket, e *tableNode) {
	i := slices.Index(b.entries, e)
	if i < 0 {
		return
	}
	b.entries = slices.Delete(b.entries, i, i+1)
	tab.removeIPLocked(b, e.node.IPAddr())
	tab.reval.remove(e)
	if len(b.replacements) == 0 {
		tab.log.Debug("Removed dead node", "b", b.index, "id", e.ID(), "ip", e.node.IPAddr())
		return
	}
	r := tab.rand.IntN(len(b.replacements))
	rep := b.replacements[r]
	b.replacements = slices.Delete(b.replacements, r, r+1)
	b.entries = append(b.entries, rep)
	tab.nodeAddedLocked(rep, tab.clock.Now())
	tab.log.Debug("Replaced dead node", "b", b.index, "id", e.ID(), "ip", e.node.IPAddr(), "r", rep.ID(), "rip", rep.node.IPAddr())
}

// seen records a reply from n's recorded UDP endpoint. A Pong or Neighbors
// from there proves the node alive as well as a liveness check would, so a
// node we bonded with or queried needs no separate ping.
func (tab *table) seen(id enode.ID, from netip.AddrPort) {
	tab.mu.Lock()
	defer tab.mu.Unlock()
	b := tab.bucketOf(id)
	i := indexOf(b.entries, id)
	if i < 0 {
		return
	}
	e := b.entries[i]
	if ep, ok := e.node.UDPEndpoint(); !ok || ep != from {
		return
	}
	now := tab.clock.Now()
	e.lastSeen = now
	if !e.live && !e.checking {
		tab.checkedLocked(e, true, now)
	}
}

// trackFindnode handles the outcome of a Findnode request to n: nodes that
// fail maxFindnodeFailures times in a row leave the table (if their bucket
// keeps at least a quarter of its size, which helps small networks), and the
// nodes found enter it at once.
func (tab *table) trackFindnode(n *enode.Node, fails int, found []*enode.Node) {
	if fails >= maxFindnodeFailures {
		tab.mu.Lock()
		b := tab.bucketOf(n.ID())
		if i := indexOf(b.entries, n.ID()); i >= 0 && len(b.entries) >= bucketSize/4 {
			tab.deleteLocked(b, b.entries[i])
		}
		tab.mu.Unlock()
	}
	for _, f := range found {
		tab.addFound(f)
	}
}

// node returns the table's record of the node, or nil.
func (tab *table) node(id enode.ID) *enode.Node {
	tab.mu.Lock()
	defer tab.mu.Unlock()
	b := tab.bucketOf(id)
	if i := indexOf(b.entries, id); i >= 0 {
		return b.entries[i].node
	}
	return nil
}

// closest returns the max bucket entries closest to target that pass keep
// (nil keeps all).
func (tab *table) closest(target enode.ID, max int, keep func(*tableNode) bool) []*enode.Node {
	tab.mu.Lock()
	defer tab.mu.Unlock()
	entries := tab.closestLocked(target, max, keep)
	nodes := make([]*enode.Node, len(entries))
	for i, e := range entries {
		nodes[i] = e.node
	}
	return nodes
}

func (tab *table) closestLocked(target enode.ID, max int, keep func(*tableNode) bool) []*tableNode {
	h := distanceList[*tableNode]{target: target, max: max}
	for _, b := range &tab.buckets {
		for _, e := range b.entries {
			if keep == nil || keep(e) {
				h.push(e)
			}
		}
	}
	return h.entries
}

// closestForFindnode returns the nodes we answer a Findnode with, appended
// to dst in wire form.
//
// The candidates are the bucket entries that passed their last liveness
// check or are fresh (added within freshWindow and not yet checked), and
// the replacements that contacted us from their recorded endpoint within
// freshWindow, all of them passing relay. With no candidate, any entry
// will do, as in go-ethereum.
//
// go-ethereum answers with the closest validated bucket entries whenever it
// has any. With one validation per 1.5 s, the validated set of a young
// network is the same few early nodes everywhere, so every node learns,
// and dials, those few until they are full. Fresh unchecked entries spread
// new members at the speed of lookups instead. Relaying them costs little:
// every new entry is pinged within seconds (the fast revalidation list), a
// failed check excludes it at once, and relayed addresses pass the same
// sender and NetRestrict filters. Replacements that bonded with us are as
// good, and they are the nodes that came after the buckets filled: the
// ones nobody else relays.
//
// Which candidates: if the bucket the target falls into has room, our
// table holds every node of the target's neighbourhood that we know of, and
// the answer is the closest candidates, so that lookups converge on the
// true closest nodes. If that bucket is full, our table holds only a sample
// of that part of the network (the first nodes that filled the bucket), and
// the answer is a sample too: of the answerWindow candidates closest to the
// target, those we handed out least often lately (a count halving every
// handoutHalfLife), and among equal counts the ones we learned of last. The
// nodes that every table holds since the network started are thus not
// handed to every newcomer, and recently arrived nodes, which have free
// slots, are. Lookups still converge: the answer comes from the closest
// candidates, and near the target, where buckets have room, it is exact.
func (tab *table) closestForFindnode(dst []v4wire.Node, target enode.ID, relay func(*enode.Node) bool) []v4wire.Node {
	tab.mu.Lock()
	defer tab.mu.Unlock()
	now := tab.clock.Now()
	sampled := len(tab.bucketAt(enode.LogDist(tab.self, target)).entries) >= bucketSize
	pool := distanceList[*tableNode]{target: target, max: bucketSize}
	if sampled {
		pool.max = answerWindow
	}
	for _, b := range &tab.buckets {
		for _, e := range b.entries {
			fresh := e.checks == 0 && !e.live && now.Sub(e.addedToBucket) < freshWindow
			if (e.live || fresh) && relay(e.node) {
				pool.push(e)
			}
		}
		for _, r := range b.replacements {
			if r.contacted && now.Sub(r.lastSeen) < freshWindow && relay(r.node) {
				pool.push(r)
			}
		}
	}
	entries := pool.entries
	if len(entries) == 0 {
		entries = tab.closestLocked(target, bucketSize, func(e *tableNode) bool { return relay(e.node) })
	}
	if len(entries) > bucketSize {
		load := make(map[*tableNode]float64, len(entries))
		for _, e := range entries {
			load[e] = math.Round(e.handoutsAt(now))
		}
		// Stable: among equals the closer first.
		slices.SortStableFunc(entries, func(a, b *tableNode) int {
			return cmp.Or(cmp.Compare(load[a], load[b]), cmp.Compare(b.addedToTable, a.addedToTable))
		})
		entries = entries[:bucketSize]
	}
	for _, e := range entries {
		e.handouts = e.handoutsAt(now) + 1
		e.handoutAt = now
		dst = append(dst, e.rpc())
	}
	return dst
}

// handoutsAt returns the decayed hand-out count of n at now.
func (n *tableNode) handoutsAt(now mclock.AbsTime) float64 {
	if n.handouts == 0 {
		return 0
	}
	return n.handouts * math.Exp2(-float64(now.Sub(n.handoutAt))/float64(handoutHalfLife))
}

// touch records contact from the node at from if the table (or a
// replacement list) has it with that UDP endpoint, and reports whether it
// did.
func (tab *table) touch(id enode.ID, from netip.AddrPort) bool {
	tab.mu.Lock()
	defer tab.mu.Unlock()
	b := tab.bucketOf(id)
	for _, list := range [][]*tableNode{b.entries, b.replacements} {
		if i := indexOf(list, id); i >= 0 {
			if ep, ok := list[i].node.UDPEndpoint(); ok && ep == from {
				list[i].lastSeen = tab.clock.Now()
				return true
			}
			return false
		}
	}
	return false
}

// waitForNodes returns when the table has a node, ctx ends or timeout
// passes on the table's clock.
func (tab *table) waitForNodes(ctx context.Context, timeout time.Duration) {
	tab.mu.Lock()
	empty := tab.lenLocked() == 0
	ch := tab.addedCh
	tab.mu.Unlock()
	if !empty {
		return
	}
	t := tab.clock.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-ch:
	case <-t.C():
	case <-ctx.Done():
	case <-tab.closeCh:
	}
}

func (tab *table) lenLocked() (n int) {
	for _, b := range &tab.buckets {
		n += len(b.entries)
	}
	return n
}

func (tab *table) len() int {
	tab.mu.Lock()
	defer tab.mu.Unlock()
	return tab.lenLocked()
}

// stats fills the table figures of s.
func (tab *table) stats(s *Stats) {
	tab.mu.Lock()
	defer tab.mu.Unlock()
	for i, b := range &tab.buckets {
		s.Buckets[i] = len(b.entries)
		s.TableNodes += len(b.entries)
		s.TableReplacements += len(b.replacements)
		for _, e := range b.entries {
			if e.live {
				s.Validated++
			}
		}
	}
}

// buckets returns the entries of every bucket.
func (tab *table) bucketInfo() [][]BucketNode {
	tab.mu.Lock()
	defer tab.mu.Unlock()
	out := make([][]BucketNode, nBuckets)
	for i, b := range &tab.buckets {
		for _, e := range b.entries {
			out[i] = append(out[i], e.info())
		}
	}
	return out
}

// randomNodes returns up to max bucket entries in random order.
func (tab *table) randomNodes(max int) []*enode.Node {
	tab.mu.Lock()
	defer tab.mu.Unlock()
	var all []*enode.Node
	for _, b := range &tab.buckets {
		for _, e := range b.entries {
			all = append(all, e.node)
		}
	}
	tab.rand.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	if len(all) > max {
		all = all[:max]
	}
	return all
}
