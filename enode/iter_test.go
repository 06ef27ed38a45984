package enode

import (
	"encoding/binary"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/devp2p-go/devp2p/enr"
)

func TestReadNodes(t *testing.T) {
	t.Parallel()
	nodes := ReadNodes(new(genIter), 10)
	checkNodes(t, nodes, 10)
	if len(ReadNodes(new(genIter), 0)) != 0 || len(ReadNodes(new(genIter), -1)) != 0 {
		t.Error("ReadNodes with n <= 0 returned nodes")
	}
}

// ReadNodes must stop on repeating sequences and keep the highest seq.
func TestReadNodesCycle(t *testing.T) {
	t.Parallel()
	iter := &callCountIter{
		Iterator: CycleNodes([]*Node{
			testNode(0, 0),
			testNode(1, 0),
			testNode(2, 0),
			testNode(1, 5),
		}),
	}
	nodes := ReadNodes(iter, 10)
	checkNodes(t, nodes, 3)
	if iter.count != 10 {
		t.Errorf("ReadNodes called Next %d times, want 10", iter.count)
	}
	if nodes[1].Seq() != 5 {
		t.Errorf("kept seq %d of node 1, want 5", nodes[1].Seq())
	}
	if nodes[0].ID() != testID(0) || nodes[2].ID() != testID(2) {
		t.Error("nodes not in order of first appearance")
	}
}

func TestIterNodes(t *testing.T) {
	t.Parallel()
	nodes := make([]*Node, 10)
	for i := range nodes {
		nodes[i] = testNode(uint64(i), uint64(i))
	}
	it := IterNodes(nodes)
	if it.Node() != nil {
		t.Error("Node before Next is not nil")
	}
	var got []*Node
	for it.Next() {
		got = append(got, it.Node())
	}
	if len(got) != len(nodes) {
		t.Fatalf("got %d nodes", len(got))
	}
	for i := range got {
		if got[i] != nodes[i] {
			t.Fatalf("node %d out of order", i)
		}
	}
	if it.Next() || it.Node() != nil {
		t.Error("ended iterator continues")
	}
	if IterNodes(nil).Next() || CycleNodes(nil).Next() {
		t.Error("iterator over no nodes is not empty")
	}
}

func TestCycleNodesClose(t *testing.T) {
	t.Parallel()
	it := CycleNodes([]*Node{testNode(1, 1), testNode(2, 1)})
	for i := range 7 {
		if !it.Next() || it.Node().ID() != testID(uint64(i%2+1)) {
			t.Fatalf("step %d: wrong node", i)
		}
	}
	// Close may run concurrently with Next.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for it.Next() {
			it.Node()
		}
	}()
	it.Close()
	wg.Wait()
	if it.Next() {
		t.Error("Next after Close returned true")
	}
}

func TestFilter(t *testing.T) {
	t.Parallel()
	src := WithSourceName("src", IterNodes(ReadNodes(new(genIter), 20)))
	it := Filter(src, func(n *Node) bool { return n.Seq()%2 == 0 })
	var count int
	for it.Next() {
		if it.Node().Seq()%2 != 0 {
			t.Fatalf("filter passed node %v", it.Node().Seq())
		}
		if it.(SourceIterator).NodeSource() != "src" {
			t.Fatal("filter lost the source name")
		}
		count++
	}
	if count != 10 {
		t.Errorf("%d nodes passed, want 10", count)
	}
	// Closing the filter closes the source.
	g := new(genIter)
	f := Filter(g, func(*Node) bool { return true })
	f.Close()
	if f.Next() {
		t.Error("closed filter returned a node")
	}
}

func TestFairMix(t *testing.T) {
	t.Parallel()
	for range 3 {
		checkFairMix(t, 30*time.Millisecond)
	}
}

func TestFairMixNoTimeout(t *testing.T) {
	t.Parallel()
	for range 3 {
		checkFairMix(t, -1)
	}
}

func checkFairMix(t *testing.T, timeout time.Duration) {
	t.Helper()
	mix := NewFairMix(timeout)
	mix.AddSource(&genIter{index: 1})
	mix.AddSource(&genIter{index: 2})
	mix.AddSource(&genIter{index: 3})
	defer mix.Close()

	nodes := readWithTimeout(t, mix, 500)
	// All sources are fast, so the mix must be exactly round-robin.
	counts := make(map[uint64]int)
	for _, n := range nodes {
		id := n.ID()
		counts[binary.BigEndian.Uint64(id[:8])>>32]++
	}
	for src, c := range counts {
		if c < 500/3-2 || c > 500/3+2 {
			t.Errorf("source %d gave %d of 500 nodes: %v", src, c, counts)
		}
	}
}

func TestFairMixSlowSource(t *testing.T) {
	t.Parallel()
	mix := NewFairMix(10 * time.Millisecond)
	defer mix.Close()
	mix.AddSource(new(blockingIter)) // never delivers
	mix.AddSource(&genIter{index: 1})
	mix.AddSource(&genIter{index: 2})
	nodes := readWithTimeout(t, mix, 200)
	if len(nodes) != 200 {
		t.Fatalf("got %d nodes", len(nodes))
	}
	// The stalled source's timeout halves each turn it misses (about 70
	// turns here), so it costs less and less.
	mix.mu.Lock()
	defer mix.mu.Unlock()
	if to := mix.sources[0].timeout; to >= time.Millisecond {
		t.Errorf("stalled source's timeout is %v", to)
	}
}

func TestFairMixEmpty(t *testing.T) {
	t.Parallel()
	mix := NewFairMix(0)
	done := make(chan bool)
	go func() { done <- mix.Next() }()
	select {
	case <-done:
		t.Fatal("Next returned without sources")
	case <-time.After(20 * time.Millisecond):
	}
	mix.AddSource(&genIter{index: 1})
	select {
	case ok := <-done:
		if !ok || mix.Node() == nil {
			t.Error("Next returned no node after AddSource")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Next did not return after AddSource")
	}
	mix.Close()
}

func TestFairMixRemoveSource(t *testing.T) {
	t.Parallel()
	mix := NewFairMix(1 * time.Second)
	defer mix.Close()
	source := make(chan *Node)
	mix.AddSource(&chanIter{ch: source})

	result := make(chan *Node)
	go func() {
		mix.Next()
		result <- mix.Node()
	}()
	close(source) // the only source ends while Next waits on it
	select {
	case <-result:
		t.Fatal("Next returned without a node")
	case <-time.After(20 * time.Millisecond):
	}
	want := testNode(7, 0)
	mix.AddSource(CycleNodes([]*Node{want}))
	select {
	case n := <-result:
		if n != want {
			t.Errorf("Next returned %v, want the new source's node", n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Next did not return a node of the new source")
	}
	mix.mu.Lock()
	n := len(mix.sources)
	mix.mu.Unlock()
	if n != 1 {
		t.Errorf("%d sources left, want 1", n)
	}
}

func TestFairMixClose(t *testing.T) {
	t.Parallel()
	for range 20 {
		mix := NewFairMix(-1)
		srcs := []*genIter{{index: 1}, {index: 2}}
		for _, s := range srcs {
			mix.AddSource(s)
		}
		b := new(blockingIter)
		mix.AddSource(b)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for mix.Next() {
			}
		}()
		time.Sleep(time.Millisecond)
		closed := make(chan struct{})
		go func() { mix.Close(); close(closed) }()
		waitChan(t, done, "Next did not return after Close")
		waitChan(t, closed, "Close did not return")
		for _, s := range srcs {
			if !s.closed.Load() {
				t.Fatal("source not closed")
			}
		}
		if mix.Next() {
			t.Fatal("Next after Close returned true")
		}
		mix.Close() // idempotent
		late := new(genIter)
		mix.AddSource(late)
		if !late.closed.Load() {
			t.Fatal("source added after Close was not closed")
		}
	}
}

func TestFairMixSourceNames(t *testing.T) {
	t.Parallel()
	mix := NewFairMix(-1)
	defer mix.Close()
	mix.AddSource(WithSourceName("a", &genIter{index: 1}))
	mix.AddSource(WithSourceName("b", &genIter{index: 2}))
	mix.AddSource(&genIter{index: 3})
	seen := map[string]bool{}
	for range 30 {
		if !mix.Next() {
			t.Fatal("mix ended")
		}
		seen[mix.NodeSource()] = true
	}
	if !seen["a"] || !seen["b"] || !seen[""] || len(seen) != 3 {
		t.Errorf("source names seen: %v", seen)
	}
}

// Code below here is the framework for the tests above.

func testID(i uint64) ID {
	var id ID
	binary.BigEndian.PutUint64(id[:], i)
	return id
}

func testNode(id, seq uint64) *Node {
	var r enr.Record
	r.SetSeq(seq)
	return SignNull(&r, testID(id))
}

func checkNodes(t *testing.T, nodes []*Node, wantLen int) {
	t.Helper()
	if len(nodes) != wantLen {
		t.Errorf("slice has %d nodes, want %d", len(nodes), wantLen)
		return
	}
	seen := make(map[ID]bool, len(nodes))
	for i, e := range nodes {
		if e == nil {
			t.Errorf("nil node at index %d", i)
			return
		}
		if seen[e.ID()] {
			t.Errorf("slice has duplicate node %v", e.ID())
			return
		}
		seen[e.ID()] = true
	}
}

// readWithTimeout reads n nodes from it, failing the test if that takes
// longer than 10 seconds.
func readWithTimeout(t *testing.T, it Iterator, n int) []*Node {
	t.Helper()
	result := make(chan []*Node, 1)
	go func() {
		var nodes []*Node
		for len(nodes) < n && it.Next() {
			nodes = append(nodes, it.Node())
		}
		result <- nodes
	}()
	select {
	case nodes := <-result:
		return nodes
	case <-time.After(10 * time.Second):
		it.Close()
		t.Fatalf("timeout reading %d nodes", n)
		return nil
	}
}

func waitChan(t *testing.T, ch <-chan struct{}, msg string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatal(msg)
	}
}

// callCountIter counts calls to Next.
type callCountIter struct {
	Iterator
	count int
}

func (it *callCountIter) Next() bool {
	it.count++
	return it.Iterator.Next()
}

// genIter creates distinct nodes (ID index<<32|counter, seq counter) forever.
type genIter struct {
	index  uint64
	gen    uint64
	cur    *Node
	closed atomic.Bool
}

func (s *genIter) Next() bool {
	if s.closed.Load() {
		return false
	}
	s.gen++
	s.cur = testNode(s.index<<32|s.gen, s.gen)
	return true
}

func (s *genIter) Node() *Node { return s.cur }
func (s *genIter) Close()      { s.closed.Store(true) }

// blockingIter never delivers a node; Next blocks until Close.
type blockingIter struct {
	once      sync.Once
	closeOnce sync.Once
	ch        chan struct{}
}

func (b *blockingIter) init() {
	b.once.Do(func() { b.ch = make(chan struct{}) })
}

func (b *blockingIter) Next() bool {
	b.init()
	<-b.ch
	return false
}

func (b *blockingIter) Node() *Node { return nil }

func (b *blockingIter) Close() {
	b.init()
	b.closeOnce.Do(func() { close(b.ch) })
}

// chanIter delivers the nodes sent on ch and ends when ch is closed.
type chanIter struct {
	ch        chan *Node
	cur       *Node
	closed    chan struct{}
	once      sync.Once
	closeOnce sync.Once
}

func (c *chanIter) init() { c.once.Do(func() { c.closed = make(chan struct{}) }) }

func (c *chanIter) Next() bool {
	c.init()
	select {
	case n, ok := <-c.ch:
		c.cur = n
		return ok
	case <-c.closed:
		return false
	}
}

func (c *chanIter) Node() *Node { return c.cur }

func (c *chanIter) Close() {
	c.init()
	c.closeOnce.Do(func() { close(c.closed) })
}
