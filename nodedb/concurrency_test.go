package nodedb

import (
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/devp2p-go/devp2p/enode"
)

// TestConcurrentAccess runs writers, readers and maintenance in parallel
// (meant for -race) and then checks that every writer's last value is there.
// Each writer owns its nodes, so their final state is known.
func TestConcurrentAccess(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open func() *DB) {
		db := open()
		defer db.Close()
		db.cfg.FlushInterval, db.cfg.MaxBuffered = 10*time.Millisecond, 64

		const (
			writers = 4
			nodesPW = 8
			rounds  = 20
		)
		now := time.Now()
		nodes := make([][]*enode.Node, writers)
		for w := range nodes {
			for i := range nodesPW {
				nodes[w] = append(nodes[w], newTestNode(t, fmt.Sprintf("10.2.%d.%d", w, i+1), 30303))
			}
		}
		var (
			wg   sync.WaitGroup
			done = make(chan struct{})
		)
		for w := range writers {
			wg.Go(func() {
				must := func(err error) {
					if err != nil {
						t.Error(err)
					}
				}
				for r := range rounds {
					for i, n := range nodes[w] {
						ip := n.IPAddr()
						must(db.UpdateNode(n))
						must(db.UpdateLastPongReceived(n.ID(), ip, now.Add(time.Duration(r)*time.Second)))
						must(db.UpdateLastPingReceived(n.ID(), ip, now))
						must(db.UpdateFindFails(n.ID(), ip, r))
						if i == 0 && r%10 == 0 {
							must(db.PutPeer(&PeerRecord{ID: n.ID(), Node: n, Sessions: r, LastOutbound: true}))
							must(db.StoreLocalSeq(n.ID(), uint64(r)))
						}
						if i == 1 && r == rounds-1 {
							must(db.DeleteNode(n.ID()))
						}
					}
				}
			})
		}
		var readers sync.WaitGroup
		for range 3 {
			readers.Go(func() {
				for {
					select {
					case <-done:
						return
					default:
					}
					for w := range writers {
						n := nodes[w][2]
						db.Node(n.ID())
						db.LastPongReceived(n.ID(), n.IPAddr())
						db.FindFails(n.ID(), n.IPAddr())
						db.LocalSeq(n.ID())
					}
					db.QuerySeedsAt(now, 5, time.Hour)
					db.Peers()
					db.BestOutboundPeersAt(now, 3)
				}
			})
		}
		readers.Go(func() {
			for {
				select {
				case <-done:
					return
				case <-time.After(5 * time.Millisecond):
				}
				if _, err := db.Expire(now, time.Hour); err != nil {
					t.Error(err)
				}
				db.Flush()
			}
		})
		wg.Wait()
		close(done)
		readers.Wait()

		for w := range writers {
			for i, n := range nodes[w] {
				ip := n.IPAddr()
				if i == 1 {
					if db.Node(n.ID()) != nil {
						t.Errorf("deleted node %d/%d present", w, i)
					}
					continue
				}
				if db.Node(n.ID()) == nil || db.FindFails(n.ID(), ip) != rounds-1 ||
					!db.LastPongReceived(n.ID(), ip).Equal(now.Add((rounds-1)*time.Second)) {
					t.Errorf("node %d/%d: final state lost", w, i)
				}
			}
			if r, ok := db.Peer(nodes[w][0].ID()); !ok || r.Sessions != 10 {
				t.Errorf("writer %d: peer record %v", w, r)
			}
			if db.LocalSeq(nodes[w][0].ID()) != 10 {
				t.Errorf("writer %d: local seq %d", w, db.LocalSeq(nodes[w][0].ID()))
			}
		}
	})
}

func BenchmarkUpdateLastPongReceived(b *testing.B) {
	run := func(b *testing.B, path string, cfg Config) {
		db, err := OpenConfig(path, cfg)
		check(b, err)
		defer db.Close()
		ids := make([]enode.ID, 1000)
		for i := range ids {
			ids[i] = enode.ID{byte(i), byte(i >> 8), 1}
		}
		ip := netip.MustParseAddr("10.0.0.1")
		now := time.Now()
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			check(b, db.UpdateLastPongReceived(ids[i%len(ids)], ip, now))
			i++
		}
	}
	b.Run("memory", func(b *testing.B) { run(b, "", Config{}) })
	b.Run("disk", func(b *testing.B) { run(b, b.TempDir()+"/nodes.db", Config{}) })
	b.Run("disk-unbuffered", func(b *testing.B) {
		run(b, b.TempDir()+"/nodes.db", Config{FlushInterval: -1})
	})
}

func BenchmarkQuerySeeds(b *testing.B) {
	run := func(b *testing.B, path string) {
		db, err := Open(path)
		check(b, err)
		defer db.Close()
		s := newSeedDB(b, db, 1000)
		check(b, db.Flush())
		b.ReportAllocs()
		for b.Loop() {
			if got := db.QuerySeedsAt(s.now, 30, 5*24*time.Hour); len(got) != 30 {
				b.Fatalf("got %d seeds", len(got))
			}
		}
	}
	b.Run("memory", func(b *testing.B) { run(b, "") })
	b.Run("disk", func(b *testing.B) { run(b, b.TempDir()+"/nodes.db") })
}
