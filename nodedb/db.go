package nodedb

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/enr"
)

// Defaults.
const (
	// DefaultNodeExpiration is the maxAge callers pass to Expire: nodes not
	// seen for a day are dropped (go-ethereum's dbNodeExpiration).
	DefaultNodeExpiration = 24 * time.Hour
	// DefaultExpireInterval is how often callers should run Expire
	// (go-ethereum's dbCleanupCycle).
	DefaultExpireInterval = time.Hour
	// DefaultFlushInterval is the default Config.FlushInterval.
	DefaultFlushInterval = time.Second
	// DefaultMaxBuffered is the default Config.MaxBuffered.
	DefaultMaxBuffered = 1024
	// DefaultOpenTimeout is the default Config.OpenTimeout.
	DefaultOpenTimeout = time.Second
)

// schemaVersion is the version of the key layout and value encodings
// written by this package, stored under meta/"version". It is a variable
// for the migration test only.
var schemaVersion uint64 = 2

var versionKey = []byte("version")

// ErrClosed is returned by the writing methods of a closed DB.
var ErrClosed = errors.New("nodedb: database closed")

// Config holds the settings of OpenConfig. The zero value gives the
// behaviour of Open.
type Config struct {
	// Schemes verifies node records read back from the file. Records
	// under schemes it does not know are refused by UpdateNode. Nil means
	// enode.ValidSchemes; tests that store "null" records use
	// enode.ValidSchemesForTesting.
	Schemes enr.IdentityScheme

	// FlushInterval bounds how long the buffered writes (UpdateNode and
	// the per-IP updates) stay in memory before a later write commits
	// them. Zero means DefaultFlushInterval; a negative value commits
	// every write at once.
	FlushInterval time.Duration

	// MaxBuffered is the number of buffered writes at which the next
	// write commits them all. Zero means DefaultMaxBuffered.
	MaxBuffered int

	// OpenTimeout is how long Open waits for the file lock held by
	// another process before it fails with ErrLocked. Zero means
	// DefaultOpenTimeout.
	OpenTimeout time.Duration
}

func (c Config) withDefaults() Config {
	if c.Schemes == nil {
		c.Schemes = enode.ValidSchemes
	}
	if c.FlushInterval == 0 {
		c.FlushInterval = DefaultFlushInterval
	}
	if c.MaxBuffered <= 0 {
		c.MaxBuffered = DefaultMaxBuffered
	}
	if c.OpenTimeout <= 0 {
		c.OpenTimeout = DefaultOpenTimeout
	}
	return c
}

// DB is the node database and peer store. It is safe for concurrent use and
// starts no goroutines: expiry runs when the caller calls Expire, and
// buffered writes are committed by later writes, Flush, Expire and Close.
type DB struct {
	cfg   Config
	store store
	now   func() time.Time // reads the clock for flush scheduling only

	mu         sync.RWMutex // guards following; held for writing across every commit
	closed     bool
	dirty      map[string]dirtyValue // buffered writes by bucket byte + key
	dirtySince time.Time             // when the oldest buffered write was made
	flushErrAt time.Time             // when a commit of the buffer last failed
	lastExpire time.Time             // when Maintain last ran Expire
}

// dirtyValue is a buffered write: a value, or a deletion if del is set.
type dirtyValue struct {
	val []byte
	del bool
}

// Open opens the database file at path, creating it (mode 0600) if needed,
// with the default Config. The directory must exist. An empty path gives an
// in-memory database that behaves the same but keeps nothing.
//
// Open fails with ErrLocked if another process has the file open (after
// DefaultOpenTimeout), with ErrNewerVersion if a newer version of this
// package wrote it, and with an error naming the path if the directory is
// missing or not writable or the file is not a database.
func Open(path string) (*DB, error) {
	return OpenConfig(path, Config{})
}

// OpenConfig is Open with settings.
//
// Files of an older schema version are migrated; a version for which no
// migration exists (only "no version", that is a file not written by this
// package, today) has all its data deleted and starts empty.
func OpenConfig(path string, cfg Config) (*DB, error) {
	cfg = cfg.withDefaults()
	var (
		s   store
		err error
	)
	if path == "" {
		s = newMemStore()
	} else if s, err = openBolt(path, cfg.OpenTimeout); err != nil {
		return nil, err
	}
	if err := checkSchema(s); err != nil {
		s.close()
		if path != "" {
			err = fmt.Errorf("%w (file %s)", err, path)
		}
		return nil, err
	}
	return &DB{cfg: cfg, store: s, now: time.Now, dirty: make(map[string]dirtyValue)}, nil
}

// migrations[v] upgrades a file of schema version v to v+1 in one
// transaction. Versions without an entry are reset instead. The steps are
// added by init functions next to the code they concern (bans.go: 1 → 2).
var migrations = map[uint64]func(txn) error{}

// checkSchema writes the schema version into a new file and checks or
// upgrades the version of an existing one.
func checkSchema(s store) error {
	var version uint64
	err := s.view(func(tx txn) error {
		if v := tx.get(bucketMeta, versionKey); v != nil {
			var err error
			version, err = decodeUintValue(v, "schema version")
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	switch {
	case version > schemaVersion:
		return fmt.Errorf("%w %d; this program reads version %d", ErrNewerVersion, version, schemaVersion)
	case version == schemaVersion:
		return s.init()
	case version == 0:
		// A new file, or data without a version: not ours to interpret.
		if err := s.reset(); err != nil {
			return err
		}
	default:
		if err := s.init(); err != nil {
			return err
		}
	}
	return s.update(func(tx txn) error {
		for ; version < schemaVersion && version > 0; version++ {
			m := migrations[version]
			if m == nil {
				break
			}
			if err := m(tx); err != nil {
				return fmt.Errorf("nodedb: migrating from schema version %d: %w", version, err)
			}
		}
		if version != schemaVersion {
			for b := range numBuckets {
				if err := clearBucket(tx, b); err != nil {
					return err
				}
			}
		}
		return tx.put(bucketMeta, versionKey, encodeUintValue(schemaVersion))
	})
}

// clearBucket deletes every key of b.
func clearBucket(tx txn, b bucket) error {
	var keys [][]byte
	tx.scan(b, nil, func(k, _ []byte) bool {
		keys = append(keys, append([]byte(nil), k...))
		return true
	})
	for _, k := range keys {
		if err := tx.del(b, k); err != nil {
			return err
		}
	}
	return nil
}

// Close commits the buffered writes and closes the database. Reads on a
// closed DB find nothing and writes fail with ErrClosed. Close may be called
// more than once.
func (db *DB) Close() error {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed {
		return nil
	}
	ferr := db.flushLocked()
	db.closed = true
	db.dirty = nil
	if err := db.store.close(); err != nil {
		return err
	}
	return ferr
}

// Flush commits the buffered writes now.
func (db *DB) Flush() error {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed {
		return ErrClosed
	}
	return db.flushLocked()
}

// flushLocked commits the buffer in one transaction.
func (db *DB) flushLocked() error {
	return db.commitLocked(nil)
}

// commitLocked commits the buffer and then runs fn, in one transaction. The
// buffer is emptied only if the transaction succeeds.
func (db *DB) commitLocked(fn func(txn) error) error {
	if len(db.dirty) == 0 && fn == nil {
		return nil
	}
	err := db.store.update(func(tx txn) error {
		for k, d := range db.dirty {
			b, key := bucket(k[0]), []byte(k[1:])
			var err error
			if d.del {
				err = tx.del(b, key)
			} else {
				err = tx.put(b, key, d.val)
			}
			if err != nil {
				return err
			}
		}
		if fn != nil {
			return fn(tx)
		}
		return nil
	})
	if err != nil {
		if len(db.dirty) > 0 {
			db.flushErrAt = db.now()
		}
		return err
	}
	clear(db.dirty)
	db.dirtySince = time.Time{}
	return nil
}

// writeBuffered buffers a write of v (nil: deletion) to key k of b and
// commits the buffer if it is due. The caller holds mu and must not reuse v.
func (db *DB) writeBuffered(b bucket, k, v []byte) error {
	if db.closed {
		return ErrClosed
	}
	if db.cfg.FlushInterval < 0 {
		return db.commitLocked(func(tx txn) error { return putOrDel(tx, b, k, v) })
	}
	now := db.now()
	if len(db.dirty) >= 16*db.cfg.MaxBuffered {
		// Commits keep failing; don't grow without bound.
		if err := db.flushLocked(); err != nil {
			return fmt.Errorf("nodedb: write buffer full: %w", err)
		}
	}
	if len(db.dirty) == 0 {
		db.dirtySince = now
	}
	db.dirty[dirtyKey(b, k)] = dirtyValue{val: v, del: v == nil}
	due := len(db.dirty) >= db.cfg.MaxBuffered || now.Sub(db.dirtySince) >= db.cfg.FlushInterval
	if due && now.Sub(db.flushErrAt) >= db.cfg.FlushInterval {
		return db.flushLocked()
	}
	return nil
}

func putOrDel(tx txn, b bucket, k, v []byte) error {
	if v == nil {
		return tx.del(b, k)
	}
	return tx.put(b, k, v)
}

func dirtyKey(b bucket, k []byte) string {
	return string(append([]byte{byte(b)}, k...))
}

// getLocked returns the value of key k in b, buffered or stored, copied out
// of the transaction. The caller holds mu (for reading or writing).
func (db *DB) getLocked(b bucket, k []byte) []byte {
	if db.closed {
		return nil
	}
	if d, ok := db.dirty[dirtyKey(b, k)]; ok {
		return d.val
	}
	var v []byte
	db.store.view(func(tx txn) error {
		v = tx.get(b, k)
		if v != nil {
			v = append([]byte(nil), v...)
		}
		return nil
	})
	return v
}

// getInTx is getLocked within a transaction the caller runs.
func (db *DB) getInTx(tx txn, b bucket, k []byte) []byte {
	if d, ok := db.dirty[dirtyKey(b, k)]; ok {
		return d.val
	}
	return tx.get(b, k)
}

// get returns the value of key k in b, buffered or stored.
func (db *DB) get(b bucket, k []byte) []byte {
	db.mu.RLock()
	defer db.mu.RUnlock()
	return db.getLocked(b, k)
}
