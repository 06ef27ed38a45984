package discover

import (
	"context"
	"time"

	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/internal/mclock"
)

// Lookup iterator pacing: a burst of lookups at start, then at most one per
// lookupInterval (go-ethereum spaces every lookup by 1 s), so that an
// iterator read in a tight loop on a small network cannot flood it.
const (
	lookupInterval = time.Second
	lookupBurst    = 4
	// When the table is empty the iterator refreshes (asking the bootnodes
	// and the DB again) and waits for a node: first for minEmptyTableWait,
	// doubling on each further empty round up to emptyTableWait. A node
	// whose first packets to the bootnode were lost (full receive buffers
	// during a mass start) thus retries within seconds instead of sitting
	// out a whole minute; a node that really is alone backs off to a
	// refresh a minute.
	minEmptyTableWait = time.Second
	emptyTableWait    = time.Minute
)

// queryFunc asks node n for nodes close to the lookup target.
type queryFunc func(n *enode.Node) ([]*enode.Node, error)

// lookup is an iterative Kademlia lookup: it asks the alpha closest nodes
// not yet asked for their neighbours of the target, merges the answers into
// a list of the bucketSize closest nodes seen, and ends when every node in
// that list has been asked. It is used by one goroutine; queries run on
// goroutines of their own.
type lookup struct {
	ctx     context.Context
	query   queryFunc // nil once the lookup has ended
	spawn   func(func()) bool
	result  nodesByDistance
	asked   map[enode.ID]bool
	seen    map[enode.ID]bool
	replyCh chan []*enode.Node // buffered for alpha replies, so queries never block
	queries int                // in flight
	found   []*enode.Node      // nodes first seen in the last advance
}

func newLookup(ctx context.Context, tab *table, target enode.ID, q queryFunc, spawn func(func()) bool) *lookup {
	l := &lookup{
		ctx:     ctx,
		query:   q,
		spawn:   spawn,
		result:  nodesByDistance{target: target, max: bucketSize},
		asked:   map[enode.ID]bool{tab.self: true},
		seen:    map[enode.ID]bool{tab.self: true},
		replyCh: make(chan []*enode.Node, alpha),
	}
	// Start from the closest table nodes, whatever their state.
	l.addNodes(tab.closest(target, bucketSize, nil))
	return l
}

// run runs the lookup to its end and returns the closest nodes found.
func (l *lookup) run() []*enode.Node {
	for l.advance() {
	}
	return l.result.entries
}

// advance runs the lookup until new nodes are found (returning true, with
// the nodes in l.found) or it ends (false).
func (l *lookup) advance() bool {
	for l.startQueries() {
		select {
		case nodes := <-l.replyCh:
			l.queries--
			l.addNodes(nodes)
			if len(l.found) > 0 {
				return true
			}
		case <-l.ctx.Done():
			// Queries in flight end by themselves (they are bounded by
			// the reply timeout) and never block on replyCh.
			l.query = nil
		}
	}
	l.found = nil
	return false
}

func (l *lookup) addNodes(nodes []*enode.Node) {
	l.found = nil
	for _, n := range nodes {
		if n == nil || l.seen[n.ID()] {
			continue
		}
		l.seen[n.ID()] = true
		l.result.push(n)
		l.found = append(l.found, n)
	}
}

// startQueries asks the closest unasked nodes, up to alpha in flight, and
// reports whether any query is in flight.
func (l *lookup) startQueries() bool {
	if l.query == nil || l.ctx.Err() != nil {
		l.query = nil
		return false
	}
	for i := 0; i < len(l.result.entries) && l.queries < alpha; i++ {
		n := l.result.entries[i]
		if l.asked[n.ID()] {
			continue
		}
		l.asked[n.ID()] = true
		l.queries++
		q, ch := l.query, l.replyCh
		if !l.spawn(func() {
			nodes, _ := q(n)
			ch <- nodes
		}) {
			ch <- nil // transport closed
		}
	}
	return l.queries > 0
}

// lookupIterator yields the nodes of successive random lookups as they are
// found: first the table nodes each lookup starts from, then every node seen
// for the first time in that lookup. Random targets give each caller, and
// each node of the network, a different sample of the network.
type lookupIterator struct {
	t      *UDPv4
	ctx    context.Context
	cancel context.CancelFunc
	lookup *lookup
	buffer []*enode.Node
	cur    *enode.Node
	tat    mclock.AbsTime // pacing: theoretical arrival time of the next lookup
	empty  time.Duration  // wait after the next empty-table refresh; 0 means minEmptyTableWait
}

func newLookupIterator(t *UDPv4) *lookupIterator {
	ctx, cancel := context.WithCancel(t.ctx)
	return &lookupIterator{t: t, ctx: ctx, cancel: cancel, tat: t.clock.Now()}
}

// Node returns the current node.
func (it *lookupIterator) Node() *enode.Node { return it.cur }

// Next moves to the next node. It blocks while lookups find nothing new and
// returns false once the iterator or the listener is closed.
func (it *lookupIterator) Next() bool {
	for len(it.buffer) == 0 {
		if it.ctx.Err() != nil {
			it.cur, it.lookup = nil, nil
			return false
		}
		if it.lookup == nil {
			if !it.pace() {
				continue
			}
			it.lookup = it.t.newRandomLookup(it.ctx)
			if len(it.lookup.found) == 0 {
				// The table is empty: get seeds in and wait for a node.
				it.lookup = nil
				it.t.tab.refresh()
				wait := max(it.empty, minEmptyTableWait)
				it.empty = min(2*wait, emptyTableWait)
				it.t.tab.waitForNodes(it.ctx, wait)
				continue
			}
			it.empty = 0
			it.buffer = it.lookup.found
			continue
		}
		if !it.lookup.advance() {
			it.lookup = nil
			continue
		}
		it.buffer = it.lookup.found
	}
	it.cur, it.buffer = it.buffer[0], it.buffer[1:]
	return true
}

// pace waits until the next lookup may start; false means the wait was
// interrupted.
func (it *lookupIterator) pace() bool {
	clock := it.t.clock
	now := clock.Now()
	if it.tat < now {
		it.tat = now
	}
	if wait := it.tat.Sub(now) - (lookupBurst-1)*lookupInterval; wait > 0 {
		timer := clock.NewTimer(wait)
		defer timer.Stop()
		select {
		case <-timer.C():
		case <-it.ctx.Done():
			return false
		}
	}
	it.tat = it.tat.Add(lookupInterval)
	return true
}

// Close ends the iterator; a blocked Next returns false.
func (it *lookupIterator) Close() { it.cancel() }
