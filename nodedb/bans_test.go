package nodedb

import (
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/rlp"
)

func sameBans(t *testing.T, got, want []BanRecord) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d bans %+v, want %d %+v", len(got), got, len(want), want)
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.ID != w.ID || g.IP != w.IP || !g.Until.Equal(w.Until) || g.Reason != w.Reason || g.Auto != w.Auto {
			t.Errorf("ban %d: got %+v, want %+v", i, g, w)
		}
	}
}

func TestBanRoundTrip(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open func() *DB) {
		db := open()
		now := time.Unix(1700000000, 0)
		until := now.Add(time.Hour)
		v6 := netip.MustParseAddr("2001:db8::1")
		check(t, db.PutBan(BanRecord{ID: enode.ID{2}, Until: until, Reason: "operator"}))
		check(t, db.PutBan(BanRecord{IP: netip.MustParseAddr("::ffff:10.0.0.7"), Until: until.Add(time.Second), Reason: "policy: mac", Auto: true}))
		check(t, db.PutBan(BanRecord{ID: enode.ID{1}, IP: v6, Until: until, Reason: "both"}))
		check(t, db.PutBan(BanRecord{ID: enode.ID{3}, Until: now, Reason: "ends now"}))
		if err := db.PutBan(BanRecord{Until: until}); err == nil {
			t.Error("ban without key accepted")
		}
		want := []BanRecord{
			{ID: enode.ID{1}, Until: until, Reason: "both"},
			{ID: enode.ID{2}, Until: until, Reason: "operator"},
			{IP: netip.MustParseAddr("10.0.0.7"), Until: until.Add(time.Second), Reason: "policy: mac", Auto: true},
			{IP: v6, Until: until, Reason: "both"},
		}
		sameBans(t, db.BansAt(now), want)
		check(t, db.Close())

		// Kept across a reopen (the memory backend starts empty).
		db = open()
		defer db.Close()
		if len(db.BansAt(now)) == 0 {
			return // memory
		}
		sameBans(t, db.BansAt(now), want)

		// A later PutBan replaces; DeleteBan removes by ID and by IP.
		check(t, db.PutBan(BanRecord{ID: enode.ID{2}, Until: until.Add(time.Hour), Reason: "longer"}))
		check(t, db.DeleteBan(enode.ID{1}, netip.MustParseAddr("10.0.0.7")))
		check(t, db.DeleteBan(enode.ID{}, netip.MustParseAddr("::ffff:10.0.0.8"))) // none: fine
		sameBans(t, db.BansAt(now), []BanRecord{
			{ID: enode.ID{2}, Until: until.Add(time.Hour), Reason: "longer"},
			{IP: v6, Until: until, Reason: "both"},
		})
		check(t, db.DeleteBan(enode.ID{}, v6))
		sameBans(t, db.BansAt(now.Add(90*time.Minute)), []BanRecord{
			{ID: enode.ID{2}, Until: until.Add(time.Hour), Reason: "longer"},
		})
		if len(db.BansAt(until.Add(time.Hour))) != 0 {
			t.Error("ban listed at its end")
		}
	})
}

func TestBanExpiry(t *testing.T) {
	db := mustOpen(t, "")
	defer db.Close()
	t0 := time.Unix(1700000000, 0)
	check(t, db.PutBan(BanRecord{ID: enode.ID{1}, Until: t0.Add(time.Minute)}))
	check(t, db.PutBan(BanRecord{IP: netip.MustParseAddr("10.0.0.1"), Until: t0.Add(2 * DefaultExpireInterval)}))
	countStored := func() (n int) {
		db.store.view(func(tx txn) error {
			tx.scan(bucketBans, nil, func(_, _ []byte) bool { n++; return true })
			return nil
		})
		return n
	}
	// Maintain's first call starts its clock; the expired ban is skipped
	// by readers but stays stored until the hourly expiry.
	if _, err := db.Maintain(t0); err != nil {
		t.Fatal(err)
	}
	if len(db.BansAt(t0.Add(time.Hour))) != 1 || countStored() != 2 {
		t.Fatalf("before expiry: %d listed, %d stored", len(db.BansAt(t0.Add(time.Hour))), countStored())
	}
	if _, err := db.Maintain(t0.Add(DefaultExpireInterval)); err != nil {
		t.Fatal(err)
	}
	if n := countStored(); n != 1 {
		t.Fatalf("%d bans stored after Maintain's expiry, want 1", n)
	}
	if _, err := db.Expire(t0.Add(2*DefaultExpireInterval), DefaultNodeExpiration); err != nil {
		t.Fatal(err)
	}
	if n := countStored(); n != 0 {
		t.Fatalf("%d bans stored after the last one ended, want 0", n)
	}
}

// A file of schema version 1 kept bans of IDs in the peer value; opening it
// moves them into the bans bucket and zeroes the old element.
func TestOpenMigratesBans(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nodes.db")
	db := mustOpen(t, path)
	rec := fullPeerRecord(t)
	until := time.Unix(1700000000, 77).Add(1000 * 24 * time.Hour)
	plain := &PeerRecord{ID: enode.ID{9}, Sessions: 1}
	putRaw(t, db, bucketPeers, rec.ID[:], setListElem(t, mustEncodePeer(t, rec), peerBanElem, encodeTime(until)))
	putRaw(t, db, bucketPeers, plain.ID[:], mustEncodePeer(t, plain))
	putRaw(t, db, bucketPeers, []byte{8}, []byte{0xc1, 0x80}) // garbage stays garbage
	check(t, db.Close())
	setVersion(t, path, encodeUintValue(1))

	db = mustOpen(t, path)
	defer db.Close()
	sameBans(t, db.BansAt(until.Add(-time.Hour)), []BanRecord{{ID: rec.ID, Until: until}})
	got, ok := db.Peer(rec.ID)
	if !ok {
		t.Fatal("migrated peer record lost")
	}
	comparePeers(t, got, rec)
	if u, _, ok := takePeerBan(db.get(bucketPeers, rec.ID[:])); !ok || !u.IsZero() {
		t.Errorf("old ban element not zeroed (%v, %v)", u, ok)
	}
	if _, ok := db.Peer(plain.ID); !ok {
		t.Error("peer without ban lost")
	}
	if v, _ := decodeUintValue(db.get(bucketMeta, versionKey), ""); v != schemaVersion {
		t.Errorf("version %d after migration, want %d", v, schemaVersion)
	}
}

// setListElem returns the RLP list v with its element i replaced by the
// integer x.
func setListElem(t *testing.T, v []byte, i int, x uint64) []byte {
	t.Helper()
	content, _, err := rlp.SplitList(v)
	check(t, err)
	var out []byte
	for j := 0; len(content) > 0; j++ {
		_, _, rest, err := rlp.Split(content)
		check(t, err)
		if j == i {
			out = rlp.AppendUint64(out, x)
		} else {
			out = append(out, content[:len(content)-len(rest)]...)
		}
		content = rest
	}
	return append(rlp.AppendListHeader(nil, len(out)), out...)
}
