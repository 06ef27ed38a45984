package dialsched

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/devp2p-go/devp2p/enode"
)

// scoreTable is a Config.Score reading a fixed table.
func scoreTable(m map[enode.ID]int) func(enode.ID) int {
	return func(id enode.ID) int { return m[id] }
}

// Of the candidates in the window the best-scored are dialed first, the
// others stay for later, and those below MinScore are dropped and counted.
func TestDialSchedScorePreference(t *testing.T) {
	t.Parallel()
	n := nodes(1, 6)
	scores := map[enode.ID]int{
		n[0].ID(): 5, n[1].ID(): -50, n[2].ID(): 40, n[3].ID(): 10, n[4].ID(): -500, n[5].ID(): 0,
	}
	dt := newDialTest(t, Config{MaxDialPeers: 2, MaxActiveDials: 1, Score: scoreTable(scores), MinScore: -100})
	dt.run([]dialTestRound{
		// The first candidate is dialed as soon as it arrives; the rest
		// wait in the window.
		{discovered: n[:1], wantNewDials: n[:1]},
		{discovered: n[1:]},
		// Wait until all of them are in the window, then free the slot.
		{update: waitWindow(5), failed: n[:1], wantNewDials: n[2:3]}, // score 40
		{failed: n[2:3], wantNewDials: n[3:4]},                       // then 10
		{failed: n[3:4], wantNewDials: n[5:6], check: func(t *testing.T, st Stats) {
			if st.SkippedScore != 1 { // n[4] at −500
				t.Errorf("SkippedScore %d, want 1", st.SkippedScore)
			}
		}},
		{failed: n[5:6], wantNewDials: n[1:2]}, // −50, still above MinScore
	})
}

// subnet24 groups IPv4 addresses by /24, like the server's Limits.
func subnet24(ip netip.Addr) (netip.Prefix, bool) {
	p, err := ip.Prefix(24)
	return p, err == nil
}

// Dynamic dials of one subnet stop at MaxDialsPerSubnet, counting dials in
// flight and dialed peers; a peer leaving frees its share. Static nodes are
// exempt and not counted.
func TestDialSchedSubnetDiversity(t *testing.T) {
	t.Parallel()
	a := make([]*enode.Node, 4) // all in 10.1.1.0/24
	for i := range a {
		a[i] = testNode(byte(1+i), fmt.Sprintf("10.1.1.%d", 1+i), 30303)
	}
	b := testNode(10, "10.2.2.2", 30303)
	st := testNode(20, "10.1.1.50", 30303)
	dt := newDialTest(t, Config{MaxDialPeers: 8, Subnet: subnet24, MaxDialsPerSubnet: 2})
	dt.run([]dialTestRound{
		{update: addStatic(st), wantNewDials: []*enode.Node{st}},
		{discovered: []*enode.Node{a[0], a[1], a[2], b}, wantNewDials: []*enode.Node{a[0], a[1], b},
			check: func(t *testing.T, s Stats) {
				if s.SkippedSubnet != 1 {
					t.Errorf("SkippedSubnet %d, want 1", s.SkippedSubnet)
				}
			}},
		{succeeded: []*enode.Node{a[0], st}},
		// a[1] fails: its share is free again.
		{failed: a[1:2]},
		{discovered: a[2:3], wantNewDials: a[2:3]},
		{succeeded: a[2:3], discovered: a[3:4], check: func(t *testing.T, s Stats) {
			if s.SkippedSubnet != 2 {
				t.Errorf("SkippedSubnet %d, want 2", s.SkippedSubnet)
			}
		}},
		// A peer of the subnet leaves.
		{update: peersRemoved(nil, a[0]), wait: HistoryExpiration, discovered: a[3:4], wantNewDials: a[3:4]},
	})
}

// Priority nodes are dialed before any iterator candidate, and candidates
// wait until their dials have ended.
func TestDialSchedPriorityFirst(t *testing.T) {
	t.Parallel()
	p := nodes(1, 2)
	n := nodes(10, 3)
	dt := newDialTest(t, Config{MaxDialPeers: 4, Priority: p, PriorityWait: time.Minute})
	dt.run([]dialTestRound{
		{discovered: n, wantNewDials: p},
		{succeeded: p[:1]},
		// The last priority dial ends: candidates are read.
		{failed: p[1:2], wantNewDials: n},
	})
}

// Priority dials hold candidates back for PriorityWait at most.
func TestDialSchedPriorityWait(t *testing.T) {
	t.Parallel()
	p := nodes(1, 1)
	n := nodes(10, 1)
	dt := newDialTest(t, Config{MaxDialPeers: 4, Priority: p, PriorityWait: 10 * time.Second})
	dt.run([]dialTestRound{
		{discovered: n, wantNewDials: p},
		{wait: 9 * time.Second},
		{wait: time.Second, wantNewDials: n},
	})
}

// In trusted-only mode nothing is dialed but trusted static nodes.
func TestDialSchedTrustedOnly(t *testing.T) {
	t.Parallel()
	n := nodes(1, 4)
	trusted := func(id enode.ID) bool { return id == n[0].ID() }
	dt := newDialTest(t, Config{MaxDialPeers: 4, TrustedOnly: true, Trusted: trusted, Bootnodes: n[3:4]})
	dt.run([]dialTestRound{
		{update: addStatic(n[0], n[1]), discovered: n[2:3], wantNewDials: n[:1]},
		{wait: time.Hour},
	})
}

// Banned nodes are never dialed, static or not.
func TestDialSchedBanned(t *testing.T) {
	t.Parallel()
	n := nodes(1, 3)
	banned := func(x *enode.Node) bool { return x.ID() == n[0].ID() || x.ID() == n[1].ID() }
	dt := newDialTest(t, Config{MaxDialPeers: 4, Banned: banned})
	dt.run([]dialTestRound{
		{update: addStatic(n[1]), discovered: []*enode.Node{n[0], n[2]}, wantNewDials: n[2:3],
			check: func(t *testing.T, st Stats) {
				if st.SkippedBanned != 1 {
					t.Errorf("SkippedBanned %d, want 1", st.SkippedBanned)
				}
			}},
	})
}

// waitWindow waits until the scheduler holds n candidates.
func waitWindow(n int) func(*Scheduler) {
	return func(s *Scheduler) {
		deadline := time.Now().Add(5 * time.Second)
		for s.Stats().Window < n && time.Now().Before(deadline) {
			time.Sleep(100 * time.Microsecond)
		}
	}
}
