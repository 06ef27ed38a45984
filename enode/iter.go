package enode

import (
	"sync"
)

// Iterator is a sequence of nodes. Next moves to the next node and returns
// false when the sequence has ended or the iterator was closed; Node returns
// the current node. Close ends the iterator: it may be called concurrently
// with Next and Node, and interrupts a blocked Next. Next and Node must not
// be called concurrently with each other.
type Iterator interface {
	Next() bool  // moves to the next node
	Node() *Node // returns the current node
	Close()      // ends the iterator
}

// SourceIterator is an Iterator whose nodes come from a named source, for
// logs and metrics ("discv4", "dns", …).
type SourceIterator interface {
	Iterator
	NodeSource() string // the source of the current node
}

// WithSourceName gives it the source name name.
func WithSourceName(name string, it Iterator) SourceIterator {
	return sourceIter{it, name}
}

type sourceIter struct {
	Iterator
	name string
}

// NodeSource implements SourceIterator.
func (it sourceIter) NodeSource() string {
	return it.name
}

// asSourceIter returns it as a SourceIterator, with source name "" if it has
// none.
func asSourceIter(it Iterator) SourceIterator {
	if si, ok := it.(SourceIterator); ok {
		return si
	}
	return sourceIter{it, ""}
}

// iterItem is a node with its source name.
type iterItem struct {
	n      *Node
	source string
}

// ReadNodes reads up to n nodes from it, calling Next at most n times (so it
// ends on short repeating sequences). The result has no nil values and no
// two nodes with the same ID: of those, it keeps the one with the highest
// sequence number. The order is the order of first appearance.
func ReadNodes(it Iterator, n int) []*Node {
	var (
		result []*Node
		index  = make(map[ID]int, max(n, 0))
	)
	for i := 0; i < n && it.Next(); i++ {
		node := it.Node()
		if node == nil {
			continue
		}
		if j, ok := index[node.ID()]; ok {
			if node.Seq() > result[j].Seq() {
				result[j] = node
			}
			continue
		}
		index[node.ID()] = len(result)
		result = append(result, node)
	}
	return result
}

// IterNodes returns an iterator over nodes, once. The slice must not be
// modified while the iterator is in use.
func IterNodes(nodes []*Node) Iterator {
	return &sliceIter{nodes: nodes, index: -1}
}

// CycleNodes returns an iterator that cycles through nodes until it is
// closed. It ends at once if nodes is empty.
func CycleNodes(nodes []*Node) Iterator {
	return &sliceIter{nodes: nodes, index: -1, cycle: true}
}

// sliceIter iterates over a slice. It is safe for concurrent use.
type sliceIter struct {
	mu    sync.Mutex // guards following
	nodes []*Node    // nil when ended or closed
	index int
	cycle bool
}

func (it *sliceIter) Next() bool {
	it.mu.Lock()
	defer it.mu.Unlock()
	if len(it.nodes) == 0 {
		return false
	}
	it.index++
	if it.index == len(it.nodes) {
		if !it.cycle {
			it.nodes = nil
			return false
		}
		it.index = 0
	}
	return true
}

func (it *sliceIter) Node() *Node {
	it.mu.Lock()
	defer it.mu.Unlock()
	if len(it.nodes) == 0 || it.index < 0 {
		return nil
	}
	return it.nodes[it.index]
}

func (it *sliceIter) Close() {
	it.mu.Lock()
	defer it.mu.Unlock()
	it.nodes = nil
}

// Filter returns an iterator over the nodes of it for which check returns
// true. Closing it closes the wrapped iterator. check runs on the goroutine
// calling Next.
func Filter(it Iterator, check func(*Node) bool) Iterator {
	return &filterIter{asSourceIter(it), check}
}

type filterIter struct {
	SourceIterator
	check func(*Node) bool
}

func (f *filterIter) Next() bool {
	for f.SourceIterator.Next() {
		if n := f.Node(); n != nil && f.check(n) {
			return true
		}
	}
	return false
}
