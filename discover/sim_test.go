package discover

import (
	"context"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/devp2p-go/devp2p/discover/v4wire"
	"github.com/devp2p-go/devp2p/enode"
)

// simNetwork is a network of listeners on an in-memory packet network,
// run inside a synctest bubble: time is simulated (it advances only when
// every goroutine is blocked), so timeouts and liveness checks run at
// protocol speed while the test takes only the CPU time of its packets.
type simNetwork struct {
	t     *testing.T
	net   *memNetwork
	keys  *keySource
	nodes []*UDPv4
}

func newSimNetwork(t *testing.T) *simNetwork {
	s := &simNetwork{t: t, net: newMemNetwork(), keys: newKeySource(42)}
	// One-way latency between 5 and 50 ms, fixed per pair of nodes.
	s.net.latency = func(from, to netip.AddrPort) time.Duration {
		a, b := min(from.Port(), to.Port()), max(from.Port(), to.Port())
		h := uint32(a)*2654435761 ^ uint32(b)*40503
		return 5*time.Millisecond + time.Duration(h%45)*time.Millisecond
	}
	return s
}

// add starts a node at 127.0.0.1:port with the given bootnodes.
func (s *simNetwork) add(port uint16, boot ...*enode.Node) *UDPv4 {
	cfg := Config{
		PrivateKey: s.keys.key(),
		Bootnodes:  boot,
		Log:        quietLog(),
		rand:       rand.New(rand.NewPCG(uint64(port), 1)),
	}
	addr := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port)
	n := startNode(s.t, s.net, addr, cfg)
	s.nodes = append(s.nodes, n)
	return n
}

func (s *simNetwork) close() {
	for _, n := range s.nodes {
		n.Close()
	}
}

// trueClosest returns the IDs of the n nodes of the network closest to
// target, excluding self.
func (s *simNetwork) trueClosest(target, self enode.ID, n int) []enode.ID {
	var ids []enode.ID
	for _, u := range s.nodes {
		if u.self != self {
			ids = append(ids, u.self)
		}
	}
	slices.SortFunc(ids, func(a, b enode.ID) int { return enode.DistCmp(target, a, b) })
	return ids[:min(n, len(ids))]
}

// bucketCoverage reports, for node u, how many of the buckets that the
// network could fill hold at least one node, and how many table slots of
// those buckets are filled out of those the network could fill.
func (s *simNetwork) bucketCoverage(u *UDPv4) (covered, fillable, filled, capacity int) {
	var possible [nBuckets]int
	for _, o := range s.nodes {
		if o != u {
			possible[u.tab.bucketOf(o.self).index]++
		}
	}
	st := u.Stats()
	for i := range possible {
		if possible[i] == 0 {
			continue
		}
		fillable++
		capacity += min(possible[i], bucketSize)
		if st.Buckets[i] > 0 {
			covered++
		}
		filled += min(st.Buckets[i], possible[i])
	}
	return covered, fillable, filled, capacity
}

// TestSimulation starts 100 nodes that know only one bootnode, all at once,
// and checks that within 30 s of simulated time every table holds nodes
// from the buckets it can fill, and that lookups from any node find the
// true closest nodes.
func TestSimulation(t *testing.T) {
	const (
		nodes    = 100
		formTime = 30 * time.Second
	)
	synctest.Test(t, func(t *testing.T) {
		s := newSimNetwork(t)
		defer s.close()
		boot := s.add(30000)
		for i := 1; i < nodes; i++ {
			s.add(30000+uint16(i), boot.Self())
		}
		start := time.Now()
		for _, at := range []time.Duration{time.Second, 3 * time.Second, 10 * time.Second} {
			time.Sleep(at - time.Since(start))
			var c, f, fl, cp, pkts int
			for _, u := range s.nodes {
				c1, f1, fl1, cp1 := s.bucketCoverage(u)
				c, f, fl, cp = c+c1, f+f1, fl+fl1, cp+cp1
				st := u.Stats()
				for _, n := range st.PacketsOut {
					pkts += int(n)
				}
			}
			t.Logf("at %v: buckets covered %d/%d, slots filled %d/%d, %d packets sent", at, c, f, fl, cp, pkts)
		}
		time.Sleep(formTime - time.Since(start))

		// Table coverage.
		var covered, fillable, filled, capacity, worstCovered int
		worst := 1.0
		for _, u := range s.nodes {
			c, f, fl, cp := s.bucketCoverage(u)
			covered, fillable, filled, capacity = covered+c, fillable+f, filled+fl, capacity+cp
			if r := float64(c) / float64(f); r < worst {
				worst, worstCovered = r, c
			}
			if f-c > 2 {
				t.Errorf("node %v covers %d of %d fillable buckets", u.self.TerminalString(), c, f)
			}
		}
		t.Logf("after %v: buckets covered %d/%d (worst node %.2f, %d), slots filled %d/%d (%.2f)",
			time.Since(start), covered, fillable, worst, worstCovered, filled, capacity, float64(filled)/float64(capacity))
		if float64(covered) < 0.95*float64(fillable) {
			t.Errorf("only %d of %d fillable buckets covered", covered, fillable)
		}
		if float64(filled) < 0.8*float64(capacity) {
			t.Errorf("only %d of %d table slots filled", filled, capacity)
		}

		// Lookups converge: from 20 nodes, a random target each.
		rnd := rand.New(rand.NewPCG(5, 6))
		var found, want, closestHit int
		const lookups = 20
		for i := range lookups {
			u := s.nodes[rnd.IntN(len(s.nodes))]
			var target v4wire.Pubkey
			for j := range target {
				target[j] = byte(rnd.Uint32())
			}
			res := u.Lookup(context.Background(), target)
			truth := s.trueClosest(target.ID(), u.self, bucketSize)
			got := make(map[enode.ID]bool)
			for _, n := range res {
				got[n.ID()] = true
			}
			for _, id := range truth {
				if got[id] {
					found++
				}
			}
			want += len(truth)
			if len(res) > 0 && res[0].ID() == truth[0] {
				closestHit++
			}
			_ = i
		}
		t.Logf("lookups: %d/%d of the true closest found, closest node first in %d/%d", found, want, closestHit, lookups)
		if float64(found) < 0.9*float64(want) || closestHit < lookups*9/10 {
			t.Errorf("lookups do not converge")
		}
		// LookupPubkey finds the node with that key first.
		for i := range 5 {
			u, v := s.nodes[i*7], s.nodes[i*9+50]
			if res := u.LookupPubkey(v.priv.Public()); len(res) == 0 || res[0].ID() != v.self {
				t.Errorf("LookupPubkey did not find the node")
			}
		}

		// The iterators of all nodes yield diverse candidates: each node's
		// first 20 are mostly distinct, and together they cover the network
		// without favouring a few nodes.
		freq := make(map[enode.ID]int)
		for _, u := range s.nodes {
			it := u.RandomNodes()
			got := enode.ReadNodes(it, 20)
			it.Close()
			if len(got) < 15 {
				t.Errorf("iterator of %v: %d distinct nodes in 20", u.self.TerminalString(), len(got))
			}
			for _, n := range got {
				freq[n.ID()]++
			}
		}
		most := 0
		total := 0
		for _, c := range freq {
			most = max(most, c)
			total += c
		}
		mean := float64(total) / float64(len(freq))
		t.Logf("iterators: %d distinct nodes yielded, mean %.1f times, most %d times", len(freq), mean, most)
		if len(freq) < nodes*9/10 || float64(most) > 4*mean {
			t.Errorf("iterators not diverse")
		}

		var sent, recv uint64
		for _, u := range s.nodes {
			st := u.Stats()
			sent += st.BytesOut
			recv += st.BytesIn
		}
		t.Logf("traffic: %d KiB sent in total", sent/1024)
	})
}

// TestSimulationResolve checks Resolve for a node that moved: restarted with
// the same key on another port, it is found through a lookup and its new
// record fetched.
func TestSimulationResolve(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSimNetwork(t)
		defer s.close()
		boot := s.add(30000)
		for i := 1; i < 20; i++ {
			s.add(30000+uint16(i), boot.Self())
		}
		time.Sleep(5 * time.Second)
		asker, moving := s.nodes[3], s.nodes[11]
		old := moving.Self()
		if asker.tab.node(old.ID()) == nil {
			// Make sure the asker knows the old address.
			asker.tab.addFound(old)
		}
		// Still there: Resolve returns its record.
		if n := asker.Resolve(context.Background(), old); n == nil || n.UDP() != old.UDP() {
			t.Fatalf("Resolve of a present node: %v", n)
		}
		moving.Close()
		cfg := Config{PrivateKey: moving.priv, Bootnodes: []*enode.Node{boot.Self()}, Log: quietLog()}
		moved := startNode(t, s.net, netip.MustParseAddrPort("127.0.0.1:31000"), cfg)
		s.nodes = append(s.nodes, moved)
		time.Sleep(5 * time.Second)
		n := asker.Resolve(context.Background(), old)
		if n == nil || n.UDP() != 31000 || n.ID() != old.ID() {
			t.Fatalf("Resolve after the move: %v", n)
		}
		// Gone for good: nil.
		moved.Close()
		time.Sleep(time.Minute)
		if n := asker.Resolve(context.Background(), old); n != nil {
			t.Fatalf("Resolve of a vanished node: %v", n)
		}
	})
}
