package discover

import (
	"net/netip"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/devp2p-go/devp2p/discover/v4wire"
	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/nodedb"
)

var _ DB = (*nodedb.DB)(nil) // the persistent DB plugs in

// memDB is an in-memory DB for tests, with the semantics nodedb.DB has.
type memDB struct {
	mu     sync.Mutex
	nodes  map[enode.ID]*enode.Node
	pings  map[bondKey]time.Time
	pongs  map[bondKey]time.Time
	fails  map[bondKey]int
	writes int
}

func newMemDB() *memDB {
	return &memDB{
		nodes: make(map[enode.ID]*enode.Node),
		pings: make(map[bondKey]time.Time),
		pongs: make(map[bondKey]time.Time),
		fails: make(map[bondKey]int),
	}
}

func (db *memDB) Node(id enode.ID) *enode.Node {
	db.mu.Lock()
	defer db.mu.Unlock()
	return db.nodes[id]
}

func (db *memDB) UpdateNode(n *enode.Node) error {
	db.mu.Lock()
	defer db.mu.Unlock()
	db.nodes[n.ID()] = n
	db.writes++
	return nil
}

func (db *memDB) LastPingReceived(id enode.ID, ip netip.Addr) time.Time {
	db.mu.Lock()
	defer db.mu.Unlock()
	return db.pings[bondKey{id, ip}]
}

func (db *memDB) UpdateLastPingReceived(id enode.ID, ip netip.Addr, t time.Time) error {
	db.mu.Lock()
	defer db.mu.Unlock()
	db.pings[bondKey{id, ip}] = t
	db.writes++
	return nil
}

func (db *memDB) LastPongReceived(id enode.ID, ip netip.Addr) time.Time {
	db.mu.Lock()
	defer db.mu.Unlock()
	return db.pongs[bondKey{id, ip}]
}

func (db *memDB) UpdateLastPongReceived(id enode.ID, ip netip.Addr, t time.Time) error {
	db.mu.Lock()
	defer db.mu.Unlock()
	db.pongs[bondKey{id, ip}] = t
	db.writes++
	return nil
}

func (db *memDB) FindFails(id enode.ID, ip netip.Addr) int {
	db.mu.Lock()
	defer db.mu.Unlock()
	return db.fails[bondKey{id, ip}]
}

func (db *memDB) UpdateFindFails(id enode.ID, ip netip.Addr, fails int) error {
	db.mu.Lock()
	defer db.mu.Unlock()
	db.fails[bondKey{id, ip}] = fails
	db.writes++
	return nil
}

func (db *memDB) QuerySeeds(n int, maxAge time.Duration) []*enode.Node {
	db.mu.Lock()
	defer db.mu.Unlock()
	var out []*enode.Node
	for id, node := range db.nodes {
		if len(out) == n {
			break
		}
		for k, t := range db.pongs {
			if k.id == id && time.Since(t) < maxAge {
				out = append(out, node)
				break
			}
		}
	}
	return out
}

// TestDBBondsSurviveRestart checks that a restarted listener with the same
// DB answers a node bonded before the restart without a new bond, and that
// it stores validated nodes and seeds its table from them (and pings the
// seed once, to announce itself, not to bond).
func TestDBBondsSurviveRestart(t *testing.T) {
	t.Run("memDB", func(t *testing.T) { testBondsSurviveRestart(t, newMemDB()) })
	t.Run("nodedb", func(t *testing.T) {
		db, err := nodedb.Open(filepath.Join(t.TempDir(), "nodes.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		testBondsSurviveRestart(t, db)
	})
}

func testBondsSurviveRestart(t *testing.T, db DB) {
	tt := newUDPTest(t, func(c *Config) { c.DB = db })
	tt.bond(0)
	id := tt.remoteNode().ID()
	waitFor(t, "node stored", func() bool { return db.Node(id) != nil })
	if db.LastPongReceived(id, tt.remoteAddr.Addr()).IsZero() || db.LastPingReceived(id, tt.remoteAddr.Addr()).IsZero() {
		t.Fatal("bond not stored")
	}
	tt.udp.Close()

	// Restart on the same address with the same key and DB.
	cfg := Config{PrivateKey: tt.localKey, Clock: tt.clock, Log: testLog(t), DB: db}
	tt.udp = startNode(t, tt.net, tt.localAddr, cfg)
	if tt.udp.tab.node(id) == nil {
		t.Fatal("table not seeded from the DB")
	}
	// The refresh asks the seed; answer until it is done.
	for done := false; !done; {
		select {
		case <-tt.udp.tab.initDone:
			done = true
		case d := <-tt.remote.in:
			p, _, hash, err := v4wire.Decode(d.data)
			if err != nil {
				t.Fatal(err)
			}
			switch p.(type) {
			case *v4wire.Findnode:
				tt.send(&v4wire.Neighbors{Expiration: tt.exp()})
			case *v4wire.Ping:
				tt.send(&v4wire.Pong{To: v4wire.NewEndpoint(tt.localAddr, 0), ReplyTok: hash[:], Expiration: tt.exp()})
			default:
				t.Fatalf("remote got %s", p.Name())
			}
		case <-time.After(10 * time.Second):
			t.Fatal("timeout")
		}
	}
	// Concurrent lookups may have completed on one answer (a Neighbors
	// packet is offered to every pending Findnode of its sender): drop the
	// Findnode packets still queued.
	for len(tt.remote.in) > 0 {
		<-tt.remote.in
	}
	// Bonded before the restart: the Findnode is answered. The remote is
	// the only table node and is not told about itself.
	tt.send(&v4wire.Findnode{Expiration: tt.exp()})
	if nb, _ := expect[*v4wire.Neighbors](tt); len(nb.Nodes) != 0 {
		t.Errorf("answer has %d nodes", len(nb.Nodes))
	}
	// The only Ping is the liveness check that announces the restarted
	// node to its seed (announceSeedsLocked), none is needed for a bond.
	if s := tt.udp.Stats(); s.PacketsOut[v4wire.PingPacket] > 1 {
		t.Errorf("restarted node pinged %d times", s.PacketsOut[v4wire.PingPacket])
	}
}

// TestDBWriteThrottle checks that repeated pings do not write the DB each
// time.
func TestDBWriteThrottle(t *testing.T) {
	db := newMemDB()
	tt := newUDPTest(t, func(c *Config) { c.DB = db })
	tt.bond(0)
	db.mu.Lock()
	before := db.writes
	db.mu.Unlock()
	for range 20 {
		tt.ping(0)
		expect[*v4wire.Pong](tt)
	}
	db.mu.Lock()
	after := db.writes
	db.mu.Unlock()
	if after != before {
		t.Errorf("%d DB writes for 20 pings", after-before)
	}
}
