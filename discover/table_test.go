package discover

import (
	"context"
	"math/rand/v2"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/devp2p-go/devp2p/discover/v4wire"
	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/enr"
	"github.com/devp2p-go/devp2p/internal/mclock"
	"github.com/devp2p-go/devp2p/netutil"
)

// fakeTransport answers liveness checks from a set of dead nodes.
type fakeTransport struct {
	mu     sync.Mutex
	dead   map[enode.ID]bool
	pinged map[enode.ID]int
}

func newFakeTransport() *fakeTransport {
	return &fakeTransport{dead: make(map[enode.ID]bool), pinged: make(map[enode.ID]int)}
}

func (f *fakeTransport) ping(n *enode.Node) (uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pinged[n.ID()]++
	if f.dead[n.ID()] {
		return 0, errTimeout
	}
	return n.Seq(), nil
}

func (f *fakeTransport) setDead(id enode.ID, dead bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dead[id] = dead
}

func (f *fakeTransport) lookupSelf(context.Context) []*enode.Node   { return nil }
func (f *fakeTransport) lookupRandom(context.Context) []*enode.Node { return nil }

type tableTest struct {
	t     *testing.T
	tab   *table
	net   *fakeTransport
	clock *mclock.Simulated
	rnd   *rand.Rand
}

// newTableTest makes a table that is not started: tests drive its
// revalidation on the simulated clock with runReval.
func newTableTest(t *testing.T, mod ...func(*Config)) *tableTest {
	clock := new(mclock.Simulated)
	cfg := Config{Clock: clock, Log: testLog(t), rand: rand.New(rand.NewPCG(3, 4))}
	for _, m := range mod {
		m(&cfg)
	}
	cfg = cfg.withDefaults()
	tt := &tableTest{t: t, net: newFakeTransport(), clock: clock, rnd: rand.New(rand.NewPCG(5, 6))}
	tt.tab = newTable(tt.net, enode.ID{0xaa, 0x55}, nil, cfg)
	t.Cleanup(tt.tab.close)
	return tt
}

// idAt returns a random ID at log distance d from the table's own ID.
func (tt *tableTest) idAt(d int) enode.ID {
	id := tt.tab.self
	if d == 0 {
		return id
	}
	bit := 256 - d // index of the first differing bit
	id[bit/8] ^= 0x80 >> (bit % 8)
	for i := bit + 1; i < 256; i++ {
		if tt.rnd.IntN(2) == 1 {
			id[i/8] ^= 0x80 >> (i % 8)
		}
	}
	return id
}

// node makes a node with a given ID (null identity scheme) at ip.
func node(id enode.ID, ip string, seq uint64) *enode.Node {
	var r enr.Record
	addr := netip.MustParseAddr(ip)
	if addr.Is4() {
		r.Set(enr.IPv4(addr))
	} else {
		r.Set(enr.IPv6(addr))
	}
	r.Set(enr.UDP(30303))
	r.Set(enr.TCP(30303))
	r.SetSeq(seq)
	return enode.SignNull(&r, id)
}

func (tt *tableTest) bucket(id enode.ID) *bucket { return tt.tab.bucketOf(id) }

func (tt *tableTest) entry(id enode.ID) *tableNode {
	tt.tab.mu.Lock()
	defer tt.tab.mu.Unlock()
	b := tt.tab.bucketOf(id)
	if i := indexOf(b.entries, id); i >= 0 {
		return b.entries[i]
	}
	return nil
}

// runReval runs the revalidation for d of simulated time, as the loop
// would, with every check completing at once.
func (tt *tableTest) runReval(d time.Duration) {
	end := tt.clock.Now().Add(d)
	for {
		tt.tab.mu.Lock()
		next := tt.tab.runRevalidationLocked(tt.clock.Now())
		inFlight := tt.tab.reval.inFlight
		tt.tab.mu.Unlock()
		for range inFlight {
			tt.tab.handleRevalResult(<-tt.tab.revalDoneCh)
		}
		if next > end {
			tt.clock.Run(end.Sub(tt.clock.Now()))
			return
		}
		tt.clock.Run(next.Sub(tt.clock.Now()))
	}
}

func TestTableBucketIndex(t *testing.T) {
	tt := newTableTest(t)
	for d := 1; d <= 256; d++ {
		id := tt.idAt(d)
		if got := enode.LogDist(tt.tab.self, id); got != d {
			t.Fatalf("idAt(%d) at distance %d", d, got)
		}
		want := 0
		if d > 240 {
			want = d - 240
		}
		if got := tt.bucket(id).index; got != want {
			t.Errorf("distance %d: bucket %d, want %d", d, got, want)
		}
	}
}

func TestTableBucketFull(t *testing.T) {
	tt := newTableTest(t)
	var ids []enode.ID
	for i := range bucketSize + maxReplacements + 3 {
		id := tt.idAt(256)
		ids = append(ids, id)
		added := tt.tab.addFound(node(id, "10.0.0."+itoa(i+1), 0))
		if added != (i < bucketSize) {
			t.Fatalf("node %d: added %v", i, added)
		}
	}
	b := tt.bucket(ids[0])
	if len(b.entries) != bucketSize || len(b.replacements) != maxReplacements {
		t.Fatalf("%d entries, %d replacements", len(b.entries), len(b.replacements))
	}
	// Replacements are newest first.
	if b.replacements[0].ID() != ids[len(ids)-1] {
		t.Error("newest replacement not first")
	}
	// Removing an entry promotes a replacement.
	tt.tab.mu.Lock()
	tt.tab.deleteLocked(b, b.entries[0])
	tt.tab.mu.Unlock()
	if len(b.entries) != bucketSize || len(b.replacements) != maxReplacements-1 {
		t.Fatalf("after delete: %d entries, %d replacements", len(b.entries), len(b.replacements))
	}
	if e := b.entries[bucketSize-1]; e.live || e.reval != &tt.tab.reval.fast {
		t.Error("promoted replacement not on the fast list")
	}
}

func TestTableIPLimits(t *testing.T) {
	t.Run("bucket /24", func(t *testing.T) {
		tt := newTableTest(t)
		for i, want := range []bool{true, true, false} {
			if got := tt.tab.addFound(node(tt.idAt(256), "1.2.3."+itoa(i+1), 0)); got != want {
				t.Errorf("node %d: added %v, want %v", i, got, want)
			}
		}
		if n := len(tt.tab.buckets[16].replacements); n != 0 {
			t.Errorf("%d replacements: the limit covers them too", n)
		}
	})
	t.Run("table /24", func(t *testing.T) {
		tt := newTableTest(t)
		added := 0
		for d := 245; d <= 256; d++ {
			for range 2 {
				if tt.tab.addFound(node(tt.idAt(d), "1.2.3."+itoa(added+1), 0)) {
					added++
				}
			}
		}
		if added != tableIPLimit {
			t.Errorf("added %d of one /24, want %d", added, tableIPLimit)
		}
	})
	t.Run("IPv6 /48", func(t *testing.T) {
		tt := newTableTest(t)
		for i, ip := range []string{"2a01:4f8:1:1::1", "2a01:4f8:1:2::1", "2a01:4f8:1:3::1"} {
			if got := tt.tab.addFound(node(tt.idAt(256), ip, 0)); got != (i < 2) {
				t.Errorf("%s: added %v", ip, got)
			}
		}
		// Other /48s in the same /24 are other networks.
		for _, ip := range []string{"2a01:4f8:2::1", "2a01:4f8:3::1", "2a01:4f9::1"} {
			if !tt.tab.addFound(node(tt.idAt(256), ip, 0)) {
				t.Errorf("%s refused", ip)
			}
		}
	})
	t.Run("LAN exempt", func(t *testing.T) {
		tt := newTableTest(t)
		for i := range bucketSize {
			if !tt.tab.addFound(node(tt.idAt(256), "192.168.1."+itoa(i+1), 0)) {
				t.Fatalf("LAN node %d refused", i)
			}
		}
	})
	t.Run("IPLimitExempt empty: loopback limited", func(t *testing.T) {
		tt := newTableTest(t, func(c *Config) { c.IPLimitExempt = new(netutil.Netlist) })
		for i, want := range []bool{true, true, false} {
			if got := tt.tab.addFound(node(tt.idAt(256), "127.66.0."+itoa(i+1), 0)); got != want {
				t.Errorf("bucket: loopback node %d added %v, want %v", i, got, want)
			}
		}
		// Replacements count too: a full bucket takes no third node of
		// the /24 as a replacement either.
		for i := range bucketSize {
			tt.tab.addFound(node(tt.idAt(256), "127.70."+itoa(i)+".1", 0))
		}
		tt.tab.addFound(node(tt.idAt(256), "127.66.0.9", 0))
		if n := len(tt.bucket(tt.idAt(256)).replacements); n != 2 {
			t.Errorf("%d replacements, want the 2 nodes of other /24s", n)
		}
		added := 2
		for d := 245; d < 256; d++ {
			for range 2 {
				if tt.tab.addFound(node(tt.idAt(d), "127.66.0."+itoa(added+10), 0)) {
					added++
				}
			}
		}
		if added != tableIPLimit {
			t.Errorf("table: added %d of 127.66.0.0/24, want %d", added, tableIPLimit)
		}
		// The count of the table's entries per /24, from its contents.
		per := make(map[netip.Prefix]int)
		for _, b := range tt.tab.bucketInfo() {
			for _, e := range b {
				per[netip.PrefixFrom(e.Node.IPAddr(), 24).Masked()]++
			}
		}
		if n := per[netip.MustParsePrefix("127.66.0.0/24")]; n != tableIPLimit {
			t.Errorf("table holds %d entries of 127.66.0.0/24, want %d", n, tableIPLimit)
		}
	})
	t.Run("IPLimitExempt list", func(t *testing.T) {
		tt := newTableTest(t, func(c *Config) { c.IPLimitExempt = netutil.MustParseNetlist("1.2.3.0/24") })
		for i := range bucketSize {
			if !tt.tab.addFound(node(tt.idAt(256), "1.2.3."+itoa(i+1), 0)) {
				t.Fatalf("exempt node %d refused", i)
			}
		}
		// LAN addresses are not exempt unless listed.
		for i, want := range []bool{true, true, false} {
			if got := tt.tab.addFound(node(tt.idAt(255), "192.168.1."+itoa(i+1), 0)); got != want {
				t.Errorf("LAN node %d added %v, want %v", i, got, want)
			}
		}
	})
	t.Run("removal frees the quota", func(t *testing.T) {
		tt := newTableTest(t)
		a, b := tt.idAt(256), tt.idAt(256)
		tt.tab.addFound(node(a, "1.2.3.1", 0))
		tt.tab.addFound(node(b, "1.2.3.2", 0))
		if tt.tab.addFound(node(tt.idAt(256), "1.2.3.3", 0)) {
			t.Fatal("third node of the /24 added")
		}
		tt.tab.mu.Lock()
		tt.tab.deleteLocked(tt.bucket(a), tt.bucket(a).entries[0])
		tt.tab.mu.Unlock()
		if !tt.tab.addFound(node(tt.idAt(256), "1.2.3.3", 0)) {
			t.Fatal("quota not freed")
		}
	})
	t.Run("endpoint change within limits", func(t *testing.T) {
		tt := newTableTest(t)
		a := tt.idAt(256)
		tt.tab.addFound(node(a, "1.2.3.1", 0))
		tt.tab.addFound(node(tt.idAt(256), "5.6.7.1", 0))
		// a moves within the limits.
		tt.tab.addInbound(node(a, "5.6.7.2", 0), false)
		if ip := tt.entry(a).node.IPAddr(); ip != netip.MustParseAddr("5.6.7.2") {
			t.Errorf("a at %v", ip)
		}
		// a moves to a full /24: refused, old record kept.
		tt.tab.addFound(node(tt.idAt(256), "8.8.8.1", 0))
		tt.tab.addFound(node(tt.idAt(256), "8.8.8.2", 0))
		tt.tab.addInbound(node(a, "8.8.8.3", 0), false)
		if ip := tt.entry(a).node.IPAddr(); ip != netip.MustParseAddr("5.6.7.2") {
			t.Errorf("a at %v", ip)
		}
	})
}

// TestTableRevalidationSpeed checks that new nodes are all checked within
// seconds: 60 nodes in 20 s of simulated time (go-ethereum checks one node
// every 1.5 s on average, 90 s for 60 nodes).
func TestTableRevalidationSpeed(t *testing.T) {
	tt := newTableTest(t)
	var ids []enode.ID
	for i := range 60 {
		id := tt.idAt(241 + i%16)
		if tt.tab.addFound(node(id, "10.0.1."+itoa(i+1), 0)) {
			ids = append(ids, id)
		}
	}
	tt.runReval(20 * time.Second)
	for _, id := range ids {
		if e := tt.entry(id); e == nil || !e.live || e.reval != &tt.tab.reval.slow {
			t.Fatalf("node %v not validated", id.TerminalString())
		}
	}
	// Validated nodes are checked again, slowly: about one every 4.5 s.
	before := len(tt.net.pinged)
	total := func() (n int) {
		tt.net.mu.Lock()
		defer tt.net.mu.Unlock()
		for _, c := range tt.net.pinged {
			n += c
		}
		return n
	}
	p0 := total()
	tt.runReval(90 * time.Second)
	if n := total() - p0; n < 10 || n > 40 {
		t.Errorf("%d slow checks in 90 s", n)
	}
	_ = before
}

// TestTableAnnounceSeeds checks that the seeds of a starting table are all
// checked (pinged: our endpoint announced to them) at once, not one per
// fast interval.
func TestTableAnnounceSeeds(t *testing.T) {
	tt := newTableTest(t)
	db := newMemDB()
	keys := newKeySource(7)
	var ids []enode.ID
	for i := range 12 {
		ip := netip.MustParseAddr("10.0.1." + itoa(i+1))
		n := enode.NewV4(keys.key().Public(), ip, 30303, 30303)
		ids = append(ids, n.ID())
		db.UpdateNode(n)
		db.UpdateLastPongReceived(n.ID(), ip, time.Now())
	}
	tt.tab.db = db
	tt.tab.loadSeeds()
	tt.tab.mu.Lock()
	tt.tab.announceSeedsLocked()
	tt.tab.mu.Unlock()
	// Run the checks as the loop does, without letting time pass: each
	// result makes the loop start the next due checks.
	for range len(ids) {
		tt.tab.mu.Lock()
		tt.tab.runRevalidationLocked(tt.clock.Now())
		inFlight := tt.tab.reval.inFlight
		tt.tab.mu.Unlock()
		if inFlight > maxRevalidations {
			t.Fatalf("%d checks in flight", inFlight)
		}
		for range inFlight {
			tt.tab.handleRevalResult(<-tt.tab.revalDoneCh)
		}
	}
	tt.net.mu.Lock()
	defer tt.net.mu.Unlock()
	for _, id := range ids {
		if tt.net.pinged[id] != 1 {
			t.Errorf("seed %v pinged %d times, want once", id.TerminalString(), tt.net.pinged[id])
		}
	}
}

// TestTableRevalidationFailure checks go-ethereum's rule for failed checks:
// a third of the checks remain, and at zero the node is replaced.
func TestTableRevalidationFailure(t *testing.T) {
	tt := newTableTest(t)
	var ids []enode.ID
	for i := range bucketSize + 2 {
		id := tt.idAt(256)
		ids = append(ids, id)
		tt.tab.addFound(node(id, "10.0.0."+itoa(i+1), 0))
	}
	tt.runReval(30 * time.Second) // all entries validated
	victim := tt.entry(ids[0])
	tt.tab.mu.Lock()
	victim.checks = 3
	tt.tab.checkedLocked(victim, false, tt.clock.Now())
	checks, live, onFast := victim.checks, victim.live, victim.reval == &tt.tab.reval.fast
	tt.tab.mu.Unlock()
	if checks != 1 || live || !onFast {
		t.Fatalf("after one failure: checks %d, live %v, fast list %v", checks, live, onFast)
	}
	tt.net.setDead(ids[0], true)
	tt.runReval(10 * time.Second)
	if tt.entry(ids[0]) != nil {
		t.Fatal("dead node still in table")
	}
	b := tt.bucket(ids[0])
	if len(b.entries) != bucketSize || len(b.replacements) != 1 {
		t.Errorf("%d entries, %d replacements", len(b.entries), len(b.replacements))
	}
}

// TestTableFindnodeAnswer checks which entries are offered to others: live
// ones and fresh unchecked ones, not those that failed or went unchecked
// for long.
func TestTableFindnodeAnswer(t *testing.T) {
	tt := newTableTest(t)
	fresh, live, failed := tt.idAt(256), tt.idAt(256), tt.idAt(256)
	for i, id := range []enode.ID{fresh, live, failed} {
		tt.tab.addFound(node(id, "10.0.0."+itoa(i+1), 0))
	}
	le, fe := tt.entry(live), tt.entry(failed)
	tt.tab.mu.Lock()
	tt.tab.checkedLocked(le, true, tt.clock.Now())
	fe.checks = 4
	tt.tab.checkedLocked(fe, false, tt.clock.Now())
	tt.tab.mu.Unlock()
	got := tt.answerIDs()
	if !got[fresh] || !got[live] || got[failed] {
		t.Errorf("answer %v: want fresh and live only", got)
	}
	tt.clock.Run(freshWindow)
	got = tt.answerIDs()
	if got[fresh] || !got[live] {
		t.Errorf("after %v: answer %v, want live only", freshWindow, got)
	}
}

// answerIDs returns the IDs of the entries a Findnode would be answered
// with.
func (tt *tableTest) answerIDs() map[enode.ID]bool { return tt.answerFor(enode.ID{}) }

// answerFor returns the IDs of the entries and replacements a Findnode for
// target would be answered with.
func (tt *tableTest) answerFor(target enode.ID) map[enode.ID]bool {
	out := tt.tab.closestForFindnode(nil, target, func(*enode.Node) bool { return true })
	m := make(map[enode.ID]bool)
	tt.tab.mu.Lock()
	defer tt.tab.mu.Unlock()
	for _, rn := range out {
		for _, b := range tt.tab.buckets {
			for _, list := range [][]*tableNode{b.entries, b.replacements} {
				for _, e := range list {
					if e.rpc() == rn && e.node.IPAddr() == rn.IP {
						m[e.ID()] = true
					}
				}
			}
		}
	}
	if len(m) != len(out) {
		tt.t.Fatalf("answer of %d nodes, %d of them distinct table nodes", len(out), len(m))
	}
	return m
}

// TestTableFindnodeSample checks the answer for a target in a full bucket:
// a sample of the closest candidates that favours those handed out least
// and learned of last, including replacements that contacted us (not
// those only heard of), so that successive answers cover all candidates.
func TestTableFindnodeSample(t *testing.T) {
	tt := newTableTest(t)
	var entries, contacted, heard []enode.ID
	for i := range bucketSize {
		id := tt.idAt(256)
		entries = append(entries, id)
		tt.tab.addFound(node(id, "10.0.1."+itoa(i+1), 0))
		tt.clock.Run(time.Second)
	}
	for i := range 3 {
		id := tt.idAt(256)
		contacted = append(contacted, id)
		tt.tab.addInbound(node(id, "10.0.2."+itoa(i+1), 0), true)
		id = tt.idAt(256)
		heard = append(heard, id)
		tt.tab.addFound(node(id, "10.0.3."+itoa(i+1), 0))
	}
	target := tt.idAt(256)
	got := tt.answerFor(target)
	if len(got) != bucketSize {
		t.Fatalf("answer of %d nodes, want %d", len(got), bucketSize)
	}
	for _, id := range contacted {
		if !got[id] {
			t.Errorf("contacted replacement %v not in the first answer", id.TerminalString())
		}
	}
	// The first answer holds the newest entries; the next ones those
	// left out before.
	for _, id := range entries[:3] {
		if got[id] {
			t.Errorf("oldest entry %v in the first answer", id.TerminalString())
		}
	}
	seen := make(map[enode.ID]int)
	for id := range got {
		seen[id]++
	}
	for range 2 {
		for id := range tt.answerFor(target) {
			seen[id]++
		}
	}
	for _, id := range append(entries, contacted...) {
		if seen[id] == 0 {
			t.Errorf("candidate %v in none of three answers", id.TerminalString())
		}
	}
	for _, id := range heard {
		if seen[id] > 0 {
			t.Errorf("replacement %v that never contacted us was handed out", id.TerminalString())
		}
	}
	// Hand-out counts fade: after a long pause, the newest come first again.
	tt.clock.Run(5 * handoutHalfLife) // within freshWindow
	got = tt.answerFor(target)
	for _, id := range entries[:3] {
		if got[id] {
			t.Errorf("after a pause, oldest entry %v in the answer", id.TerminalString())
		}
	}
}

// TestTableFindnodeExact checks the answer for a target whose bucket has
// room: the closest candidates, whatever their hand-out counts.
func TestTableFindnodeExact(t *testing.T) {
	tt := newTableTest(t)
	var all []*enode.Node
	for i := range 40 {
		n := node(tt.idAt(250+i%6), "10.0.1."+itoa(i+1), 0)
		if tt.tab.addFound(n) {
			all = append(all, n)
		}
	}
	target := tt.idAt(251)
	if b := tt.bucket(target); len(b.entries) >= bucketSize {
		t.Fatalf("target's bucket is full")
	}
	want := nodesByDistance{target: target, max: bucketSize}
	for _, n := range all {
		want.push(n)
	}
	for round := range 3 {
		got := tt.answerFor(target)
		for _, n := range want.entries {
			if !got[n.ID()] {
				t.Fatalf("answer %d: closest node %v missing", round, n.ID().TerminalString())
			}
		}
	}
}

func TestTableSeen(t *testing.T) {
	tt := newTableTest(t)
	id := tt.idAt(256)
	tt.tab.addFound(node(id, "10.0.0.1", 0))
	tt.tab.seen(id, netip.MustParseAddrPort("10.0.0.1:1234")) // wrong port
	if tt.entry(id).live {
		t.Fatal("reply from another port validated the node")
	}
	tt.tab.seen(id, netip.MustParseAddrPort("10.0.0.1:30303"))
	if e := tt.entry(id); !e.live || e.checks != 1 || e.reval != &tt.tab.reval.slow {
		t.Fatal("reply did not validate the node")
	}
}

func TestTableBump(t *testing.T) {
	tt := newTableTest(t)
	id := tt.idAt(256)
	tt.tab.addFound(node(id, "10.0.0.1", 5))
	tt.tab.seen(id, netip.MustParseAddrPort("10.0.0.1:30303"))
	// Found nodes need a higher seq.
	tt.tab.addFound(node(id, "10.0.0.2", 5))
	if ip := tt.entry(id).node.IPAddr(); ip != netip.MustParseAddr("10.0.0.1") {
		t.Fatalf("same seq replaced the record: %v", ip)
	}
	// An inbound stub (seq 0) from the same endpoint keeps the record.
	tt.tab.addInbound(node(id, "10.0.0.1", 0), false)
	if tt.entry(id).node.Seq() != 5 {
		t.Fatal("stub replaced the record")
	}
	// A new endpoint from the node itself is taken and checked again.
	tt.tab.addInbound(node(id, "10.0.0.3", 0), false)
	e := tt.entry(id)
	if e.node.IPAddr() != netip.MustParseAddr("10.0.0.3") || e.live || e.reval != &tt.tab.reval.fast {
		t.Fatalf("endpoint change: %v live %v", e.node.IPAddr(), e.live)
	}
	// A newer record found elsewhere is taken.
	tt.tab.addFound(node(id, "10.0.0.4", 6))
	if tt.entry(id).node.Seq() != 6 {
		t.Fatal("newer record not taken")
	}
}

func TestTableTrackFindnode(t *testing.T) {
	tt := newTableTest(t)
	var ids []enode.ID
	for i := range 3 {
		id := tt.idAt(256)
		ids = append(ids, id)
		tt.tab.addFound(node(id, "10.0.0."+itoa(i+1), 0))
	}
	// Small bucket: kept despite failures.
	tt.tab.trackFindnode(tt.entry(ids[0]).node, maxFindnodeFailures, nil)
	if tt.entry(ids[0]) == nil {
		t.Fatal("removed from a small bucket")
	}
	found := node(tt.idAt(256), "10.0.0.9", 0)
	tt.tab.trackFindnode(tt.entry(ids[1]).node, 0, []*enode.Node{found})
	if tt.entry(found.ID()) == nil {
		t.Fatal("found node not added")
	}
	tt.tab.trackFindnode(tt.entry(ids[0]).node, maxFindnodeFailures, nil)
	if tt.entry(ids[0]) != nil {
		t.Fatal("failing node kept in a bucket of 4")
	}
}

func TestTableAddInboundProven(t *testing.T) {
	tt := newTableTest(t)
	id := tt.idAt(250)
	tt.tab.addInbound(node(id, "10.0.0.1", 0), true)
	if e := tt.entry(id); e == nil || !e.live || e.reval != &tt.tab.reval.slow {
		t.Fatal("proven inbound node not validated")
	}
	if tt.tab.addInbound(node(tt.tab.self, "10.0.0.2", 0), true) {
		t.Fatal("self added")
	}
}

func TestDistanceList(t *testing.T) {
	target := enode.ID{}
	h := nodesByDistance{target: target, max: 3}
	var ids []enode.ID
	for i := range 10 {
		id := enode.ID{byte(10 - i)}
		ids = append(ids, id)
		h.push(node(id, "10.0.0.1", 0))
	}
	if len(h.entries) != 3 || h.entries[0].ID() != ids[9] || h.entries[2].ID() != ids[7] {
		t.Fatalf("got %v", h.entries)
	}
	_ = v4wire.MaxNeighbors
}
