package nodedb

import (
	"encoding/hex"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/devp2p-go/devp2p/crypto"
	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/enr"
)

func TestNodeRoundTrip(t *testing.T) {
	key, err := crypto.GenerateKey(nil)
	check(t, err)
	pubhex := hex.EncodeToString(key.Public()[:])
	var both enr.Record
	both.Set(enr.IPv4(netip.MustParseAddr("192.168.1.1")))
	both.Set(enr.IPv6(netip.MustParseAddr("2001:db8::1")))
	both.Set(enr.UDP(1000))
	both.Set(enr.UDP6(2000))
	both.Set(enr.WithEntry("eth", "anything"))
	check(t, enode.SignV4(&both, key))
	bothNode, err := enode.New(enode.ValidSchemes, &both)
	check(t, err)

	nodes := map[string]*enode.Node{
		"v4 IPv4":       newTestNode(t, "10.0.1.1", 30303),
		"v4 IPv6":       newTestNode(t, "2001:db8::7", 30303),
		"v4 both IPs":   bothNode,
		"url":           enode.MustParseV4("enode://" + pubhex + "@10.0.0.1:30303?discport=30301"),
		"url hostname":  enode.MustParseV4("enode://" + pubhex + "@boot.example.org:30303"),
		"url IPv6":      enode.NewV4(key.Public(), netip.MustParseAddr("2001:db8::2"), 1, 2),
		"url no adress": enode.MustParseV4("enode://" + pubhex),
	}
	forEachBackend(t, func(t *testing.T, open func() *DB) {
		db := open()
		defer db.Close()
		for name, n := range nodes {
			check(t, db.UpdateNode(n))
			sameNode(t, name+" (buffered)", db.Node(n.ID()), n)
			check(t, db.Flush())
			sameNode(t, name+" (stored)", db.Node(n.ID()), n)
		}
		// A newer record replaces the old one.
		r := bothNode.Record()
		r.Set(enr.TCP(9))
		check(t, enode.SignV4(r, key))
		newer, err := enode.New(enode.ValidSchemes, r)
		check(t, err)
		check(t, db.UpdateNode(newer))
		sameNode(t, "replaced", db.Node(newer.ID()), newer)
		if db.Node(enode.ID{1}) != nil {
			t.Error("unknown node found")
		}
	})
}

func sameNode(t *testing.T, name string, got, want *enode.Node) {
	t.Helper()
	switch {
	case got == nil:
		t.Errorf("%s: node not found", name)
	case got.String() != want.String() || got.URLv4() != want.URLv4():
		t.Errorf("%s: got %v, want %v", name, got, want)
	case got.ID() != want.ID() || got.Seq() != want.Seq() || got.IPAddr() != want.IPAddr() ||
		got.UDP() != want.UDP() || got.TCP() != want.TCP() || got.Hostname() != want.Hostname():
		t.Errorf("%s: fields differ: got %s %d %v %d %d %q", name, got.ID(), got.Seq(), got.IPAddr(), got.UDP(), got.TCP(), got.Hostname())
	case (got.Pubkey() == nil) != (want.Pubkey() == nil) || (got.Pubkey() != nil && *got.Pubkey() != *want.Pubkey()):
		t.Errorf("%s: public key differs", name)
	}
}

func TestUpdateNodeUnknownScheme(t *testing.T) {
	var r enr.Record
	r.Set(enr.IP(netip.MustParseAddr("10.0.0.1")))
	r.Set(enr.UDP(30303))
	n := enode.SignNull(&r, enode.ID{1, 2, 3})

	db := mustOpen(t, "")
	defer db.Close()
	if err := db.UpdateNode(n); !errors.Is(err, ErrUnknownScheme) {
		t.Fatalf("UpdateNode(null scheme) err = %v, want ErrUnknownScheme", err)
	}
	if err := db.UpdateNode(nil); err == nil {
		t.Fatal("UpdateNode(nil) succeeded")
	}

	tdb, err := OpenConfig("", Config{Schemes: enode.ValidSchemesForTesting})
	check(t, err)
	defer tdb.Close()
	check(t, tdb.UpdateNode(n))
	sameNode(t, "null scheme", tdb.Node(n.ID()), n)
}

func TestNodeTampered(t *testing.T) {
	db := mustOpen(t, "")
	defer db.Close()
	n := newTestNode(t, "10.0.1.1", 30303)
	other := newTestNode(t, "10.0.1.2", 30303)
	v, err := appendNode(nil, n, 0)
	check(t, err)

	bad := append([]byte(nil), v...)
	bad[8] ^= 1 // inside the signature
	putRaw(t, db, bucketNodes, n.ID().Bytes(), bad)
	if db.Node(n.ID()) != nil {
		t.Error("node with broken signature returned")
	}
	putRaw(t, db, bucketNodes, other.ID().Bytes(), v)
	if db.Node(other.ID()) != nil {
		t.Error("node stored under another ID returned")
	}
}

func TestPerIPRoundTrip(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open func() *DB) {
		db := open()
		defer db.Close()
		id := enode.ID{1}
		ip4 := netip.MustParseAddr("10.0.0.1")
		mapped := netip.MustParseAddr("::ffff:10.0.0.1")
		ip6 := netip.MustParseAddr("2001:db8::1")
		t0 := time.Unix(1700000000, 987654321)

		if !db.LastPingReceived(id, ip4).IsZero() || !db.LastPongReceived(id, ip4).IsZero() || db.FindFails(id, ip4) != 0 {
			t.Fatal("unknown entry not zero")
		}
		check(t, db.UpdateLastPingReceived(id, ip4, t0))
		check(t, db.UpdateLastPongReceived(id, ip4, t0.Add(time.Minute)))
		check(t, db.UpdateFindFails(id, ip4, 4))
		check(t, db.UpdateFindFails(id, ip6, -3))
		for _, flush := range []bool{false, true} {
			if flush {
				check(t, db.Flush())
			}
			if got := db.LastPingReceived(id, mapped); !got.Equal(t0) {
				t.Errorf("ping = %v, want %v (IPv4-mapped lookup)", got, t0)
			}
			if got := db.LastPongReceived(id, ip4); !got.Equal(t0.Add(time.Minute)) {
				t.Errorf("pong = %v", got)
			}
			if db.FindFails(id, ip4) != 4 || db.FindFails(id, ip6) != 0 {
				t.Errorf("fails = %d, %d", db.FindFails(id, ip4), db.FindFails(id, ip6))
			}
			if !db.LastPongReceived(id, ip6).IsZero() || !db.LastPongReceived(enode.ID{2}, ip4).IsZero() {
				t.Error("entries leak between IPs or IDs")
			}
		}
		// Zero time clears.
		check(t, db.UpdateLastPingReceived(id, ip4, time.Time{}))
		if !db.LastPingReceived(id, ip4).IsZero() {
			t.Error("zero time not kept")
		}
		if err := db.UpdateLastPongReceived(id, netip.Addr{}, t0); !errors.Is(err, errInvalidIP) {
			t.Errorf("invalid IP: err = %v", err)
		}
		if !db.LastPongReceived(id, netip.Addr{}).IsZero() {
			t.Error("invalid IP read not zero")
		}
	})
}

func TestLocalSeq(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open func() *DB) {
		db := open()
		defer db.Close()
		id := enode.ID{9}
		if db.LocalSeq(id) != 0 {
			t.Fatal("unknown seq not 0")
		}
		for _, seq := range []uint64{1, 1 << 40, ^uint64(0)} {
			check(t, db.StoreLocalSeq(id, seq))
			if !stored(db, bucketLocal, id[:]) {
				t.Fatal("StoreLocalSeq not committed")
			}
			if got := db.LocalSeq(id); got != seq {
				t.Errorf("LocalSeq = %d, want %d", got, seq)
			}
		}
	})
}

func TestDeleteNode(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open func() *DB) {
		db := open()
		defer db.Close()
		a, b := newTestNode(t, "10.0.1.1", 1), newTestNode(t, "10.0.1.2", 2)
		now := time.Unix(1700000000, 0)
		for _, n := range []*enode.Node{a, b} {
			check(t, db.UpdateNode(n))
			check(t, db.UpdateLastPongReceived(n.ID(), n.IPAddr(), now))
		}
		check(t, db.Flush())
		check(t, db.UpdateFindFails(a.ID(), netip.MustParseAddr("10.9.9.9"), 2)) // buffered
		check(t, db.StoreLocalSeq(a.ID(), 5))
		check(t, db.DeleteNode(a.ID()))
		check(t, db.Flush())
		if db.Node(a.ID()) != nil || !db.LastPongReceived(a.ID(), a.IPAddr()).IsZero() ||
			db.FindFails(a.ID(), netip.MustParseAddr("10.9.9.9")) != 0 {
			t.Error("deleted node's data still there")
		}
		if db.LocalSeq(a.ID()) != 5 {
			t.Error("DeleteNode removed the local seq")
		}
		if db.Node(b.ID()) == nil || db.LastPongReceived(b.ID(), b.IPAddr()).IsZero() {
			t.Error("other node's data deleted")
		}
	})
}

func TestCorruptValuesSkipped(t *testing.T) {
	n := newTestNode(t, "10.0.1.1", 30303)
	goodNode, err := appendNode(nil, n, 0)
	check(t, err)
	goodPeer, err := encodePeer(fullPeerRecord(t))
	check(t, err)
	goodIP := encodeIPEntry(ipEntry{pong: time.Now(), fails: 1})
	goodBan := encodeBan(&BanRecord{Until: time.Now().Add(time.Hour), Reason: "reason", Auto: true})
	garbage := [][]byte{{}, {0x00}, {0xc0}, {0xff, 0xff}, {0xc3, 0x80, 0x80}}
	for _, v := range [][]byte{goodNode, goodPeer, goodIP, goodBan} {
		for i := range len(v) - 1 {
			garbage = append(garbage, v[:i]) // truncations
		}
		garbage = append(garbage, append(append([]byte(nil), v...), 0x01)) // trailing byte
	}
	forEachBackend(t, func(t *testing.T, open func() *DB) {
		db := open()
		defer db.Close()
		now := time.Now()
		idOf := func(i int) enode.ID { return enode.ID{byte(i), byte(i >> 8), 0xee} }
		putGarbage := func() {
			check(t, db.Flush())
			check(t, db.store.update(func(tx txn) error {
				for i, g := range garbage {
					id := idOf(i)
					tx.put(bucketNodes, id[:], g)
					tx.put(bucketNodeIP, ipKey(id, n.IPAddr()), g)
					tx.put(bucketLocal, id[:], g)
					tx.put(bucketPeers, id[:], g)
					tx.put(bucketBans, id[:], g)
					ip := ipBanKey(netip.AddrFrom4([4]byte{10, 9, byte(i), byte(i >> 8)}))
					tx.put(bucketBans, ip, g)
				}
				return nil
			}))
		}
		putGarbage()
		for i, g := range garbage {
			id := idOf(i)
			if db.Node(id) != nil || !db.LastPongReceived(id, n.IPAddr()).IsZero() ||
				db.FindFails(id, n.IPAddr()) != 0 || db.LocalSeq(id) != 0 {
				t.Errorf("garbage %x read as data", g)
			}
			if _, ok := db.Peer(id); ok {
				t.Errorf("garbage %x read as peer", g)
			}
			// Updates overwrite garbage.
			check(t, db.UpdateFindFails(id, n.IPAddr(), 2))
			if db.FindFails(id, n.IPAddr()) != 2 {
				t.Error("update over garbage failed")
			}
		}
		putGarbage()
		// Keys of the wrong length.
		putRaw(t, db, bucketNodes, []byte("short"), goodNode)
		putRaw(t, db, bucketNodeIP, []byte("short"), goodIP)
		putRaw(t, db, bucketPeers, []byte("short"), goodPeer)
		putRaw(t, db, bucketBans, []byte("short"), goodBan)
		if b := db.BansAt(now); len(b) != 0 {
			t.Errorf("garbage bans listed: %v", b)
		}

		if len(db.Peers()) != 0 || len(db.BestOutboundPeersAt(now, 10)) != 0 {
			t.Error("garbage peers listed")
		}
		if s := db.QuerySeedsAt(now, 10, time.Hour); len(s) != 0 {
			t.Errorf("garbage seeds: %v", s)
		}
		removed, err := db.Expire(now, time.Hour)
		check(t, err)
		if removed != len(garbage)+1 {
			t.Errorf("Expire removed %d corrupt nodes, want %d", removed, len(garbage)+1)
		}
		if _, err := db.ExpirePeers(now, time.Hour); err != nil {
			t.Fatal(err)
		}
		for b := range numBuckets {
			db.store.view(func(tx txn) error {
				if b != bucketMeta && b != bucketLocal && !tx.isEmpty(b) {
					t.Errorf("bucket %s not empty after expiry", bucketNames[b])
				}
				return nil
			})
		}
	})
}
