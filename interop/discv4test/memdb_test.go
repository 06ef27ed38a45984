package discv4test

import (
	"math/rand/v2"
	"net/netip"
	"sync"
	"time"

	"github.com/devp2p-go/devp2p/enode"
)

// memDB is an in-memory discover.DB that outlives a listener, so that a
// restarted node keeps its bonds and the seq of its record, as with a data
// directory. (The interop module does not depend on nodedb's bbolt.)
type memDB struct {
	mu    sync.Mutex // guards following
	nodes map[enode.ID]*enode.Node
	ips   map[ipKey]*ipData
	seq   uint64 // of our own record
}

type ipKey struct {
	id enode.ID
	ip netip.Addr
}

type ipData struct {
	ping, pong time.Time
	fails      int
}

func newMemDB() *memDB {
	return &memDB{nodes: make(map[enode.ID]*enode.Node), ips: make(map[ipKey]*ipData)}
}

func (db *memDB) localSeq() uint64 {
	db.mu.Lock()
	defer db.mu.Unlock()
	return db.seq
}

func (db *memDB) storeLocalSeq(seq uint64) {
	db.mu.Lock()
	defer db.mu.Unlock()
	db.seq = seq
}

func (db *memDB) data(id enode.ID, ip netip.Addr) *ipData {
	k := ipKey{id, ip.Unmap()}
	d := db.ips[k]
	if d == nil {
		d = new(ipData)
		db.ips[k] = d
	}
	return d
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
	return nil
}

func (db *memDB) LastPingReceived(id enode.ID, ip netip.Addr) time.Time {
	db.mu.Lock()
	defer db.mu.Unlock()
	return db.data(id, ip).ping
}

func (db *memDB) UpdateLastPingReceived(id enode.ID, ip netip.Addr, t time.Time) error {
	db.mu.Lock()
	defer db.mu.Unlock()
	db.data(id, ip).ping = t
	return nil
}

func (db *memDB) LastPongReceived(id enode.ID, ip netip.Addr) time.Time {
	db.mu.Lock()
	defer db.mu.Unlock()
	return db.data(id, ip).pong
}

func (db *memDB) UpdateLastPongReceived(id enode.ID, ip netip.Addr, t time.Time) error {
	db.mu.Lock()
	defer db.mu.Unlock()
	db.data(id, ip).pong = t
	return nil
}

func (db *memDB) FindFails(id enode.ID, ip netip.Addr) int {
	db.mu.Lock()
	defer db.mu.Unlock()
	return db.data(id, ip).fails
}

func (db *memDB) UpdateFindFails(id enode.ID, ip netip.Addr, fails int) error {
	db.mu.Lock()
	defer db.mu.Unlock()
	db.data(id, ip).fails = fails
	return nil
}

func (db *memDB) QuerySeeds(n int, maxAge time.Duration) []*enode.Node {
	db.mu.Lock()
	defer db.mu.Unlock()
	var out []*enode.Node
	for id, node := range db.nodes {
		if d := db.ips[ipKey{id, node.IPAddr().Unmap()}]; d != nil && time.Since(d.pong) < maxAge {
			out = append(out, node)
		}
	}
	rand.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	if len(out) > n {
		out = out[:n]
	}
	return out
}
