package p2p

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/internal/mclock"
)

// limCand makes an eviction candidate: ID {id}, in group g (hash h),
// connected at time id unless set otherwise by the options.
func limCand(id byte, g int, h uint64, opts ...func(*evictCandidate)) evictCandidate {
	c := evictCandidate{
		id:        enode.ID{id},
		group:     netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(g), 0, 0}), 24),
		groupHash: h,
		connected: mclock.AbsTime(id),
	}
	for _, o := range opts {
		o(&c)
	}
	return c
}

func limRTT(ns int64) func(*evictCandidate) { return func(c *evictCandidate) { c.rtt = ns } }
func limUseful(at mclock.AbsTime) func(*evictCandidate) {
	return func(c *evictCandidate) { c.lastUseful, c.useful = at, true }
}
func limAt(t mclock.AbsTime) func(*evictCandidate) {
	return func(c *evictCandidate) { c.connected = t }
}
func limProtected(c *evictCandidate) { c.protected = true }

// limSingles returns n candidates with IDs 1..n, each in its own group
// whose hash is its ID.
func limSingles(n int) []evictCandidate {
	var cs []evictCandidate
	for i := 1; i <= n; i++ {
		cs = append(cs, limCand(byte(i), i, uint64(i)))
	}
	return cs
}

func TestSelectVictim(t *testing.T) {
	t.Parallel()
	const none = 0
	tests := []struct {
		name  string
		cands func() []evictCandidate
		want  byte // victim ID; none: nothing to evict
	}{
		{"no peers", func() []evictCandidate { return nil }, none},
		{"all trusted or static", func() []evictCandidate {
			cs := limSingles(20)
			for i := range cs {
				cs[i].protected = true
			}
			return cs
		}, none},
		// 4 protected by subnet, 4 by age: a ninth is needed.
		{"eight unprotected-looking peers are all protected", func() []evictCandidate { return limSingles(8) }, none},
		{"the ninth, youngest, goes", func() []evictCandidate { return limSingles(9) }, 9},
		{"trusted and static peers are not candidates", func() []evictCandidate {
			cs := limSingles(9)
			cs[8].protected = true // 9
			return cs
		}, none},
		// The keyed hash picks the subnets: reversed hashes protect 9..6,
		// age 1..4, so 5 goes.
		{"the hash chooses the protected subnets", func() []evictCandidate {
			cs := limSingles(9)
			for i := range cs {
				cs[i].groupHash = 100 - uint64(i)
			}
			return cs
		}, 5},
		// The subnet with the lowest hash gets only one peer protected: the
		// stage protects one peer in each of four subnets.
		{"one peer per hash-chosen subnet", func() []evictCandidate {
			return []evictCandidate{
				limCand(1, 1, 1, limAt(50)), limCand(2, 1, 1, limAt(51)), limCand(3, 1, 1, limAt(52)), limCand(4, 1, 1, limAt(53)),
				limCand(60, 2, 2), limCand(61, 3, 3), limCand(62, 4, 4),
				limCand(5, 5, 105), limCand(6, 6, 106), limCand(7, 7, 107), limCand(8, 8, 108), // by age
			}
			// Subnets: 1, 60, 61, 62. Age: 5..8. Left: 2, 3, 4 of subnet 1.
		}, 4},
		{"the largest subnet loses its youngest", func() []evictCandidate {
			cs := limSingles(8) // 1..4 by subnet, 5..8 by age
			cs = append(cs,
				limCand(9, 9, 90), limCand(10, 9, 90), limCand(11, 9, 90), // a subnet of 3
				limCand(12, 12, 120), // the youngest, alone in its subnet
			)
			return cs
		}, 11},
		{"equal subnets: the one with the youngest peer", func() []evictCandidate {
			cs := limSingles(8)
			cs = append(cs,
				limCand(9, 9, 90), limCand(12, 9, 90),
				limCand(10, 10, 100), limCand(11, 10, 100),
			)
			return cs
		}, 12},
		// RTT: peers with a known RTT are protected, the lowest first.
		{"lowest RTT protected", func() []evictCandidate {
			cs := limSingles(10)
			cs[9].rtt = 5 // 10
			return cs
		}, 9},
		{"unknown RTT protects nobody", func() []evictCandidate { return limSingles(10) }, 10},
		{"at most four by RTT", func() []evictCandidate {
			cs := limSingles(8)
			for i := 9; i <= 13; i++ {
				cs = append(cs, limCand(byte(i), i, uint64(i)*10, limRTT(int64(100-i)))) // 13 lowest
			}
			// 13..10 protected by RTT; 9 (highest RTT) goes.
			return cs
		}, 9},
		{"useful protected", func() []evictCandidate {
			cs := limSingles(10)
			cs[9].lastUseful, cs[9].useful = 1000, true // 10
			return cs
		}, 9},
		{"most recently useful first", func() []evictCandidate {
			cs := limSingles(8)
			for i := 9; i <= 13; i++ {
				cs = append(cs, limCand(byte(i), i, uint64(i)*10, limUseful(mclock.AbsTime(1000-i)))) // 9 most recent
			}
			return cs
		}, 13},
		{"useful at time 0 counts", func() []evictCandidate {
			cs := limSingles(10)
			cs[9].lastUseful, cs[9].useful = 0, true
			return cs
		}, 9},
		{"longest connected protected", func() []evictCandidate {
			cs := limSingles(9)
			cs[8].connected = -100 // 9 is the oldest now; 8 is the youngest left
			return cs
		}, 8},
		// An attacker who fills the slots from many subnets, idle: the
		// honest peers, useful or fast, stay.
		{"idle attackers go first", func() []evictCandidate {
			var cs []evictCandidate
			for i := 1; i <= 20; i++ {
				cs = append(cs, limCand(byte(i), 100+i%5, uint64(100+i%5), limAt(mclock.AbsTime(100+i))))
			}
			cs = append(cs,
				limCand(50, 50, 1000, limAt(150), limRTT(1)),      // fast, young
				limCand(51, 51, 1001, limAt(151), limUseful(151)), // useful, young
			)
			return cs
		}, 20},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// The result does not depend on the order of the candidates.
			rng := rand.New(rand.NewPCG(1, 2))
			for run := range 5 {
				cs := tc.cands()
				rng.Shuffle(len(cs), func(i, j int) { cs[i], cs[j] = cs[j], cs[i] })
				id, ok := selectVictim(cs)
				switch {
				case tc.want == none && ok:
					t.Fatalf("run %d: evicts %x, want none", run, id[:1])
				case tc.want != none && (!ok || id != enode.ID{tc.want}):
					t.Fatalf("run %d: evicts %x (%t), want %x", run, id[:1], ok, tc.want)
				}
			}
		})
	}
}

// With the defaults, eviction starts above 8 inbound peers that have no
// RTT yet and 16 that all have one.
func TestSelectVictimThreshold(t *testing.T) {
	t.Parallel()
	withRTT := func(n int) []evictCandidate {
		cs := limSingles(n)
		for i := range cs {
			cs[i].rtt = int64(i + 1)
		}
		return cs
	}
	if _, ok := selectVictim(limSingles(evictKeepGroups + evictKeepAge)); ok {
		t.Error("evicts from 8 peers without RTT")
	}
	if _, ok := selectVictim(withRTT(evictKeepGroups + evictKeepAge + evictKeepRTT)); ok {
		t.Error("evicts from 12 peers with RTT")
	}
	if _, ok := selectVictim(withRTT(evictKeepGroups + evictKeepAge + evictKeepRTT + 1)); !ok {
		t.Error("nothing to evict from 13 peers with RTT")
	}
	cs := withRTT(16)
	for i := range cs {
		cs[i].lastUseful, cs[i].useful = mclock.AbsTime(i), true
	}
	if _, ok := selectVictim(slices.Clone(cs)); ok {
		t.Error("evicts from 16 useful peers with RTT")
	}
	cs = append(cs, limCand(17, 17, 17))
	if id, ok := selectVictim(cs); !ok || id != (enode.ID{17}) {
		t.Errorf("17 peers: evicts %x (%t), want 17", id[:1], ok)
	}
}

func TestLimitsGroup(t *testing.T) {
	t.Parallel()
	var def Limits
	def = def.withDefaults(30, 10)
	tests := []struct {
		ip   string
		want string
	}{
		{"8.8.8.8", "8.8.8.0/24"},
		{"::ffff:8.8.8.8", "8.8.8.0/24"},
		{"2001:db8:1:2::1", "2001:db8:1::/48"},
		{"192.168.1.7", "192.168.1.7/32"}, // LAN: exempt, one group per address
		{"127.0.0.1", "127.0.0.1/32"},
	}
	for _, tc := range tests {
		if got := def.group(netip.MustParseAddr(tc.ip)); got.String() != tc.want {
			t.Errorf("group(%s) = %v, want %s", tc.ip, got, tc.want)
		}
	}
	if g := def.group(netip.Addr{}); g.IsValid() {
		t.Errorf("group of no address: %v", g)
	}
	if !def.evictOn() {
		t.Error("eviction off by default")
	}
	off := false
	if l := (Limits{EvictInbound: &off}); l.evictOn() {
		t.Error("EvictInbound false: eviction on")
	}
}

// BenchmarkSelectVictim measures one eviction decision with n inbound
// peers in n/4 subnets, half of them with an RTT.
func BenchmarkSelectVictim(b *testing.B) {
	for _, n := range []int{34, 200} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			base := make([]evictCandidate, n)
			for i := range base {
				base[i] = limCand(byte(i), i/4, uint64(i/4*7919%1000), limAt(mclock.AbsTime(i)))
				base[i].id[1] = byte(i >> 8)
				if i%2 == 0 {
					base[i].rtt = int64(1000 + i*37%500)
				}
			}
			cs := make([]evictCandidate, n)
			b.ReportAllocs()
			for b.Loop() {
				copy(cs, base)
				if _, ok := selectVictim(cs); !ok {
					b.Fatal("no victim")
				}
			}
		})
	}
}
