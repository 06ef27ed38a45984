package nodedb

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/devp2p-go/devp2p/enode"
)

func TestPeerRoundTrip(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open func() *DB) {
		db := open()
		defer db.Close()
		full := fullPeerRecord(t)
		empty := &PeerRecord{ID: enode.ID{7}}
		negative := &PeerRecord{ID: enode.ID{8}, Score: -5, Sessions: -1, TotalConnected: -time.Second}
		for _, r := range []*PeerRecord{full, empty, negative} {
			check(t, db.PutPeer(r))
		}
		if !stored(db, bucketPeers, full.ID[:]) {
			t.Fatal("PutPeer not committed")
		}
		got, ok := db.Peer(full.ID)
		if !ok {
			t.Fatal("peer not found")
		}
		comparePeers(t, got, full)
		got, _ = db.Peer(empty.ID)
		comparePeers(t, got, empty)
		got, _ = db.Peer(negative.ID)
		comparePeers(t, got, &PeerRecord{ID: enode.ID{8}, Score: -5})

		if _, ok := db.Peer(enode.ID{99}); ok {
			t.Error("unknown peer found")
		}
		all := db.Peers()
		if len(all) != 3 || !slices.IsSortedFunc(all, func(a, b *PeerRecord) int { return bytes.Compare(a.ID[:], b.ID[:]) }) {
			t.Errorf("Peers() not all in ID order: %v", all)
		}
		check(t, db.DeletePeer(empty.ID))
		if _, ok := db.Peer(empty.ID); ok || len(db.Peers()) != 2 {
			t.Error("DeletePeer did not delete")
		}
	})
}

// PeerWithoutNode leaves the node undecoded, and writing the record back
// keeps the stored node.
func TestPeerWithoutNode(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open func() *DB) {
		db := open()
		defer db.Close()
		full := fullPeerRecord(t)
		check(t, db.PutPeer(full))
		got, ok := db.PeerWithoutNode(full.ID)
		if !ok || got.Node != nil {
			t.Fatalf("PeerWithoutNode: %v, node %v", ok, got.Node)
		}
		want := *full
		want.Node = nil
		comparePeers(t, got, &want)

		got.Score = 42
		check(t, db.PutPeer(got))
		back, _ := db.Peer(full.ID)
		want = *full
		want.Score = 42
		comparePeers(t, back, &want) // the node is still there

	})
}

func TestPutPeerChecks(t *testing.T) {
	db := mustOpen(t, "")
	defer db.Close()
	n := newTestNode(t, "10.0.1.1", 30303)
	if err := db.PutPeer(&PeerRecord{ID: enode.ID{1}, Node: n}); !errors.Is(err, errPeerIDMismatch) {
		t.Errorf("ID mismatch: err = %v", err)
	}
	if err := db.PutPeer(nil); err == nil {
		t.Error("PutPeer(nil) succeeded")
	}
	for in, want := range map[int32]int32{5000: MaxScore, -5000: MinScore, -7: -7} {
		check(t, db.PutPeer(&PeerRecord{ID: n.ID(), Node: n, Score: in}))
		if r, _ := db.Peer(n.ID()); r.Score != want {
			t.Errorf("score %d stored as %d, want %d", in, r.Score, want)
		}
	}
}

func TestPeerBadNodeKeepsRecord(t *testing.T) {
	db := mustOpen(t, "")
	defer db.Close()
	r := fullPeerRecord(t)
	v, err := encodePeer(r)
	check(t, err)
	v[10] ^= 1 // inside the node's record signature
	putRaw(t, db, bucketPeers, r.ID[:], v)
	got, ok := db.Peer(r.ID)
	if !ok {
		t.Fatal("record with a bad node lost")
	}
	if got.Node != nil || got.Score != r.Score || got.LastReason != r.LastReason {
		t.Errorf("got %+v", got)
	}
}

func TestBestOutboundPeers(t *testing.T) {
	db := mustOpen(t, "")
	defer db.Close()
	now := time.Unix(1700000000, 0)
	type spec struct {
		name     string
		anchor   bool
		outbound bool
		avg      time.Duration
		reason   string
		score    int32
		banned   bool
		noNode   bool
		ago      time.Duration
	}
	specs := []spec{
		{name: "long clean", outbound: true, avg: 6 * time.Hour, reason: "client quitting", ago: time.Hour},
		{name: "long error", outbound: true, avg: 6 * time.Hour, reason: "network error", ago: time.Hour},
		{name: "short clean", outbound: true, avg: 2 * time.Minute, reason: "", ago: time.Hour},
		{name: "anchor short", anchor: true, outbound: true, avg: 10 * time.Minute, reason: "read timeout", ago: time.Hour},
		{name: "anchor long", anchor: true, outbound: true, avg: 5 * time.Hour, ago: time.Hour},
		{name: "old long clean", outbound: true, avg: 6 * time.Hour, reason: "disconnect requested", ago: 60 * 24 * time.Hour},
		{name: "inbound", outbound: false, avg: 9 * time.Hour, ago: time.Hour},
		{name: "banned", outbound: true, avg: 9 * time.Hour, banned: true, ago: time.Hour},
		{name: "banned anchor", anchor: true, outbound: true, avg: 9 * time.Hour, banned: true},
		{name: "bad reason", outbound: true, avg: 9 * time.Hour, reason: "breach of protocol: bad msg", ago: time.Hour},
		{name: "bad score", outbound: true, avg: 9 * time.Hour, score: -1, ago: time.Hour},
		{name: "no node", outbound: true, avg: 9 * time.Hour, noNode: true, ago: time.Hour},
	}
	names := make(map[enode.ID]string)
	for i, s := range specs {
		n := newTestNode(t, fmt.Sprintf("10.0.2.%d", i+1), 30303)
		r := &PeerRecord{
			ID: n.ID(), Node: n, Anchor: s.anchor, LastOutbound: s.outbound, LastReason: s.reason,
			Score: s.score, Sessions: 2, TotalConnected: 2 * s.avg,
			LastConnected: now.Add(-s.ago), LastDisconnected: now.Add(-s.ago + s.avg),
		}
		if s.banned {
			check(t, db.PutBan(BanRecord{ID: n.ID(), Until: now.Add(time.Hour)}))
		}
		if s.noNode {
			r.Node = nil
		}
		check(t, db.PutPeer(r))
		names[n.ID()] = s.name
	}
	want := []string{"anchor long", "anchor short", "long clean", "long error", "old long clean", "short clean"}
	got := db.BestOutboundPeersAt(now, 100)
	if len(got) != len(want) {
		t.Fatalf("got %d peers, want %d: %v", len(got), len(want), peerNames(got, names))
	}
	for i := range want {
		if names[got[i].ID] != want[i] {
			t.Fatalf("order: got %v, want %v", peerNames(got, names), want)
		}
	}
	if top := db.BestOutboundPeersAt(now, 3); len(top) != 3 || names[top[2].ID] != "long clean" {
		t.Errorf("top 3: %v", peerNames(top, names))
	}
	// Once the ban is over, the banned anchor is back.
	if got := db.BestOutboundPeersAt(now.Add(2*time.Hour), 1); names[got[0].ID] != "banned anchor" {
		t.Errorf("after ban: %v", peerNames(got, names))
	}
	if db.BestOutboundPeers(0) != nil {
		t.Error("n = 0 gave peers")
	}
}

func peerNames(rs []*PeerRecord, names map[enode.ID]string) []string {
	var out []string
	for _, r := range rs {
		out = append(out, names[r.ID])
	}
	return out
}

func TestRestartScore(t *testing.T) {
	now := time.Unix(1700000000, 0)
	base := PeerRecord{Sessions: 1, TotalConnected: time.Hour, LastConnected: now}
	score := func(mod func(*PeerRecord)) float64 {
		r := base
		mod(&r)
		s, ok := RestartScore(&r, now)
		if !ok {
			t.Fatalf("not ok for %+v", r)
		}
		return s
	}
	s0 := score(func(*PeerRecord) {})
	if s := score(func(r *PeerRecord) { r.TotalConnected = 24 * time.Hour }); s <= s0 {
		t.Error("longer sessions do not score higher")
	}
	if s := score(func(r *PeerRecord) { r.LastReason = "network error" }); s >= s0 {
		t.Error("unclean end does not score lower")
	}
	if s := score(func(r *PeerRecord) { r.LastReason = "Client quitting" }); s != s0 {
		t.Error("reason match is case-sensitive")
	}
	if s := score(func(r *PeerRecord) { r.Score = MaxScore }); s <= s0 {
		t.Error("reputation does not count")
	}
	if s := score(func(r *PeerRecord) { r.LastConnected = now.Add(-30 * 24 * time.Hour) }); s >= s0 {
		t.Error("old peers do not score lower")
	}
	for _, reason := range badReasons {
		r := base
		r.LastReason = reason
		if _, ok := RestartScore(&r, now); ok {
			t.Errorf("reason %q accepted", reason)
		}
	}
}

func TestExpirePeers(t *testing.T) {
	db := mustOpen(t, "")
	defer db.Close()
	now := time.Unix(1700000000, 0)
	recs := map[string]*PeerRecord{
		"recent":     {ID: enode.ID{1}, LastConnected: now.Add(-2 * time.Hour), LastDisconnected: now.Add(-time.Hour)},
		"old":        {ID: enode.ID{2}, LastConnected: now.Add(-50 * time.Hour), LastDisconnected: now.Add(-49 * time.Hour)},
		"old anchor": {ID: enode.ID{3}, Anchor: true, LastConnected: now.Add(-50 * time.Hour)},
		"old banned": {ID: enode.ID{4}, LastConnected: now.Add(-50 * time.Hour)},
		"connected":  {ID: enode.ID{5}, LastConnected: now.Add(-30 * time.Hour), LastDisconnected: now.Add(-40 * time.Hour)},
	}
	for _, r := range recs {
		check(t, db.PutPeer(r))
	}
	check(t, db.PutBan(BanRecord{ID: enode.ID{4}, Until: now.Add(time.Hour)}))
	check(t, db.PutBan(BanRecord{ID: enode.ID{2}, Until: now.Add(-time.Hour)})) // over
	putRaw(t, db, bucketPeers, []byte{6}, []byte{0xc0})
	removed, err := db.ExpirePeers(now, 24*time.Hour)
	check(t, err)
	if removed != 3 {
		t.Errorf("removed %d, want 3", removed)
	}
	for name, r := range recs {
		_, ok := db.Peer(r.ID)
		if wantKept := name != "old" && name != "connected"; ok != wantKept {
			t.Errorf("%s: kept = %v, want %v", name, ok, wantKept)
		}
	}
}

// fullPeerRecord returns a record with every field set.
func fullPeerRecord(t testing.TB) *PeerRecord {
	n := newTestNode(t, "10.0.3.1", 30303)
	base := time.Unix(1700000000, 42)
	return &PeerRecord{
		ID:               n.ID(),
		Node:             n.WithHostname("peer.example.org"),
		FirstSeen:        base,
		LastConnected:    base.Add(time.Hour),
		LastDisconnected: base.Add(3 * time.Hour),
		TotalConnected:   5*time.Hour + 7,
		Sessions:         4,
		LastOutbound:     true,
		LastReason:       "client quitting",
		Score:            -321,
		Anchor:           true,
	}
}

func comparePeers(t *testing.T, got, want *PeerRecord) {
	t.Helper()
	g, w := *got, *want
	switch {
	case (g.Node == nil) != (w.Node == nil):
		t.Errorf("Node: got %v, want %v", g.Node, w.Node)
	case g.Node != nil && (g.Node.String() != w.Node.String() || g.Node.Hostname() != w.Node.Hostname()):
		t.Errorf("Node: got %v, want %v", g.Node, w.Node)
	}
	g.Node, w.Node = nil, nil
	times := [][2]time.Time{{g.FirstSeen, w.FirstSeen}, {g.LastConnected, w.LastConnected},
		{g.LastDisconnected, w.LastDisconnected}}
	for _, tt := range times {
		if !tt[0].Equal(tt[1]) {
			t.Errorf("time: got %v, want %v", tt[0], tt[1])
		}
	}
	g.FirstSeen, g.LastConnected, g.LastDisconnected = time.Time{}, time.Time{}, time.Time{}
	w.FirstSeen, w.LastConnected, w.LastDisconnected = time.Time{}, time.Time{}, time.Time{}
	g.storedNode, w.storedNode = nil, nil
	if !reflect.DeepEqual(g, w) {
		t.Errorf("got %+v, want %+v", g, w)
	}
}
