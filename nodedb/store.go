package nodedb

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// bucket names one of the key spaces of the file.
type bucket uint8

const (
	bucketMeta   bucket = iota // "version" → [schema version]
	bucketNodes                // <id> → node value
	bucketNodeIP               // <id><ip16> → per-IP entry
	bucketLocal                // <id> → [local record seq]
	bucketPeers                // <id> → peer value
	bucketBans                 // <id> or <ip16> → ban value
	numBuckets
)

// bucketNames are the bbolt bucket names.
var bucketNames = [numBuckets][]byte{
	bucketMeta:   []byte("meta"),
	bucketNodes:  []byte("nodes"),
	bucketNodeIP: []byte("nodeip"),
	bucketLocal:  []byte("local"),
	bucketPeers:  []byte("peers"),
	bucketBans:   []byte("bans"),
}

// store is the storage engine under DB: bbolt on disk, or memStore. Both
// provide serializable transactions; update rolls back if fn fails.
type store interface {
	view(fn func(txn) error) error
	update(fn func(txn) error) error
	// init creates the buckets that do not exist yet.
	init() error
	// reset deletes every bucket and creates them empty; it is used when
	// the schema version is too old to migrate.
	reset() error
	close() error
}

// txn is a transaction. Slices returned by get and passed to scan are valid
// until the transaction ends and must not be modified. put may keep k and v
// until then; callers pass slices they do not reuse.
type txn interface {
	get(b bucket, k []byte) []byte
	put(b bucket, k, v []byte) error
	del(b bucket, k []byte) error
	// scan calls fn for the keys ≥ start in order while fn returns true.
	// fn must not modify the bucket.
	scan(b bucket, start []byte, fn func(k, v []byte) bool)
	// isEmpty reports whether the bucket holds no key.
	isEmpty(b bucket) bool
}

// scanPrefix calls fn for the keys of b starting with prefix.
func scanPrefix(tx txn, b bucket, prefix []byte, fn func(k, v []byte) bool) {
	tx.scan(b, prefix, func(k, v []byte) bool {
		return bytes.HasPrefix(k, prefix) && fn(k, v)
	})
}

// boltStore is the on-disk store.
type boltStore struct {
	db *bolt.DB
}

// Open errors.
var (
	// ErrLocked is returned by Open when another process (or another DB in
	// this process) holds the file open.
	ErrLocked = errors.New("nodedb: database file is locked by another process")
	// ErrNewerVersion is returned by Open for a file written by a newer
	// version of this package.
	ErrNewerVersion = errors.New("nodedb: database file has a newer schema version")
)

// openBolt opens or creates the bbolt file at path.
func openBolt(path string, timeout time.Duration) (*boltStore, error) {
	dir := filepath.Dir(path)
	if fi, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("nodedb: can't open %s: directory %s: %w", path, dir, err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("nodedb: can't open %s: %s is not a directory", path, dir)
	}
	opts := &bolt.Options{
		Timeout: timeout,
		// The freelist is rebuilt by a scan on open; not writing it makes
		// every commit cheaper, which matters more for this small file.
		NoFreelistSync: true,
		FreelistType:   bolt.FreelistMapType,
	}
	db, err := bolt.Open(path, 0o600, opts)
	switch {
	case errors.Is(err, bolterrors.ErrTimeout):
		return nil, fmt.Errorf("%w: %s (gave up after %v)", ErrLocked, path, timeout)
	case errors.Is(err, bolterrors.ErrInvalid), errors.Is(err, bolterrors.ErrVersionMismatch),
		errors.Is(err, bolterrors.ErrChecksum):
		return nil, fmt.Errorf("nodedb: %s is not a valid database file: %w", path, err)
	case err != nil:
		return nil, fmt.Errorf("nodedb: can't open %s: %w", path, err)
	}
	return &boltStore{db: db}, nil
}

func createBuckets(tx *bolt.Tx) error {
	for _, name := range bucketNames {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	return nil
}

func (s *boltStore) init() error {
	return s.db.Update(createBuckets)
}

func (s *boltStore) view(fn func(txn) error) error {
	return s.db.View(func(tx *bolt.Tx) error { return fn(boltTxn{tx}) })
}

func (s *boltStore) update(fn func(txn) error) error {
	return s.db.Update(func(tx *bolt.Tx) error { return fn(boltTxn{tx}) })
}

func (s *boltStore) reset() error {
	return s.db.Update(func(tx *bolt.Tx) error {
		// Remove every top-level bucket, including ones we do not know.
		var names [][]byte
		err := tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			names = append(names, bytes.Clone(name))
			return nil
		})
		if err != nil {
			return err
		}
		for _, name := range names {
			if err := tx.DeleteBucket(name); err != nil {
				return err
			}
		}
		return createBuckets(tx)
	})
}

func (s *boltStore) close() error {
	return s.db.Close()
}

// boltTxn adapts a bbolt transaction.
type boltTxn struct {
	tx *bolt.Tx
}

func (t boltTxn) bucket(b bucket) *bolt.Bucket {
	return t.tx.Bucket(bucketNames[b])
}

// A missing bucket (in a file that is not initialized yet) reads as empty.

func (t boltTxn) get(b bucket, k []byte) []byte {
	if bk := t.bucket(b); bk != nil {
		return bk.Get(k)
	}
	return nil
}

func (t boltTxn) put(b bucket, k, v []byte) error {
	return t.bucket(b).Put(k, v)
}

func (t boltTxn) del(b bucket, k []byte) error {
	return t.bucket(b).Delete(k)
}

func (t boltTxn) scan(b bucket, start []byte, fn func(k, v []byte) bool) {
	bk := t.bucket(b)
	if bk == nil {
		return
	}
	c := bk.Cursor()
	var k, v []byte
	if start == nil {
		k, v = c.First()
	} else {
		k, v = c.Seek(start)
	}
	for ; k != nil; k, v = c.Next() {
		if !fn(k, v) {
			return
		}
	}
}

func (t boltTxn) isEmpty(b bucket) bool {
	bk := t.bucket(b)
	if bk == nil {
		return true
	}
	k, _ := bk.Cursor().First()
	return k == nil
}
