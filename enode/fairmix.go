package enode

import (
	"slices"
	"sync"
	"time"
)

// FairMix mixes the nodes of several iterators. It is itself an iterator,
// which ends only when Close is called; sources added with AddSource leave the
// mix when they end.
//
// The mix is approximately fair: Next takes the sources in turn. If the source
// whose turn it is has no node within the timeout, Next takes a node from any
// source instead, and halves that source's timeout for its next turn (a
// delivered node restores it), so a stalled source costs less and less.
//
// AddSource and Close may be called concurrently with Next. Next, Node and
// NodeSource must not be called concurrently with each other.
type FairMix struct {
	timeout time.Duration
	fromAny chan iterItem // written by runSource when any source's node is wanted
	quit    chan struct{} // closed by Close
	wg      sync.WaitGroup

	// Used by Next only.
	cur   iterItem
	timer *time.Timer

	mu      sync.Mutex // guards following
	closed  bool
	sources []*mixSource
	last    int
}

// mixSource is one source of a FairMix.
type mixSource struct {
	it      SourceIterator
	next    chan iterItem // written by runSource, closed when the source ends
	timeout time.Duration // used by Next only
}

// NewFairMix creates a mixer. timeout is how long Next waits for the source
// whose turn it is before taking a node from any source: roughly how long
// you would wait for a node on average. A zero timeout takes whatever is
// available; a negative timeout makes the mix strictly fair (Next waits for
// the source whose turn it is, however long).
func NewFairMix(timeout time.Duration) *FairMix {
	return &FairMix{
		timeout: timeout,
		fromAny: make(chan iterItem),
		quit:    make(chan struct{}),
	}
}

// AddSource adds a source of nodes. The mixer reads it on a goroutine of its
// own and closes it when the mixer is closed. Adding a source to a closed
// mixer closes the source.
func (m *FairMix) AddSource(it Iterator) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		it.Close()
		return
	}
	s := &mixSource{it: asSourceIter(it), next: make(chan iterItem), timeout: m.timeout}
	m.sources = append(m.sources, s)
	m.wg.Add(1)
	go m.runSource(s)
}

// Close ends the mixer and closes all its sources, and returns when the
// mixer's goroutines have ended. A blocked Next returns false.
func (m *FairMix) Close() {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.closed = true
	close(m.quit)
	for _, s := range m.sources {
		s.it.Close()
	}
	m.sources = nil
	m.mu.Unlock()
	m.wg.Wait()
}

// Next waits for the next node. It returns false only when the mixer is
// closed.
func (m *FairMix) Next() bool {
	m.cur = iterItem{}
	select {
	case <-m.quit:
		return false
	default:
	}
	for {
		s := m.pickSource()
		if s == nil {
			return m.nextFromAny()
		}
		item, ok, timedOut := m.waitSource(s)
		switch {
		case timedOut:
			s.timeout /= 2
			return m.nextFromAny()
		case ok:
			s.timeout = m.timeout
			m.cur = item
			return true
		}
		// The source ended or the mixer was closed.
		m.deleteSource(s)
		select {
		case <-m.quit:
			return false
		default:
		}
	}
}

// waitSource waits for a node of s within its timeout.
func (m *FairMix) waitSource(s *mixSource) (item iterItem, ok, timedOut bool) {
	if s.timeout >= 0 {
		// Take a waiting node without arming the timer.
		select {
		case item, ok = <-s.next:
			return item, ok, false
		default:
		}
		if s.timeout == 0 {
			return item, false, true
		}
		if m.timer == nil {
			m.timer = time.NewTimer(s.timeout)
		} else {
			m.timer.Reset(s.timeout)
		}
		defer m.timer.Stop()
		select {
		case item, ok = <-s.next:
			return item, ok, false
		case <-m.timer.C:
			return item, false, true
		case <-m.quit:
			return item, false, false
		}
	}
	select {
	case item, ok = <-s.next:
		return item, ok, false
	case <-m.quit:
		return item, false, false
	}
}

// Node returns the current node.
func (m *FairMix) Node() *Node {
	return m.cur.n
}

// NodeSource returns the source name of the current node.
func (m *FairMix) NodeSource() string {
	return m.cur.source
}

// nextFromAny takes the next node of any source. It is used when the mixer
// has no sources and when the fair choice timed out.
func (m *FairMix) nextFromAny() bool {
	select {
	case item := <-m.fromAny:
		m.cur = item
		return true
	case <-m.quit:
		return false
	}
}

// pickSource returns the source whose turn it is, or nil if there is none.
func (m *FairMix) pickSource() *mixSource {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.sources) == 0 {
		return nil
	}
	m.last = (m.last + 1) % len(m.sources)
	return m.sources[m.last]
}

// deleteSource removes s from the mix.
func (m *FairMix) deleteSource(s *mixSource) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if i := slices.Index(m.sources, s); i >= 0 {
		m.sources = slices.Delete(m.sources, i, i+1)
	}
}

// runSource reads the nodes of s and hands them to Next, through s.next when
// it is the source's turn or through fromAny when Next takes any node.
func (m *FairMix) runSource(s *mixSource) {
	defer m.wg.Done()
	defer close(s.next)
	for s.it.Next() {
		item := iterItem{s.it.Node(), s.it.NodeSource()}
		select {
		case s.next <- item:
		case m.fromAny <- item:
		case <-m.quit:
			return
		}
	}
}
