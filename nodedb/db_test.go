package nodedb

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"go.uber.org/goleak"

	"github.com/devp2p-go/devp2p/crypto"
	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/enr"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestDBPersistence(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nodes.db")
	db := mustOpen(t, path)
	n := newTestNode(t, "10.0.1.1", 30303)
	ip := n.IPAddr()
	t0 := time.Unix(1700000000, 123456789)
	check(t, db.UpdateNode(n))
	check(t, db.UpdateLastPingReceived(n.ID(), ip, t0))
	check(t, db.UpdateLastPongReceived(n.ID(), ip, t0.Add(time.Second)))
	check(t, db.UpdateFindFails(n.ID(), ip, 3))
	check(t, db.StoreLocalSeq(n.ID(), 77))
	rec := fullPeerRecord(t)
	check(t, db.PutPeer(rec))
	check(t, db.Close())

	if fi, err := os.Stat(path); err != nil {
		t.Fatal(err)
	} else if fi.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v, want 0600", fi.Mode().Perm())
	}

	db = mustOpen(t, path)
	defer db.Close()
	if got := db.Node(n.ID()); got == nil || got.String() != n.String() {
		t.Errorf("Node after reopen = %v, want %v", got, n)
	}
	if got := db.LastPingReceived(n.ID(), ip); !got.Equal(t0) {
		t.Errorf("LastPingReceived = %v, want %v", got, t0)
	}
	if got := db.LastPongReceived(n.ID(), ip); !got.Equal(t0.Add(time.Second)) {
		t.Errorf("LastPongReceived = %v", got)
	}
	if got := db.FindFails(n.ID(), ip); got != 3 {
		t.Errorf("FindFails = %d, want 3", got)
	}
	if got := db.LocalSeq(n.ID()); got != 77 {
		t.Errorf("LocalSeq = %d, want 77", got)
	}
	got, ok := db.Peer(rec.ID)
	if !ok {
		t.Fatal("peer record lost")
	}
	comparePeers(t, got, rec)
}

func TestOpenMissingDir(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope", "nodes.db")
	_, err := Open(path)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("Open in missing dir: err = %v, want error naming %s", err, path)
	}
}

func TestOpenUnwritableDir(t *testing.T) {
	dir := t.TempDir()
	var path string
	if os.Geteuid() == 0 {
		// Root writes anywhere regardless of mode bits: use a path below a
		// regular file instead.
		file := filepath.Join(dir, "file")
		check(t, os.WriteFile(file, nil, 0o600))
		path = filepath.Join(file, "nodes.db")
	} else {
		ro := filepath.Join(dir, "ro")
		check(t, os.Mkdir(ro, 0o500))
		path = filepath.Join(ro, "nodes.db")
	}
	db, err := Open(path)
	if err == nil {
		db.Close()
		t.Fatal("Open succeeded in unwritable location")
	}
	if !strings.Contains(err.Error(), path) || !strings.HasPrefix(err.Error(), "nodedb: ") {
		t.Fatalf("unclear error: %v", err)
	}
	t.Log(err)
}

func TestOpenLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nodes.db")
	db := mustOpen(t, path)
	defer db.Close()
	start := time.Now()
	db2, err := Open(path)
	if err == nil {
		db2.Close()
		t.Fatal("second Open of the same file succeeded")
	}
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), path) {
		t.Fatalf("err = %v, want ErrLocked naming the path", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("locked Open took %v", d)
	}
	// Once closed, the file opens again.
	check(t, db.Close())
	db3, err := OpenConfig(path, Config{OpenTimeout: 100 * time.Millisecond})
	check(t, err)
	check(t, db3.Close())
}

func TestOpenNotADatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nodes.db")
	check(t, os.WriteFile(path, []byte(strings.Repeat("garbage!", 1024)), 0o600))
	_, err := Open(path)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("err = %v, want error naming %s", err, path)
	}
	t.Log(err)
}

func TestOpenNewerVersion(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nodes.db")
	check(t, mustOpen(t, path).Close())
	setVersion(t, path, encodeUintValue(schemaVersion+1))
	before, _ := os.ReadFile(path)
	_, err := Open(path)
	if !errors.Is(err, ErrNewerVersion) {
		t.Fatalf("err = %v, want ErrNewerVersion", err)
	}
	after, _ := os.ReadFile(path)
	if string(before) != string(after) {
		t.Error("Open modified a file of a newer version")
	}
}

func TestOpenResetsUnversioned(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nodes.db")
	db := mustOpen(t, path)
	n := newTestNode(t, "10.0.1.1", 30303)
	check(t, db.UpdateNode(n))
	check(t, db.Close())
	setVersion(t, path, nil) // as if another program wrote the file

	db = mustOpen(t, path)
	defer db.Close()
	if db.Node(n.ID()) != nil {
		t.Error("data of unversioned file kept")
	}
	if v, _ := decodeUintValue(db.get(bucketMeta, versionKey), ""); v != schemaVersion {
		t.Errorf("version after reset = %d", v)
	}
}

func TestOpenMigrates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nodes.db")
	db := mustOpen(t, path)
	check(t, db.StoreLocalSeq(enode.ID{1}, 9))
	check(t, db.Close())

	// Pretend this package is at version 3 and has a step from 1 to 2 only.
	defer func(v uint64, m map[uint64]func(txn) error) { schemaVersion, migrations = v, m }(schemaVersion, migrations)
	migrations = make(map[uint64]func(txn) error)
	schemaVersion = 3
	migrations[1] = func(tx txn) error { return tx.put(bucketLocal, []byte("migrated"), encodeUintValue(1)) }
	db = mustOpen(t, path)
	if db.LocalSeq(enode.ID{1}) != 0 {
		t.Error("data kept although no migration from version 2 exists")
	}
	if v, _ := decodeUintValue(db.get(bucketMeta, versionKey), ""); v != 3 {
		t.Errorf("version %d after reset, want 3", v)
	}
	check(t, db.Close())

	// With a step from 2 to 3 as well, data is migrated.
	setVersion(t, path, encodeUintValue(1))
	db = mustOpen(t, path)
	check(t, db.StoreLocalSeq(enode.ID{1}, 9))
	check(t, db.Close())
	setVersion(t, path, encodeUintValue(1))
	migrations[2] = func(tx txn) error { return nil }
	db = mustOpen(t, path)
	defer db.Close()
	if db.LocalSeq(enode.ID{1}) != 9 || db.get(bucketLocal, []byte("migrated")) == nil {
		t.Error("migration lost data or did not run")
	}
}

func TestOpenCorruptVersion(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nodes.db")
	check(t, mustOpen(t, path).Close())
	setVersion(t, path, []byte{0xff})
	if _, err := Open(path); err == nil || !errors.Is(err, errCorrupt) {
		t.Fatalf("err = %v, want corrupt version error", err)
	}
}

func TestClosedDB(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open func() *DB) {
		db := open()
		n := newTestNode(t, "10.0.1.1", 30303)
		check(t, db.UpdateNode(n))
		check(t, db.Close())
		check(t, db.Close()) // idempotent
		if db.Node(n.ID()) != nil || db.Peers() != nil || db.QuerySeeds(5, time.Hour) != nil {
			t.Error("closed DB returned data")
		}
		for name, err := range map[string]error{
			"UpdateNode": db.UpdateNode(n),
			"UpdatePong": db.UpdateLastPongReceived(n.ID(), n.IPAddr(), time.Now()),
			"PutPeer":    db.PutPeer(&PeerRecord{ID: n.ID()}),
			"DeleteNode": db.DeleteNode(n.ID()),
			"LocalSeq":   db.StoreLocalSeq(n.ID(), 1),
			"Flush":      db.Flush(),
		} {
			if !errors.Is(err, ErrClosed) {
				t.Errorf("%s after Close: err = %v, want ErrClosed", name, err)
			}
		}
		if _, err := db.Expire(time.Now(), time.Hour); !errors.Is(err, ErrClosed) {
			t.Errorf("Expire after Close: %v", err)
		}
	})
}

func TestWriteBuffering(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open func() *DB) {
		db := open()
		defer db.Close()
		var now time.Time
		db.now = func() time.Time { return now }
		db.cfg.FlushInterval, db.cfg.MaxBuffered = time.Second, 3
		id := enode.HexID(strings.Repeat("11", 32))
		ip := netip.MustParseAddr("10.0.0.1")
		t0 := time.Unix(1700000000, 0)

		now = t0
		check(t, db.UpdateLastPongReceived(id, ip, t0))
		if !db.LastPongReceived(id, ip).Equal(t0) {
			t.Fatal("buffered value not visible")
		}
		if stored(db, bucketNodeIP, ipKey(id, ip)) {
			t.Fatal("write committed at once")
		}
		now = t0.Add(time.Second) // interval over: the next write commits
		check(t, db.UpdateFindFails(id, ip, 1))
		if !stored(db, bucketNodeIP, ipKey(id, ip)) || len(db.dirty) != 0 {
			t.Fatal("write not committed after FlushInterval")
		}
		// MaxBuffered writes commit too.
		for i := range 3 {
			check(t, db.UpdateFindFails(id, netip.AddrFrom4([4]byte{10, 0, 1, byte(i)}), i))
		}
		if len(db.dirty) != 0 {
			t.Fatalf("%d writes buffered after MaxBuffered", len(db.dirty))
		}
		check(t, db.UpdateLastPingReceived(id, ip, t0))
		check(t, db.Flush())
		if len(db.dirty) != 0 || !db.LastPingReceived(id, ip).Equal(t0) || db.FindFails(id, ip) != 1 {
			t.Fatal("Flush lost data")
		}
	})
}

func TestWriteThrough(t *testing.T) {
	db, err := OpenConfig("", Config{FlushInterval: -1})
	check(t, err)
	defer db.Close()
	n := newTestNode(t, "10.0.1.1", 30303)
	check(t, db.UpdateNode(n))
	if !stored(db, bucketNodes, n.ID().Bytes()) {
		t.Fatal("write not committed with negative FlushInterval")
	}
}

func TestMemStoreRollback(t *testing.T) {
	s := newMemStore()
	check(t, s.update(func(tx txn) error { return tx.put(bucketNodes, []byte("a"), []byte("1")) }))
	boom := errors.New("boom")
	err := s.update(func(tx txn) error {
		tx.put(bucketNodes, []byte("a"), []byte("2"))
		tx.put(bucketNodes, []byte("b"), []byte("3"))
		tx.del(bucketNodes, []byte("a"))
		return boom
	})
	if err != boom {
		t.Fatal(err)
	}
	s.view(func(tx txn) error {
		if v := tx.get(bucketNodes, []byte("a")); string(v) != "1" {
			t.Errorf("a = %q after rollback", v)
		}
		if v := tx.get(bucketNodes, []byte("b")); v != nil {
			t.Errorf("b = %q after rollback", v)
		}
		var keys []string
		tx.scan(bucketNodes, nil, func(k, _ []byte) bool { keys = append(keys, string(k)); return true })
		if strings.Join(keys, ",") != "a" {
			t.Errorf("keys after rollback: %v", keys)
		}
		if tx.put(bucketNodes, []byte("c"), nil) != errReadOnly {
			t.Error("put in view allowed")
		}
		return nil
	})
}

// Code below here is the framework for the tests above and in the other
// test files.

// forEachBackend runs fn with an in-memory and an on-disk DB.
func forEachBackend(t *testing.T, fn func(t *testing.T, open func() *DB)) {
	t.Run("memory", func(t *testing.T) {
		fn(t, func() *DB { return mustOpen(t, "") })
	})
	t.Run("disk", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "nodes.db")
		fn(t, func() *DB { return mustOpen(t, path) })
	})
}

func mustOpen(t testing.TB, path string) *DB {
	t.Helper()
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func check(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// newTestNode returns a node with a fresh key and a signed "v4" record.
func newTestNode(t testing.TB, ip string, port int) *enode.Node {
	t.Helper()
	key, err := crypto.GenerateKey(nil)
	check(t, err)
	var r enr.Record
	r.Set(enr.IP(netip.MustParseAddr(ip)))
	r.Set(enr.UDP(port))
	r.Set(enr.TCP(port))
	r.SetSeq(5)
	check(t, enode.SignV4(&r, key))
	n, err := enode.New(enode.ValidSchemes, &r)
	check(t, err)
	return n
}

// stored reports whether key k of b is committed to the store.
func stored(db *DB, b bucket, k []byte) (ok bool) {
	db.store.view(func(tx txn) error {
		ok = tx.get(b, k) != nil
		return nil
	})
	return ok
}

// putRaw commits a raw value, bypassing encoding.
func putRaw(t testing.TB, db *DB, b bucket, k, v []byte) {
	t.Helper()
	check(t, db.Flush())
	check(t, db.store.update(func(tx txn) error { return tx.put(b, k, v) }))
}

// setVersion rewrites meta/"version" of a closed file; nil deletes it.
func setVersion(t *testing.T, path string, v []byte) {
	t.Helper()
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	check(t, err)
	defer bdb.Close()
	check(t, bdb.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketNames[bucketMeta])
		if v == nil {
			return b.Delete(versionKey)
		}
		return b.Put(versionKey, v)
	}))
}
