package dialsched

import (
	"container/heap"
	"container/list"
	"time"

	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/internal/mclock"
)

// Timing of the scheduler.
//
// The first backoff of each class is chosen from what the failure costs and
// how soon it may change:
//
//   - ClassConnect, 30 s: a refused or unreachable port costs us a SYN and no
//     cryptography, and nodes restart within minutes, so retry soon. The dial
//     history already holds the node for 35 s from the dial start; the
//     backoff counts from the failure, so it adds little the first time and
//     then doubles (1, 2, 4 … min) for a node that stays away. Discovery
//     tables keep dead entries until they revalidate them, so without the
//     doubling the same dead nodes are dialed every 35 s.
//   - ClassBusy, 3 min: learning that a node is full costs both sides a full
//     encryption handshake (≈ 1 ms of CPU), and a full node stays full until
//     one of its peers leaves. go-ethereum's eth layer drops a random peer of
//     a full pool every 3–7 min, so asking again sooner than that mostly
//     buys another refusal. This is the backoff that keeps refused dials,
//     89 % of all dials in a go-ethereum network forming, rare.
//   - ClassHandshake and ClassProtocol, 15 min: a failed handshake, a wrong
//     identity, no shared capability or a protocol breach come from a stale
//     record, another network or another client version. None of these goes
//     away by itself soon, and each retry costs a handshake.
//   - ClassSelf, 1 h: the record points at us.
//
// Every class doubles on consecutive failures up to MaxBackoff (1 h), which
// bounds how long a node that comes back stays unused; a failure more than
// MaxBackoff after the previous backoff ended starts the count again. A
// connection that reaches the peer set clears the entry. Static nodes wait at
// most MaxStaticBackoff: the operator asked for them, and one dial every few
// minutes is cheap.
const (
	// HistoryExpiration is how long after the start of a dial the same node
	// is not dialed again. It exceeds the 30 s inbound throttle of remote
	// servers, like go-ethereum's.
	HistoryExpiration = 35 * time.Second

	ConnectBackoff   = 30 * time.Second // first backoff after ClassConnect
	BusyBackoff      = 3 * time.Minute  // first backoff after ClassBusy
	HandshakeBackoff = 15 * time.Minute // first backoff after ClassHandshake
	ProtocolBackoff  = 15 * time.Minute // first backoff after ClassProtocol
	SelfBackoff      = time.Hour        // backoff after ClassSelf
	MaxBackoff       = time.Hour        // cap of every backoff
	MaxStaticBackoff = 5 * time.Minute  // cap for static nodes

	// BackoffTableSize bounds the number of node IDs whose failures are
	// remembered (≈ 100 bytes each).
	BackoffTableSize = 10000

	// BootnodeFallback is how long the node must have had no peer at all
	// before bootnodes are dialed.
	BootnodeFallback = 20 * time.Second

	// Discovery lookups of a static node are throttled like go-ethereum's.
	InitialResolveDelay = 60 * time.Second
	MaxResolveDelay     = time.Hour

	// statsLogInterval is the least time between "Looking for peers" logs.
	statsLogInterval = 10 * time.Second
)

var backoffBase = [numClasses]time.Duration{
	ClassConnect:   ConnectBackoff,
	ClassBusy:      BusyBackoff,
	ClassHandshake: HandshakeBackoff,
	ClassProtocol:  ProtocolBackoff,
	ClassSelf:      SelfBackoff,
}

// backoffDelay is the backoff after the n-th consecutive failure of class c.
func backoffDelay(c FailureClass, n int) time.Duration {
	if c <= ClassNone || c >= numClasses {
		return 0
	}
	d := backoffBase[c]
	for i := 1; i < n && d < MaxBackoff; i++ {
		d *= 2
	}
	return min(d, MaxBackoff)
}

// backoffEntry is the failure record of one node.
type backoffEntry struct {
	id    enode.ID
	class FailureClass   // class of the last failure
	fails int            // consecutive failures of that class
	at    mclock.AbsTime // time of the last failure
	delay time.Duration  // backoff after it
}

// backoffTable remembers failed nodes, up to a bound, evicting the entry
// whose last failure is oldest. It is owned by the scheduler goroutine.
type backoffTable struct {
	max     int
	entries map[enode.ID]*list.Element
	lru     list.List // front: most recent failure
}

func newBackoffTable(max int) *backoffTable {
	return &backoffTable{max: max, entries: make(map[enode.ID]*list.Element)}
}

// fail records a failure of class c at now and returns the resulting delay.
func (t *backoffTable) fail(id enode.ID, c FailureClass, now mclock.AbsTime) time.Duration {
	if c <= ClassNone || c >= numClasses {
		return 0
	}
	var e *backoffEntry
	if el, ok := t.entries[id]; ok {
		t.lru.MoveToFront(el)
		e = el.Value.(*backoffEntry)
		// Count on only if the failure class is the same and the node
		// failed again reasonably soon after its last backoff ended.
		if e.class == c && now < e.at.Add(e.delay+MaxBackoff) {
			e.fails++
		} else {
			e.class, e.fails = c, 1
		}
	} else {
		e = &backoffEntry{id: id, class: c, fails: 1}
		t.entries[id] = t.lru.PushFront(e)
		if t.lru.Len() > t.max {
			old := t.lru.Remove(t.lru.Back()).(*backoffEntry)
			delete(t.entries, old.id)
		}
	}
	e.at = now
	e.delay = backoffDelay(c, e.fails)
	return e.delay
}

// until returns the end of id's backoff and whether it is later than now.
// For a static node the delay is capped at MaxStaticBackoff, and a busy
// remote is asked again on the connect schedule (30 s, doubling): full
// nodes free slots all the time, and the operator asked for this one.
func (t *backoffTable) until(id enode.ID, now mclock.AbsTime, static bool) (mclock.AbsTime, bool) {
	el, ok := t.entries[id]
	if !ok {
		return 0, false
	}
	e := el.Value.(*backoffEntry)
	d := e.delay
	if static {
		if e.class == ClassBusy {
			d = backoffDelay(ClassConnect, e.fails)
		}
		d = min(d, MaxStaticBackoff)
	}
	end := e.at.Add(d)
	return end, end > now
}

// reset forgets id's failures.
func (t *backoffTable) reset(id enode.ID) {
	if el, ok := t.entries[id]; ok {
		t.lru.Remove(el)
		delete(t.entries, id)
	}
}

// active counts the nodes backed off at now, in all and by the class of
// their last failure.
func (t *backoffTable) active(now mclock.AbsTime) (n int, byClass [numClasses]int) {
	for el := t.lru.Front(); el != nil; el = el.Next() {
		e := el.Value.(*backoffEntry)
		if e.at.Add(e.delay) > now {
			n++
			byClass[e.class]++
		}
	}
	return n, byClass
}

func (t *backoffTable) len() int { return t.lru.Len() }

// timedItem is a node ID due at a time.
type timedItem struct {
	at mclock.AbsTime
	id enode.ID
}

// timedHeap is a min-heap of timedItems by time. Duplicates are allowed.
type timedHeap []timedItem

func (h timedHeap) Len() int           { return len(h) }
func (h timedHeap) Less(i, j int) bool { return h[i].at < h[j].at }
func (h timedHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *timedHeap) Push(x any)        { *h = append(*h, x.(timedItem)) }
func (h *timedHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	*h = old[:len(old)-1]
	return it
}

func (h *timedHeap) add(id enode.ID, at mclock.AbsTime) { heap.Push(h, timedItem{at, id}) }

// next returns the earliest time in the heap.
func (h timedHeap) next() (mclock.AbsTime, bool) {
	if len(h) == 0 {
		return 0, false
	}
	return h[0].at, true
}

// popDue removes the items due at or before now and calls fn for each.
func (h *timedHeap) popDue(now mclock.AbsTime, fn func(enode.ID)) {
	for len(*h) > 0 && (*h)[0].at <= now {
		it := heap.Pop(h).(timedItem)
		fn(it.id)
	}
}

// dialHistory holds the nodes dialed within HistoryExpiration.
type dialHistory struct {
	expiry map[enode.ID]mclock.AbsTime
	heap   timedHeap
}

func newDialHistory() *dialHistory {
	return &dialHistory{expiry: make(map[enode.ID]mclock.AbsTime)}
}

func (h *dialHistory) add(id enode.ID, exp mclock.AbsTime) {
	h.expiry[id] = exp
	h.heap.add(id, exp)
}

func (h *dialHistory) contains(id enode.ID) bool {
	_, ok := h.expiry[id]
	return ok
}

// expire removes the entries due at or before now, calling fn for each.
func (h *dialHistory) expire(now mclock.AbsTime, fn func(enode.ID)) {
	h.heap.popDue(now, func(id enode.ID) {
		// A node re-added later has a later expiry in the map; keep it.
		if exp, ok := h.expiry[id]; ok && exp <= now {
			delete(h.expiry, id)
			fn(id)
		}
	})
}

func (h *dialHistory) next() (mclock.AbsTime, bool) { return h.heap.next() }
