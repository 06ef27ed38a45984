package discv4test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/devp2p-go/devp2p/discover"
	"github.com/devp2p-go/devp2p/enode"
	gethenode "github.com/ethereum/go-ethereum/p2p/enode"
)

// network is a mixed loopback network.
type network struct {
	logs  *logSink
	nodes []*node
}

func (nw *network) byImpl(i impl) []*node {
	var out []*node
	for _, n := range nw.nodes {
		if n.impl == i {
			out = append(out, n)
		}
	}
	return out
}

func (nw *network) ids() []enode.ID {
	ids := make([]enode.ID, len(nw.nodes))
	for i, n := range nw.nodes {
		ids[i] = n.id()
	}
	return ids
}

func (nw *network) byID() map[enode.ID]*node {
	m := make(map[enode.ID]*node)
	for _, n := range nw.nodes {
		m[n.id()] = n
	}
	return m
}

// startChain starts n nodes of each implementation, alternating, each with
// the node started before it (of the other implementation) as its only
// bootnode: every node must be found through lookups that cross
// implementations.
func startChain(t *testing.T, per int) *network {
	nw := &network{logs: newLogSink(t)}
	var prev *node
	for i := range per {
		for _, im := range []impl{implGeth, implOurs} {
			cfg := nodeConfig{name: fmt.Sprintf("%s%d", im[:1], i)}
			if prev != nil {
				cfg.boot = []*node{prev}
			}
			prev = startNode(t, nw.logs, im, cfg)
			nw.nodes = append(nw.nodes, prev)
		}
	}
	return nw
}

// tableSummary describes how many nodes of each implementation every
// node's table holds.
func (nw *network) tableSummary() string {
	impls := make(map[enode.ID]impl)
	for _, n := range nw.nodes {
		impls[n.id()] = n.impl
	}
	var b strings.Builder
	for _, n := range nw.nodes {
		var g, o int
		for id := range n.table() {
			switch impls[id] {
			case implGeth:
				g++
			case implOurs:
				o++
			}
		}
		fmt.Fprintf(&b, " %s:%d+%d", n.name, g, o)
	}
	return b.String()
}

// Table geometry shared by both implementations: 17 buckets of 16, the
// first holding log distances up to 240.
const (
	bucketSize = 16
	nBuckets   = 17
)

func bucketIndex(a, b enode.ID) int {
	d := enode.LogDist(a, b)
	if d <= 256-nBuckets+1 {
		return 0
	}
	return d - (256 - nBuckets) - 1
}

// missingFromTables describes the nodes missing from tables. A complete
// table holds every other node, except where a bucket would overflow, which
// must then be full. With share < 1, a table must hold that share of a
// complete table, and that share of the nodes of the other implementation.
func (nw *network) missingFromTables(share float64) string {
	var b strings.Builder
	for _, n := range nw.nodes {
		tab := n.table()
		var (
			want, have           [nBuckets]int
			otherWant, otherHave int
			missing              []string
		)
		for _, m := range nw.nodes {
			if m == n {
				continue
			}
			bi := bucketIndex(n.id(), m.id())
			want[bi]++
			_, ok := tab[m.id()]
			if ok {
				have[bi]++
			} else {
				missing = append(missing, m.name)
			}
			if m.impl != n.impl {
				otherWant++
				if ok {
					otherHave++
				}
			}
		}
		var complete, known int
		for i := range want {
			complete += min(want[i], bucketSize)
			known += min(have[i], bucketSize)
		}
		if float64(known) < share*float64(complete) || float64(otherHave) < share*float64(otherWant) {
			fmt.Fprintf(&b, " %s lacks %v;", n, missing)
		}
	}
	return b.String()
}

// TestGethDiscv4Network runs 12 go-ethereum and 12 of our listeners in a
// chain (each knowing only the node started before it, of the other
// implementation) and checks that tables fill across implementations, that
// lookups from either side converge on the true closest nodes of both, that
// ENR requests work between every pair, and that each implementation's
// Resolve finds a node of the other after it changed its record or moved.
func TestGethDiscv4Network(t *testing.T) {
	const per = 12
	start := time.Now()
	nw := startChain(t, per)

	// Bonding: every node knows (nearly) every other node, which it can
	// only have learned through the bonds and lookups of both
	// implementations. Tables are complete within seconds, but on a
	// loaded machine a reply may come after the 500 ms timeout, and a new
	// entry that fails its first check leaves the table (in both
	// implementations) until a refresh, 30 minutes away.
	waitFor(t, waitTimeout, "tables with 3/4 of the network", func() string { return nw.missingFromTables(0.75) })
	t.Logf("tables hold 3/4 of the network after %v", time.Since(start).Round(time.Millisecond))
	deadline := time.Now().Add(5 * time.Second)
	for nw.missingFromTables(1) != "" && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if missing := nw.missingFromTables(1); missing != "" {
		t.Logf("incomplete tables:%s", missing)
	} else {
		t.Logf("all tables complete after %v", time.Since(start).Round(time.Millisecond))
	}
	t.Logf("tables (geth+ours per node):%s", nw.tableSummary())

	t.Run("Lookup", func(t *testing.T) { testNetworkLookups(t, nw) })
	t.Run("RandomNodes", func(t *testing.T) { testRandomNodes(t, nw) })
	t.Run("ENR", func(t *testing.T) { testNetworkENR(t, nw) })
	t.Run("ResolveChangedRecord", func(t *testing.T) { testResolveChangedRecord(t, nw) })
	t.Run("ResolveMoved", func(t *testing.T) { testResolveMoved(t, nw) })
	nw.logStats(t)
}

// logStats logs the counters of our nodes, summed.
func (nw *network) logStats(t *testing.T) {
	var sum discover.Stats
	for _, n := range nw.byImpl(implOurs) {
		s := n.ours.Stats()
		for i := range s.PacketsIn {
			sum.PacketsIn[i] += s.PacketsIn[i]
			sum.PacketsOut[i] += s.PacketsOut[i]
		}
		for i := range s.Drops {
			sum.Drops[i] += s.Drops[i]
		}
		sum.Timeouts += s.Timeouts
		sum.WriteErrors += s.WriteErrors
	}
	var drops []string
	for r, c := range sum.Drops {
		if c > 0 {
			drops = append(drops, fmt.Sprintf("%v=%d", discover.DropReason(r), c))
		}
	}
	t.Logf("our nodes: packets in %v, out %v (unknown, ping, pong, findnode, neighbors, enrrequest, enrresponse); drops %v; timeouts %d; write errors %d",
		sum.PacketsIn, sum.PacketsOut, drops, sum.Timeouts, sum.WriteErrors)
}

// testNetworkLookups starts lookups on every node at once, for a random
// target and for the key of a node of the other implementation, and checks
// each result against the true closest nodes.
func testNetworkLookups(t *testing.T, nw *network) {
	all := nw.ids()
	byID := nw.byID()
	type result struct {
		from   *node
		target string
		want   []enode.ID
		got    []enode.ID
		took   time.Duration // of the last try
		tries  int
	}
	var (
		mu      sync.Mutex
		results []result
		wg      sync.WaitGroup
	)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	others := map[impl][]*node{implGeth: nw.byImpl(implGeth), implOurs: nw.byImpl(implOurs)}
	for i, n := range nw.nodes {
		ofOther := others[n.impl.other()]
		targets := []struct {
			name string
			key  keyPair
		}{
			{"random", newKey(t)},
			{ofOther[i%len(ofOther)].name, ofOther[i%len(ofOther)].key},
		}
		for _, tg := range targets {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var cands []enode.ID
				for _, id := range all {
					if id != n.id() {
						cands = append(cands, id)
					}
				}
				r := result{from: n, target: tg.name, want: closestIDs(tg.key.id(), cands, bucketSize)}
				// A lookup that lost replies (a loaded machine) may end
				// short of the closest nodes; it gets two more tries.
				for ; r.tries < 3 && !slices.Equal(r.got, r.want) && ctx.Err() == nil; r.tries++ {
					start := time.Now()
					r.got = n.lookup(ctx, tg.key)
					r.took = time.Since(start)
				}
				mu.Lock()
				results = append(results, r)
				mu.Unlock()
			}()
		}
	}
	wg.Wait()
	if ctx.Err() != nil {
		t.Fatalf("lookups did not end within %v", waitTimeout)
	}
	var (
		slowest time.Duration
		retried int
	)
	for _, r := range results {
		slowest = max(slowest, r.took)
		if r.tries > 1 {
			retried++
		}
		var names []string
		kinds := map[impl]int{}
		for _, id := range r.got {
			if m := byID[id]; m != nil {
				names = append(names, m.name)
				kinds[m.impl]++
			} else {
				names = append(names, "?"+id.String()[:8])
			}
		}
		if !slices.Equal(r.got, r.want) {
			var want []string
			for _, id := range r.want {
				want = append(want, byID[id].name)
			}
			t.Errorf("lookup of %s target from %v:\n got %v\nwant %v", r.target, r.from, names, want)
			continue
		}
		if kinds[r.from.impl.other()] == 0 {
			t.Errorf("lookup of %s target from %v found no %s node: %v", r.target, r.from, r.from.impl.other(), names)
		}
	}
	t.Logf("%d lookups, each exactly the %d closest nodes (%d after a retry); slowest took %v", len(results), bucketSize, retried, slowest.Round(time.Millisecond))
}

// testRandomNodes reads the iterator of random lookups (what the dial
// scheduler reads) of a node of each implementation until it has yielded
// every other node that a table of the network holds.
func testRandomNodes(t *testing.T, nw *network) {
	findable := make(map[enode.ID]bool)
	for _, n := range nw.nodes {
		for id := range n.table() {
			findable[id] = true
		}
	}
	for _, n := range []*node{nw.byImpl(implGeth)[1], nw.byImpl(implOurs)[1]} {
		want := len(findable)
		if findable[n.id()] {
			want--
		}
		type iterator interface {
			Next() bool
			Close()
		}
		var (
			it   iterator
			node func() enode.ID
		)
		if n.ours != nil {
			oi := n.ours.RandomNodes()
			it, node = oi, func() enode.ID { return oi.Node().ID() }
		} else {
			gi := n.geth.RandomNodes()
			it, node = gi, func() enode.ID { return enode.ID(gi.Node().ID()) }
		}
		start := time.Now()
		stop := time.AfterFunc(waitTimeout, it.Close)
		seen := make(map[enode.ID]bool)
		reads := 0
		for len(seen) < want && it.Next() {
			reads++
			if id := node(); findable[id] && id != n.id() {
				seen[id] = true
			}
		}
		stop.Stop()
		it.Close()
		if len(seen) < want {
			t.Errorf("%v: RandomNodes yielded %d of the %d other nodes in %v", n, len(seen), want, waitTimeout)
			continue
		}
		t.Logf("%v: RandomNodes yielded all %d other nodes in %d reads, %v", n, len(seen), reads, time.Since(start).Round(time.Millisecond))
	}
}

// testNetworkENR makes every node request the record of every node of the
// other implementation.
func testNetworkENR(t *testing.T, nw *network) {
	type result struct {
		from, to *node
		got      *enode.Node
		err      error
		tries    int
	}
	var (
		mu      sync.Mutex
		results []result
		wg      sync.WaitGroup
	)
	for _, n := range nw.nodes {
		var targets []*gethOrOurs
		for _, m := range nw.byImpl(n.impl.other()) {
			targets = append(targets, &gethOrOurs{m, m.self(t), m.gethSelf(t)})
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, m := range targets {
				r := result{from: n, to: m.n}
				// A request whose reply was lost on a loaded machine
				// (500 ms timeout) gets one more try.
				for ; r.tries < 2 && (r.tries == 0 || r.err != nil); r.tries++ {
					if n.ours != nil {
						r.got, r.err = n.ours.RequestENR(m.ours)
					} else {
						var g *gethenode.Node
						if g, r.err = n.geth.RequestENR(m.geth); r.err == nil {
							r.got, r.err = fromGeth(g)
						}
					}
				}
				mu.Lock()
				results = append(results, r)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	retried := 0
	for _, r := range results {
		if r.tries > 1 {
			retried++
		}
		what := fmt.Sprintf("%v RequestENR(%v)", r.from, r.to)
		if r.err != nil {
			t.Errorf("%s: %v", what, r.err)
			continue
		}
		checkRecord(t, what, r.got, r.to)
	}
	t.Logf("%d ENR requests (%d retried)", len(results), retried)
}

// gethOrOurs is a node with its record in both libraries' types.
type gethOrOurs struct {
	n    *node
	ours *enode.Node
	geth *gethenode.Node
}

// testResolveChangedRecord changes the record of a node of each
// implementation and has a node of the other resolve it from its old
// record: the resolver must come back with the new one.
func testResolveChangedRecord(t *testing.T, nw *network) {
	geths, ours := nw.byImpl(implGeth), nw.byImpl(implOurs)

	// go-ethereum resolves one of ours.
	o, g := ours[1], geths[2]
	old := o.self(t)
	seq := o.setEntry(t, bumpKey, 1)
	if seq <= old.Seq() {
		t.Fatalf("%v: seq %d after a change, was %d", o, seq, old.Seq())
	}
	resolveFrom(t, g, old, o)

	// We resolve one of go-ethereum's.
	g, o = geths[3], ours[4]
	old = g.self(t)
	seq = g.setEntry(t, bumpKey, 1)
	if seq <= old.Seq() {
		t.Fatalf("%v: seq %d after a change, was %d", g, seq, old.Seq())
	}
	resolveFrom(t, o, old, g)
}

// resolveFrom has resolver resolve old, a former record of n, and checks
// that it comes back with n's current record. A Resolve that failed (its
// requests time out on a loaded machine) gets one more try.
func resolveFrom(t *testing.T, resolver *node, old *enode.Node, n *node) {
	t.Helper()
	var (
		got   *enode.Node
		took  time.Duration
		tries int
	)
	want := n.self(t)
	for ; tries < 2 && (got == nil || got.Seq() != want.Seq() || got.UDP() != want.UDP()); tries++ {
		start := time.Now()
		if resolver.ours != nil {
			ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
			got = resolver.ours.Resolve(ctx, old)
			cancel()
		} else {
			got = mustFromGeth(t, resolver.geth.Resolve(mustToGeth(t, old)))
		}
		took = time.Since(start)
	}
	checkRecord(t, fmt.Sprintf("%v Resolve(%v seq %d port %d)", resolver, n, old.Seq(), old.UDP()), got, n)
	if got != nil {
		t.Logf("%v resolved %v: port %d → %d, seq %d → %d, in %v (try %d)", resolver, n, old.UDP(), got.UDP(), old.Seq(), got.Seq(), took.Round(time.Millisecond), tries)
	}
}

// testResolveMoved restarts a node of each implementation on a new port,
// with its node database (so its record's seq goes on from the old one and
// it keeps its bonds), waits for half the network to learn the new endpoint
// (from the restarted node's pings), and has nodes of the other
// implementation resolve it from its old record: one of the network that
// knows the new endpoint, and a new node that learned it in its lookups.
//
// A resolver whose own table still holds the old endpoint fails in both
// implementations alike: the lookup of Resolve starts from the table's
// record and ignores the same node ID at another endpoint in Neighbors.
func testResolveMoved(t *testing.T, nw *network) {
	geths, ours := nw.byImpl(implGeth), nw.byImpl(implOurs)
	for _, c := range []struct {
		moved, boot *node
	}{
		{moved: geths[5], boot: geths[7]},
		{moved: ours[8], boot: ours[10]},
	} {
		t.Run(string(c.moved.impl), func(t *testing.T) {
			old := c.moved.self(t)
			c.moved.close()
			m := startNode(t, nw.logs, c.moved.impl, nodeConfig{name: c.moved.name + "'", reuse: c.moved, boot: []*node{c.boot}})
			nw.nodes[slices.Index(nw.nodes, c.moved)] = m
			if m.port == c.moved.port {
				t.Fatalf("restarted %v on the same port", m)
			}
			if s := m.self(t).Seq(); s <= old.Seq() {
				t.Fatalf("restarted %v with seq %d, had %d", m, s, old.Seq())
			}
			moved := time.Now()
			knowsNew := func(n *node) bool {
				e, ok := n.table()[m.id()]
				return ok && e.udp == m.port
			}
			var knowers []*node
			waitFor(t, waitTimeout, fmt.Sprintf("the network to learn the new endpoint of %v", m), func() string {
				knowers = knowers[:0]
				for _, n := range nw.nodes {
					if n != m && knowsNew(n) {
						knowers = append(knowers, n)
					}
				}
				if len(knowers) < len(nw.nodes)/2 {
					return fmt.Sprintf("%d of %d nodes know it", len(knowers), len(nw.nodes)-1)
				}
				return ""
			})
			t.Logf("%d of %d nodes know the new endpoint of %v after %v", len(knowers), len(nw.nodes)-1, m, time.Since(moved).Round(time.Millisecond))

			// A node of the network that knows the new endpoint.
			other := m.impl.other()
			i := slices.IndexFunc(knowers, func(n *node) bool { return n.impl == other })
			if i < 0 {
				t.Fatalf("no %s node knows the new endpoint", other)
			}
			resolveFrom(t, knowers[i], old, m)
			// A new node, bootstrapped by a node of the network that knows
			// the new endpoint, which learns the moved node in its first
			// lookups: from a node that knows the new endpoint, or (then
			// it is a stale resolver, see above) from one that does not.
			// (On a loaded machine, it may not learn the moved node at all
			// in the lookups of its first refresh.)
			fresh := startNode(t, nw.logs, other, nodeConfig{name: "fresh-" + string(other), boot: []*node{knowers[0]}})
			deadline := time.Now().Add(10 * time.Second)
			for time.Now().Before(deadline) {
				if _, ok := fresh.table()[m.id()]; ok {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			switch _, ok := fresh.table()[m.id()]; {
			case knowsNew(fresh):
				resolveFrom(t, fresh, old, m)
			case ok:
				t.Logf("%v learned the old endpoint of %v first; not resolving", fresh, m)
			default:
				t.Logf("%v did not learn %v in its first lookups; not resolving", fresh, m)
			}
			fresh.close()
		})
	}
}
