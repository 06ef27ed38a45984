package discover

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/devp2p-go/devp2p/enode"
)

// TestLookupAlpha runs a lookup over a synthetic network where every node
// answers with the true closest nodes it knows, and checks that it finds
// the closest nodes, asks each node once and never has more than alpha
// queries in flight.
func TestLookupAlpha(t *testing.T) {
	tt := newTableTest(t)
	var all []*enode.Node
	for i := range 300 {
		all = append(all, node(tt.idAt(240+i%17), "10.1."+itoa(i/200)+"."+itoa(i%200+1), 0))
	}
	for _, n := range all[:20] {
		tt.tab.addFound(n)
	}
	target := tt.idAt(256)
	// Each node knows the 30 nodes closest to itself and every tenth node.
	knows := func(n *enode.Node) []*enode.Node {
		h := nodesByDistance{target: n.ID(), max: 30}
		var known []*enode.Node
		for i, o := range all {
			if o != n {
				h.push(o)
				if i%10 == 0 {
					known = append(known, o)
				}
			}
		}
		return append(known, h.entries...)
	}
	var (
		mu               sync.Mutex
		inFlight, maxFly int
		asked            = make(map[enode.ID]int)
	)
	query := func(n *enode.Node) ([]*enode.Node, error) {
		mu.Lock()
		inFlight++
		maxFly = max(maxFly, inFlight)
		asked[n.ID()]++
		mu.Unlock()
		h := nodesByDistance{target: target, max: bucketSize}
		for _, k := range knows(n) {
			h.push(k)
		}
		mu.Lock()
		inFlight--
		mu.Unlock()
		return h.entries, nil
	}
	spawn := func(f func()) bool { go f(); return true }
	res := newLookup(context.Background(), tt.tab, target, query, spawn).run()

	truth := slices.Clone(all)
	slices.SortFunc(truth, func(a, b *enode.Node) int { return enode.DistCmp(target, a.ID(), b.ID()) })
	for i := range bucketSize {
		if res[i].ID() != truth[i].ID() {
			t.Fatalf("result %d is not the %dth closest node", i, i)
		}
	}
	if maxFly > alpha {
		t.Errorf("%d queries in flight", maxFly)
	}
	for id, n := range asked {
		if n > 1 {
			t.Errorf("node %v asked %d times", id.TerminalString(), n)
		}
	}
	t.Logf("%d nodes asked", len(asked))
}

// TestLookupCancel checks that a cancelled lookup ends without waiting for
// its queries.
func TestLookupCancel(t *testing.T) {
	tt := newTableTest(t)
	for i := range 5 {
		tt.tab.addFound(node(tt.idAt(256), "10.0.0."+itoa(i+1), 0))
	}
	ctx, cancel := context.WithCancel(context.Background())
	block := make(chan struct{})
	started := make(chan struct{}, alpha)
	var wg sync.WaitGroup
	query := func(n *enode.Node) ([]*enode.Node, error) {
		started <- struct{}{}
		<-block
		return nil, nil
	}
	spawn := func(f func()) bool { wg.Go(f); return true }
	l := newLookup(ctx, tt.tab, enode.ID{}, query, spawn)
	done := make(chan bool)
	go func() { done <- l.advance() }()
	for range alpha {
		<-started
	}
	cancel()
	if <-done {
		t.Fatal("advance reported nodes after cancel")
	}
	close(block)
	wg.Wait()
}
