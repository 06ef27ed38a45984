package discover

import (
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/devp2p-go/devp2p/internal/mclock"
)

const never = mclock.AbsTime(math.MaxInt64)

const (
	// fastRevalidationFactor divides PingInterval for the list of new and
	// changed nodes: one is checked every random interval up to 300 ms by
	// default, about ten times go-ethereum's rate, so a bootstrapped table
	// is checked in seconds rather than minutes.
	fastRevalidationFactor = 10
	// slowRevalidationFactor multiplies it for validated nodes (9 s by
	// default, as in go-ethereum).
	slowRevalidationFactor = 3
	// maxRevalidations bounds the liveness checks in flight.
	maxRevalidations = 8
)

// revalList is a set of nodes checked one at a time at random intervals.
type revalList struct {
	nodes    []*tableNode
	nextTime mclock.AbsTime
	interval time.Duration
}

// revalidation schedules liveness checks: new and changed nodes are on the
// fast list, validated ones on the slow list. It is guarded by the table
// lock; the table loop runs it.
type revalidation struct {
	fast, slow revalList
	inFlight   int
	// announce holds the seeds of a starting table, checked at once (see
	// announceSeedsLocked).
	announce []*tableNode
}

func (r *revalidation) init(pingInterval time.Duration) {
	r.fast = revalList{nextTime: never, interval: max(pingInterval/fastRevalidationFactor, time.Millisecond)}
	r.slow = revalList{nextTime: never, interval: pingInterval * slowRevalidationFactor}
}

func (l *revalList) schedule(now mclock.AbsTime, rnd *rand.Rand) {
	l.nextTime = now.Add(time.Duration(rnd.Int64N(int64(l.interval))))
}

// push adds n to list l.
func (r *revalidation) push(l *revalList, n *tableNode, now mclock.AbsTime, rnd *rand.Rand) {
	l.nodes = append(l.nodes, n)
	n.reval = l
	if l.nextTime == never {
		l.schedule(now, rnd)
	}
}

// remove takes n off its list.
func (r *revalidation) remove(n *tableNode) {
	l := n.reval
	if l == nil {
		return
	}
	if i := slices.Index(l.nodes, n); i >= 0 {
		l.nodes = slices.Delete(l.nodes, i, i+1)
	}
	if len(l.nodes) == 0 {
		l.nextTime = never
	}
	n.reval = nil
}

func (r *revalidation) moveTo(l *revalList, n *tableNode, now mclock.AbsTime, rnd *rand.Rand) {
	if n.reval == l {
		return
	}
	r.remove(n)
	r.push(l, n, now, rnd)
}

// pick returns a random node of l that is not being checked, or nil.
func (l *revalList) pick(rnd *rand.Rand) *tableNode {
	if len(l.nodes) == 0 {
		return nil
	}
	start := rnd.IntN(len(l.nodes))
	for i := range l.nodes {
		if n := l.nodes[(start+i)%len(l.nodes)]; !n.checking {
			return n
		}
	}
	return nil
}

// announceSeedsLocked queues every entry of a starting table, its seeds
// from the DB and the bootnodes, for a liveness check at once, up to
// maxRevalidations in flight, instead of one per fast interval (30 seeds
// would take about 4.5 s). Each check is a Ping, which tells the node our
// current endpoint: a node restarted on a new address or port is thus
// re-learned by its former neighbours within a few round trips, and they
// relay the new endpoint from then on.
func (tab *table) announceSeedsLocked() {
	for _, b := range &tab.buckets {
		tab.reval.announce = append(tab.reval.announce, b.entries...)
	}
}

// revalResult is the outcome of a liveness check.
type revalResult struct {
	n     *tableNode
	alive bool
}

// runRevalidationLocked starts the checks that are due and returns when to
// run again.
func (tab *table) runRevalidationLocked(now mclock.AbsTime) mclock.AbsTime {
	r := &tab.reval
	for len(r.announce) > 0 && r.inFlight < maxRevalidations {
		n := r.announce[0]
		r.announce = r.announce[1:]
		if n.reval != nil && !n.checking && !n.live {
			tab.startCheckLocked(n)
		}
	}
	for _, l := range []*revalList{&r.fast, &r.slow} {
		if l.nextTime > now {
			continue
		}
		if r.inFlight < maxRevalidations {
			if n := l.pick(tab.rand); n != nil {
				tab.startCheckLocked(n)
			}
		}
		l.schedule(now, tab.rand)
	}
	return min(r.fast.nextTime, r.slow.nextTime)
}

func (tab *table) startCheckLocked(n *tableNode) {
	n.checking = true
	tab.reval.inFlight++
	node := n.node
	tab.wg.Add(1)
	go func() {
		defer tab.wg.Done()
		_, err := tab.net.ping(node)
		select {
		case tab.revalDoneCh <- revalResult{n, err == nil}:
		case <-tab.closeCh:
		}
	}()
}

// handleRevalResult applies the outcome of a check, on the loop.
func (tab *table) handleRevalResult(res revalResult) {
	tab.mu.Lock()
	defer tab.mu.Unlock()
	tab.reval.inFlight--
	res.n.checking = false
	if res.n.reval == nil {
		return // removed from the table meanwhile
	}
	tab.checkedLocked(res.n, res.alive, tab.clock.Now())
}

// checkedLocked records a liveness check of entry n. A node passing moves to
// the slow list. A node failing loses two thirds of its checks and returns
// to the fast list; at zero it leaves the table and a replacement takes its
// place (go-ethereum's rule).
func (tab *table) checkedLocked(n *tableNode, alive bool, now mclock.AbsTime) {
	if n.reval == nil {
		return
	}
	if !alive {
		n.checks /= 3
		n.live = false
		if n.checks == 0 {
			tab.deleteLocked(tab.bucketOf(n.ID()), n)
			return
		}
		tab.reval.moveTo(&tab.reval.fast, n, now, tab.rand)
		return
	}
	n.checks++
	n.live = true
	n.lastSeen = now
	tab.reval.moveTo(&tab.reval.slow, n, now, tab.rand)
	if n.checks == 1 && tab.db != nil {
		// Store nodes once they proved alive, as seeds for a restart. The
		// loop writes them, outside the lock.
		tab.dbWrites = append(tab.dbWrites, n.node)
		tab.wakeLocked()
	}
}

// wakeLocked makes the loop run revalidation and pending work.
func (tab *table) wakeLocked() {
	select {
	case tab.revalWakeCh <- struct{}{}:
	default:
	}
}

// flushDBWrites stores the nodes queued by checkedLocked; loop only.
func (tab *table) flushDBWrites() {
	tab.mu.Lock()
	writes := tab.dbWrites
	tab.dbWrites = nil
	tab.mu.Unlock()
	for _, n := range writes {
		if err := tab.db.UpdateNode(n); err != nil {
			tab.log.Warn("Can't store node", "id", n.ID(), "err", err)
		}
	}
}
