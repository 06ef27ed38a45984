package dialsched

import (
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/enr"
	"github.com/devp2p-go/devp2p/internal/mclock"
	"github.com/devp2p-go/devp2p/netutil"
)

// testNode makes a node with ID {idx, 0, …}, the given IP (may be "") and TCP
// port.
func testNode(idx byte, ip string, port int) *enode.Node {
	var r enr.Record
	if ip != "" {
		r.Set(enr.IP(netip.MustParseAddr(ip)))
	}
	if port != 0 {
		r.Set(enr.TCP(port))
	}
	var id enode.ID
	id[0] = idx
	return enode.SignNull(&r, id)
}

// nodes returns n test nodes with IDs first…first+n-1 at 10.0.0.x.
func nodes(first byte, n int) []*enode.Node {
	out := make([]*enode.Node, n)
	for i := range out {
		idx := first + byte(i)
		out[i] = testNode(idx, fmt.Sprintf("10.0.0.%d", idx), 30303)
	}
	return out
}

func peersRemoved(err error, ns ...*enode.Node) func(*Scheduler) {
	return func(s *Scheduler) {
		for _, n := range ns {
			s.PeerRemoved(n.ID(), true, err)
		}
	}
}

// Dynamic dials fill exactly the free outbound slots, never more, and stop
// pulling candidates from the iterator while none is free.
func TestDialSchedDynamicFillsTarget(t *testing.T) {
	t.Parallel()
	n := nodes(1, 9)
	dt := newDialTest(t, Config{MaxDialPeers: 4})
	dt.run([]dialTestRound{
		{
			discovered:   n[:6],
			wantNewDials: n[:4],
			check: func(t *testing.T, st Stats) {
				if st.FreeSlots != 0 {
					t.Errorf("FreeSlots %d, want 0", st.FreeSlots)
				}
			},
		},
		// Two connect: 2 peers + 2 dials = target.
		{succeeded: n[:2]},
		// A failed connect frees a slot.
		{failed: n[2:3], wantNewDials: n[4:5]},
		// So does a refused setup.
		{setupFailed: map[*enode.Node]error{n[3]: errTestBusy}, wantNewDials: n[5:6]},
		// Target reached; new candidates wait.
		{succeeded: n[4:6], discovered: n[6:8]},
		{
			check: func(t *testing.T, st Stats) {
				if st.DialedPeers != 4 || st.Dialing != 0 {
					t.Errorf("DialedPeers %d Dialing %d, want 4 and 0", st.DialedPeers, st.Dialing)
				}
			},
		},
		// A peer leaves: one dial.
		{update: peersRemoved(nil, n[0]), wantNewDials: n[6:7]},
		// Inbound peers do not count against the outbound target.
		{update: func(s *Scheduler) { s.PeerAdded(testNode(200, "10.1.0.1", 1).ID(), false) }},
		{update: peersRemoved(nil, n[1]), wantNewDials: n[7:8]},
	})
}

// A node is never dialed twice at once, whether it arrives twice from the
// iterator or is also a static node.
func TestDialSchedNoDoubleDial(t *testing.T) {
	t.Parallel()
	n := nodes(1, 3)
	dt := newDialTest(t, Config{MaxDialPeers: 5})
	dt.run([]dialTestRound{
		{update: func(s *Scheduler) { s.AddStatic(n[0]) }, wantNewDials: n[:1]},
		{discovered: []*enode.Node{n[0], n[1], n[1], n[0]}, wantNewDials: n[1:2]},
		// Connected: not dialed either.
		{succeeded: n[:2], discovered: n[:2]},
		{
			discovered:   n[2:3],
			wantNewDials: n[2:3],
			check: func(t *testing.T, st Stats) {
				if st.Discarded != 5 {
					t.Errorf("Discarded %d, want 5", st.Discarded)
				}
			},
		},
	})
}

// A node is not dialed again within HistoryExpiration of its last dial start.
func TestDialSchedHistory(t *testing.T) {
	t.Parallel()
	n := nodes(1, 2)
	dt := newDialTest(t, Config{MaxDialPeers: 4})
	dt.run([]dialTestRound{
		{discovered: n[:1], wantNewDials: n[:1]},             // t=0
		{wait: 10 * time.Second, succeeded: n[:1]},           // t=10
		{update: peersRemoved(nil, n[0]), discovered: n[:1]}, // recently dialed
		{wait: 24 * time.Second, discovered: n[:1]},          // t=34: still
		{wait: time.Second, discovered: n[:1], wantNewDials: n[:1]},
		// A failed dial is in history too (besides any backoff).
		{failed: n[:1], discovered: n[1:2], wantNewDials: n[1:2]},
		{failed: n[1:2]},
		{wait: 34 * time.Second, discovered: n[1:2]},
	})
}

// Static nodes are dialed without an iterator and redialed after a drop,
// once their history expires.
func TestDialSchedStaticRedial(t *testing.T) {
	t.Parallel()
	s1 := testNode(1, "10.0.0.1", 30303)
	dt := newDialTest(t, Config{MaxDialPeers: 2})
	dt.run([]dialTestRound{
		{update: func(s *Scheduler) { s.AddStatic(s1) }, wantNewDials: []*enode.Node{s1}},
		{wait: 40 * time.Second, succeeded: []*enode.Node{s1}},
		// Dropped 40 s after the dial started: redialed at once.
		{update: peersRemoved(errTestRefused, s1), wantNewDials: []*enode.Node{s1}}, // t=40
		// Connect failure: backoff 30 s from t=40, history until 75.
		{failed: []*enode.Node{s1}},
		{wait: 34 * time.Second},
		{wait: time.Second, wantNewDials: []*enode.Node{s1}}, // t=75
		// Second failure: 60 s from t=75.
		{failed: []*enode.Node{s1}},
		{wait: 59 * time.Second},
		{wait: time.Second, wantNewDials: []*enode.Node{s1}}, // t=135
		// Removed while dialing: not redialed after the dial ends.
		{update: func(s *Scheduler) { s.RemoveStatic(s1) }, failed: []*enode.Node{s1}},
		{wait: time.Hour},
	})
}

func addStatic(ns ...*enode.Node) func(*Scheduler) {
	return func(s *Scheduler) {
		for _, n := range ns {
			s.AddStatic(n)
		}
	}
}

// wantStats checks DialedPeers, Dialing and FreeSlots.
func wantStats(dialedPeers, dialing, freeSlots int) func(*testing.T, Stats) {
	return func(t *testing.T, st Stats) {
		t.Helper()
		if st.DialedPeers != dialedPeers || st.Dialing != dialing || st.FreeSlots != freeSlots {
			t.Errorf("DialedPeers %d Dialing %d FreeSlots %d, want %d %d %d",
				st.DialedPeers, st.Dialing, st.FreeSlots, dialedPeers, dialing, freeSlots)
		}
	}
}

// Static nodes are dialed while the dynamic slots are full, and then take
// dynamic slots: a dynamic peer that leaves is not replaced while static
// peers keep the dialed peers at the target.
func TestDialSchedStaticBeyondTarget(t *testing.T) {
	t.Parallel()
	n := nodes(1, 3)
	s1, s2 := testNode(101, "10.0.1.1", 30303), testNode(102, "10.0.1.2", 30303)
	dt := newDialTest(t, Config{MaxDialPeers: 2})
	dt.run([]dialTestRound{
		{discovered: n, wantNewDials: n[:2]},
		{succeeded: n[:2], check: wantStats(2, 0, 0)},
		// The target is reached by dynamic peers: static nodes are dialed anyway.
		{update: addStatic(s1, s2), wantNewDials: []*enode.Node{s1, s2}, check: wantStats(2, 2, -2)},
		{succeeded: []*enode.Node{s1}, failed: []*enode.Node{s2}, check: wantStats(3, 0, -1)},
		// A dynamic peer leaves: the static peer holds its slot.
		{update: peersRemoved(nil, n[0]), check: wantStats(2, 0, 0)},
		// Another one leaves: one slot for a dynamic dial (n[2], waiting in
		// the iterator since the first round).
		{update: peersRemoved(nil, n[1]), wantNewDials: n[2:3], check: wantStats(1, 1, 0)},
		{succeeded: n[2:3], check: wantStats(2, 0, 0)},
		// The failed static node is redialed when its history and backoff
		// end (35 s after its dial), whatever the dynamic slots.
		{wait: HistoryExpiration - time.Second},
		{wait: time.Second, wantNewDials: []*enode.Node{s2}, check: wantStats(2, 1, -1)},
		{succeeded: []*enode.Node{s2}, check: func(t *testing.T, st Stats) {
			wantStats(3, 0, -1)(t, st)
			if st.Static.Succeeded != 2 || st.Dynamic.Started != 3 {
				t.Errorf("static %+v, dynamic %+v", st.Static, st.Dynamic)
			}
		}},
	})
}

// Static dials in flight take dynamic slots as much as static peers do.
func TestDialSchedStaticDialsTakeDynamicSlots(t *testing.T) {
	t.Parallel()
	n := nodes(1, 3)
	s1, s2 := testNode(101, "10.0.1.1", 30303), testNode(102, "10.0.1.2", 30303)
	dt := newDialTest(t, Config{MaxDialPeers: 3})
	dt.run([]dialTestRound{
		{update: addStatic(s1, s2), discovered: n, wantNewDials: []*enode.Node{s1, s2, n[0]}, check: wantStats(0, 3, 0)},
		// A failed static dial frees its slot for a dynamic one.
		{failed: []*enode.Node{s1}, wantNewDials: n[1:2], check: wantStats(0, 3, 0)},
		{succeeded: []*enode.Node{s2, n[0], n[1]}, check: wantStats(3, 0, 0)},
		// Removing a static node does not drop its peer: it still counts.
		{update: func(s *Scheduler) { s.RemoveStatic(s2) }, check: wantStats(3, 0, 0)},
		{update: peersRemoved(nil, s2), wantNewDials: n[2:3], check: wantStats(2, 1, 0)},
	})
}

// MaxActiveDials bounds static dials too. Static dials come first in a
// turn, and a zero target disables them.
func TestDialSchedStaticMaxActiveDials(t *testing.T) {
	t.Parallel()
	n := nodes(1, 3)
	s := nodes(101, 3)
	dt := newDialTest(t, Config{MaxDialPeers: 4, MaxActiveDials: 2})
	dt.run([]dialTestRound{
		{discovered: n, wantNewDials: n[:2]},
		// Every active dial is taken by a dynamic one: the static node waits.
		{update: addStatic(s[0])},
		// A dial ends: the static node goes first.
		{failed: n[:1], wantNewDials: s[:1]},
		{update: addStatic(s[1])},
		{succeeded: n[1:2], wantNewDials: s[1:2]},
		{update: addStatic(s[2])},
		{succeeded: s[:2], wantNewDials: s[2:3], check: wantStats(3, 1, 0)},
		// The target is reached: n[2] waits.
		{succeeded: s[2:3], check: wantStats(4, 0, 0)},
	})

	off := newDialTest(t, Config{MaxDialPeers: 0})
	off.run([]dialTestRound{
		{update: addStatic(s...), discovered: n},
		{wait: time.Hour},
	})
}

// Static backoff doubles but is capped at MaxStaticBackoff, while the same
// failures of a dynamic node go on to MaxBackoff.
func TestDialSchedStaticBackoffCap(t *testing.T) {
	t.Parallel()
	s1 := testNode(1, "10.0.0.1", 30303)
	dt := newDialTest(t, Config{MaxDialPeers: 2})
	rounds := []dialTestRound{{update: func(s *Scheduler) { s.AddStatic(s1) }, wantNewDials: []*enode.Node{s1}}}
	// Handshake failures: 15 min would be the first backoff; static waits 5 min.
	for range 3 {
		rounds = append(rounds,
			dialTestRound{setupFailed: map[*enode.Node]error{s1: errTestHandshake}},
			dialTestRound{wait: MaxStaticBackoff - time.Second},
			dialTestRound{wait: time.Second, wantNewDials: []*enode.Node{s1}},
		)
	}
	dt.run(rounds)
}

// A static node whose dial fails is looked up in discovery and dialed at its
// new address; lookups are throttled with a doubling delay.
func TestDialSchedStaticResolve(t *testing.T) {
	t.Parallel()
	var (
		old   = testNode(1, "10.0.0.1", 30303)
		moved = testNode(1, "10.0.0.2", 30303)
		res   = newTestResolver()
	)
	res.set(moved)
	dt := newDialTest(t, Config{MaxDialPeers: 2, Resolver: res})
	wantCalls := func(n int) func(*testing.T, Stats) {
		return func(t *testing.T, _ Stats) {
			t.Helper()
			if got := res.numCalls(); got != n {
				t.Errorf("resolver called %d times, want %d", got, n)
			}
		}
	}
	dt.run([]dialTestRound{
		{update: func(s *Scheduler) { s.AddStatic(old) }, wantNewDials: []*enode.Node{old}, check: wantCalls(0)},
		// Connect fails: looked up, dialed again at the new address.
		{failed: []*enode.Node{old}, wantNewDials: []*enode.Node{moved}, check: wantCalls(1)},
		{failed: []*enode.Node{moved}, check: wantCalls(1)},
		// Next dial (history 35 s; backoff 30 s from t=0) goes to the new
		// address; no lookup within 60 s of the last.
		{wait: 35 * time.Second, wantNewDials: []*enode.Node{moved}},
		{failed: []*enode.Node{moved}, check: wantCalls(1)},
		// Second connect failure: backoff 60 s, next dial at t=95, lookup
		// allowed again; now discovery does not know the node.
		{update: func(*Scheduler) { res.clear(old.ID()) }, wait: 60 * time.Second, wantNewDials: []*enode.Node{moved}},
		{failed: []*enode.Node{moved}, check: wantCalls(2)},
		// Third failure: backoff 120 s, dial at t=215. After the miss at
		// t=95 lookups wait 60 s, so this dial may look up (and misses).
		{wait: 120 * time.Second, wantNewDials: []*enode.Node{moved}},
		{failed: []*enode.Node{moved}, check: wantCalls(3)},
		// Fourth failure: backoff 240 s, dial at t=455; after the second
		// miss lookups wait 120 s (until t=335), so it looks up again.
		{wait: 240 * time.Second, wantNewDials: []*enode.Node{moved}},
		{failed: []*enode.Node{moved}, check: wantCalls(4)},
	})
}

// A static node without an address is looked up before it is dialed; a miss
// delays the next attempt by the resolve delay.
func TestDialSchedStaticNoAddress(t *testing.T) {
	t.Parallel()
	var (
		bare  = testNode(1, "", 0)
		found = testNode(1, "10.0.0.9", 30303)
		res   = newTestResolver()
	)
	dt := newDialTest(t, Config{MaxDialPeers: 2, Resolver: res})
	dt.run([]dialTestRound{
		// Discovery does not know it yet: lookup, no dial.
		{update: func(s *Scheduler) { s.AddStatic(bare) }},
		{check: func(t *testing.T, st Stats) {
			if res.numCalls() != 1 || st.Static.Failed != 1 {
				t.Errorf("resolver calls %d, static failures %d; want 1, 1", res.numCalls(), st.Static.Failed)
			}
		}},
		{update: func(*Scheduler) { res.set(found) }, wait: InitialResolveDelay - time.Second},
		{wait: time.Second, wantNewDials: []*enode.Node{found}},
		{succeeded: []*enode.Node{found}, check: func(t *testing.T, st Stats) {
			if st.DialedPeers != 1 {
				t.Errorf("DialedPeers %d, want 1", st.DialedPeers)
			}
		}},
	})
}

// Iterator candidates that are backed off are skipped and counted; backoff
// grows per class, and a connection resets it.
func TestDialSchedBackoffSkipsCandidates(t *testing.T) {
	t.Parallel()
	n := nodes(1, 2)
	dt := newDialTest(t, Config{MaxDialPeers: 4})
	skipped := func(want uint64) func(*testing.T, Stats) {
		return func(t *testing.T, st Stats) {
			t.Helper()
			if st.SkippedBackoff != want {
				t.Errorf("SkippedBackoff %d, want %d", st.SkippedBackoff, want)
			}
		}
	}
	dt.run([]dialTestRound{
		{discovered: n[:1], wantNewDials: n[:1]},
		{setupFailed: map[*enode.Node]error{n[0]: errTestProtocol}, check: func(t *testing.T, st Stats) {
			if st.Failures[ClassProtocol] != 1 || st.BackedOff != 1 {
				t.Errorf("Failures %v BackedOff %d", st.Failures, st.BackedOff)
			}
		}},
		{wait: ProtocolBackoff - time.Second, discovered: n[:1], check: skipped(1)},
		{wait: time.Second, discovered: n[:1], wantNewDials: n[:1]},
		// Second protocol failure: 30 min.
		{setupFailed: map[*enode.Node]error{n[0]: errTestProtocol}},
		{wait: 2*ProtocolBackoff - time.Second, discovered: n[:1], check: skipped(2)},
		{wait: time.Second, discovered: n[:1], wantNewDials: n[:1]},
		// Success resets: the next failure backs off by the first step again.
		{succeeded: n[:1]},
		{update: peersRemoved(nil, n[0])},
		{wait: HistoryExpiration, discovered: n[:1], wantNewDials: n[:1]},
		{setupFailed: map[*enode.Node]error{n[0]: errTestBusy}},
		{wait: BusyBackoff - time.Second, discovered: n[:1], check: skipped(3)},
		{wait: time.Second, discovered: n[:1], wantNewDials: n[:1]},
		// A peer dropped for a protocol breach is backed off; one lost to
		// a network error is not.
		{succeeded: n[:1], discovered: n[1:2], wantNewDials: n[1:2]},
		{succeeded: n[1:2]},
		{update: peersRemoved(errTestProtocol, n[0])},
		{update: peersRemoved(errTestRefused, n[1])},
		{wait: HistoryExpiration, discovered: n[:2], wantNewDials: n[1:2], check: skipped(4)},
	})
}

// With no peer for BootnodeFallback, bootnodes are dialed one at a time in
// ForgetFailures lifts a node's backoff: it is dialed again once its dial
// history has expired.
func TestDialSchedForgetFailures(t *testing.T) {
	t.Parallel()
	n := nodes(1, 2)
	dt := newDialTest(t, Config{MaxDialPeers: 4})
	dt.run([]dialTestRound{
		{discovered: n[:1], wantNewDials: n[:1]},
		{setupFailed: map[*enode.Node]error{n[0]: errTestProtocol}},
		{wait: HistoryExpiration, discovered: n[:1], check: func(t *testing.T, st Stats) {
			if st.SkippedBackoff != 1 {
				t.Errorf("SkippedBackoff %d, want 1", st.SkippedBackoff)
			}
		}},
		{update: func(s *Scheduler) { s.ForgetFailures(n[0].ID()) }, discovered: n[:1], wantNewDials: n[:1]},
	})
}

// rotation, subject to history and backoff.
func TestDialSchedBootnodeFallback(t *testing.T) {
	t.Parallel()
	b := nodes(101, 2)
	dt := newDialTest(t, Config{MaxDialPeers: 4, Bootnodes: b})
	dt.run([]dialTestRound{
		{wait: BootnodeFallback - time.Second},
		{wait: time.Second, wantNewDials: b[:1]}, // t=20
		{failed: b[:1], wantNewDials: b[1:2]},
		// Both in history until t=55 (backoff until t=50).
		{failed: b[1:2]},
		{wait: 34 * time.Second},
		{wait: time.Second, wantNewDials: b[:1]}, // t=55
		{failed: b[:1], wantNewDials: b[1:2]},
		// A peer stops the fallback ...
		{succeeded: b[1:2]},
		{wait: time.Hour, check: func(t *testing.T, st Stats) {
			if st.Bootnode.Started != 4 || st.Bootnode.Failed != 3 || st.Bootnode.Succeeded != 1 {
				t.Errorf("bootnode counts %+v", st.Bootnode)
			}
		}},
		// ... until it leaves; 20 s later the rotation goes on.
		{update: peersRemoved(nil, b[1])},
		{wait: BootnodeFallback - time.Second},
		{wait: time.Second, wantNewDials: b[:1]},
	})
}

// At most MaxActiveDials dials run at once.
func TestDialSchedMaxActiveDials(t *testing.T) {
	t.Parallel()
	n := nodes(1, 6)
	dt := newDialTest(t, Config{MaxDialPeers: 10, MaxActiveDials: 3})
	dt.run([]dialTestRound{
		{discovered: n, wantNewDials: n[:3]},
		{failed: n[:1], wantNewDials: n[3:4]},
		{succeeded: n[1:3], wantNewDials: n[4:6]},
	})
}

// A pending inbound connection blocks dials to the same node, static or not.
func TestDialSchedPendingInbound(t *testing.T) {
	t.Parallel()
	n := nodes(1, 2)
	dt := newDialTest(t, Config{MaxDialPeers: 4})
	dt.run([]dialTestRound{
		{update: func(s *Scheduler) {
			s.InboundPending(n[0].ID())
			s.InboundPending(n[1].ID())
			s.AddStatic(n[1])
		}, discovered: n[:1]},
		// Two pending connections from n[1]: dialable after both end.
		{update: func(s *Scheduler) { s.InboundPending(n[1].ID()) }},
		{update: func(s *Scheduler) { s.InboundCompleted(n[1].ID()) }},
		{update: func(s *Scheduler) { s.InboundCompleted(n[1].ID()) }, wantNewDials: n[1:2]},
		{update: func(s *Scheduler) { s.InboundCompleted(n[0].ID()) }, discovered: n[:1], wantNewDials: n[:1]},
	})
}

// Nodes outside NetRestrict are not dialed.
func TestDialSchedNetRestrict(t *testing.T) {
	t.Parallel()
	var (
		in  = testNode(1, "10.1.2.3", 30303)
		out = testNode(2, "192.168.0.1", 30303)
		st  = testNode(3, "192.168.0.2", 30303)
	)
	dt := newDialTest(t, Config{MaxDialPeers: 4, NetRestrict: netutil.MustParseNetlist("10.0.0.0/8")})
	dt.run([]dialTestRound{
		{update: func(s *Scheduler) { s.AddStatic(st) }, discovered: []*enode.Node{out, in}, wantNewDials: []*enode.Node{in}},
	})
}

// Stop cancels blocked dials and closes the iterator; the cancelled dials
// are not held against the nodes. goleak checks after all tests that no
// goroutine outlives Stop.
func TestDialSchedStop(t *testing.T) {
	t.Parallel()
	n := nodes(1, 2)
	dt := newDialTest(t, Config{MaxDialPeers: 4})
	dt.run([]dialTestRound{{discovered: n, wantNewDials: n}})
	dt.sched.Stop()
	if !dt.it.isClosed() {
		t.Fatal("iterator not closed")
	}
	st := dt.sched.Stats()
	if st.Dynamic.Started != 2 || st.Dynamic.Failed != 2 || st.Dialing != 0 {
		t.Fatalf("stats after Stop: %+v", st)
	}
	if len(st.Failures) != 1 || st.Failures[ClassNone] != 2 || st.BackedOff != 0 {
		t.Fatalf("failures after Stop: %v, backed off %d", st.Failures, st.BackedOff)
	}
	// Calls after Stop return at once.
	dt.sched.AddStatic(n[0])
	dt.sched.PeerAdded(n[0].ID(), true)
	dt.sched.InboundPending(n[1].ID())
	dt.sched.Stop()
}

// Stop closes a connection whose setup is still running.
func TestDialSchedStopDuringSetup(t *testing.T) {
	t.Parallel()
	n := testNode(1, "10.0.0.1", 30303)
	dialer := newTestDialer(t)
	inSetup := make(chan struct{})
	s := New(Config{MaxDialPeers: 1, Dialer: dialer, Log: testLogger(t)}, nil, func(fd net.Conn, _ *enode.Node, _ bool) error {
		close(inSetup)
		_, err := fd.Read(make([]byte, 1)) // until Stop closes fd
		return err
	})
	s.AddStatic(n)
	for !dialer.complete(n.ID(), nil) {
		time.Sleep(50 * time.Microsecond)
	}
	<-inSetup
	s.Stop()
	if st := s.Stats(); st.Static.Failed != 1 || st.BackedOff != 0 {
		t.Fatalf("stats after Stop: %+v", st)
	}
}

// checkDial reports the first failing check in the documented order.
func TestCheckDialOrder(t *testing.T) {
	t.Parallel()
	self := testNode(1, "10.0.0.1", 30303)
	n := testNode(2, "10.0.0.2", 30303)
	tests := []struct {
		name   string
		node   *enode.Node
		static bool
		setup  func(s *Scheduler)
		want   error
	}{
		{name: "ok", node: n},
		{name: "self", node: self, want: errSelf, setup: func(s *Scheduler) { s.dialing[self.ID()] = nil }},
		{name: "no port", node: testNode(2, "10.0.0.2", 0), want: errNoPort, setup: func(s *Scheduler) { s.dialing[n.ID()] = nil }},
		{name: "no address (dynamic)", node: testNode(2, "", 0), want: errNoAddress},
		{name: "no address (static)", node: testNode(2, "", 0), static: true},
		{name: "dialing", node: n, want: errAlreadyDialing, setup: func(s *Scheduler) {
			s.dialing[n.ID()] = nil
			s.peers[n.ID()] = true
		}},
		{name: "connected", node: n, want: errAlreadyConnected, setup: func(s *Scheduler) {
			s.peers[n.ID()] = true
			s.pendingInbound[n.ID()] = 1
		}},
		{name: "pending inbound", node: n, want: errPendingInbound, setup: func(s *Scheduler) {
			s.pendingInbound[n.ID()] = 1
			s.cfg.NetRestrict = netutil.MustParseNetlist("192.168.0.0/16")
		}},
		{name: "netrestrict", node: n, want: errNetRestrict, setup: func(s *Scheduler) {
			s.cfg.NetRestrict = netutil.MustParseNetlist("192.168.0.0/16")
			s.history.add(n.ID(), 1)
		}},
		{name: "history", node: n, want: errRecentlyDialed, setup: func(s *Scheduler) {
			s.history.add(n.ID(), 1)
			s.backoff.fail(n.ID(), ClassBusy, 0)
		}},
		{name: "backoff", node: n, want: errBackedOff, setup: func(s *Scheduler) { s.backoff.fail(n.ID(), ClassBusy, 0) }},
	}
	for _, tt := range tests {
		s := newScheduler(Config{Self: self.ID(), Clock: new(mclock.Simulated)}, nil)
		if tt.setup != nil {
			tt.setup(s)
		}
		if err := s.checkDial(tt.node, tt.static); err != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, err, tt.want)
		}
		s.cancel()
	}
}

func TestTCPDialerLocalIP(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		local, dest string
		want        bool
	}{
		{"", "10.0.0.1", false},
		{"0.0.0.0", "10.0.0.1", false},
		{"192.0.2.1", "10.0.0.1", true},
		{"192.0.2.1", "2001:db8::1", false}, // another family
		{"127.0.0.5", "10.0.0.1", false},    // loopback reaches only loopback
		{"127.0.0.5", "127.0.0.9", true},
		{"2001:db8::5", "2001:db8::1", true},
		{"::ffff:192.0.2.1", "10.0.0.1", true}, // mapped IPv4 is IPv4
	} {
		var d TCPDialer
		if tc.local != "" {
			d.LocalIP = netip.MustParseAddr(tc.local)
		}
		if got := d.usesLocalIP(netip.MustParseAddr(tc.dest)); got != tc.want {
			t.Errorf("local %q dest %s: %v, want %v", tc.local, tc.dest, got, tc.want)
		}
	}
}
