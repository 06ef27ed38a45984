package nodedb

import (
	"bytes"
	"errors"
	"slices"
	"sync"
)

var errStoreClosed = errors.New("nodedb: store closed")

// memStore is the in-memory store used when Open is given no path. Like
// bbolt it has one writer at a time, readers in parallel, and rollback of a
// failed update.
type memStore struct {
	mu      sync.RWMutex // guards following
	buckets [numBuckets]*memBucket
	closed  bool
}

// memBucket holds the keys in sorted order and the values by key.
type memBucket struct {
	keys [][]byte
	vals map[string][]byte
}

func newMemStore() *memStore {
	s := new(memStore)
	s.resetLocked()
	return s
}

func (s *memStore) resetLocked() {
	for i := range s.buckets {
		s.buckets[i] = &memBucket{vals: make(map[string][]byte)}
	}
}

func (s *memStore) init() error { return nil }

func (s *memStore) view(fn func(txn) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return errStoreClosed
	}
	return fn(&memTxn{s: s})
}

func (s *memStore) update(fn func(txn) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errStoreClosed
	}
	t := &memTxn{s: s, writable: true}
	if err := fn(t); err != nil {
		t.rollback()
		return err
	}
	return nil
}

func (s *memStore) reset() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resetLocked()
	return nil
}

func (s *memStore) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.buckets = [numBuckets]*memBucket{}
	return nil
}

// memTxn is a transaction on a memStore. A writable one records the previous
// value of every key it changes, so that it can be rolled back.
type memTxn struct {
	s        *memStore
	writable bool
	undo     []memUndo
}

type memUndo struct {
	b       bucket
	k, v    []byte
	existed bool
}

var errReadOnly = errors.New("nodedb: write in read-only transaction")

func (t *memTxn) get(b bucket, k []byte) []byte {
	return t.s.buckets[b].vals[string(k)]
}

func (t *memTxn) put(b bucket, k, v []byte) error {
	if !t.writable {
		return errReadOnly
	}
	mb := t.s.buckets[b]
	old, existed := mb.vals[string(k)]
	t.undo = append(t.undo, memUndo{b, bytes.Clone(k), old, existed})
	mb.set(k, bytes.Clone(v))
	return nil
}

func (t *memTxn) del(b bucket, k []byte) error {
	if !t.writable {
		return errReadOnly
	}
	mb := t.s.buckets[b]
	if old, existed := mb.vals[string(k)]; existed {
		t.undo = append(t.undo, memUndo{b, bytes.Clone(k), old, true})
		mb.remove(k)
	}
	return nil
}

func (t *memTxn) scan(b bucket, start []byte, fn func(k, v []byte) bool) {
	mb := t.s.buckets[b]
	i, _ := slices.BinarySearchFunc(mb.keys, start, bytes.Compare)
	for ; i < len(mb.keys); i++ {
		k := mb.keys[i]
		if !fn(k, mb.vals[string(k)]) {
			return
		}
	}
}

func (t *memTxn) isEmpty(b bucket) bool {
	return len(t.s.buckets[b].keys) == 0
}

// rollback undoes the changes of t, newest first.
func (t *memTxn) rollback() {
	for i := len(t.undo) - 1; i >= 0; i-- {
		u := t.undo[i]
		if u.existed {
			t.s.buckets[u.b].set(u.k, u.v)
		} else {
			t.s.buckets[u.b].remove(u.k)
		}
	}
	t.undo = nil
}

// set stores v under k, inserting k into the sorted key list if it is new.
func (mb *memBucket) set(k, v []byte) {
	if _, ok := mb.vals[string(k)]; !ok {
		i, _ := slices.BinarySearchFunc(mb.keys, k, bytes.Compare)
		mb.keys = slices.Insert(mb.keys, i, bytes.Clone(k))
	}
	mb.vals[string(k)] = v
}

// remove deletes k.
func (mb *memBucket) remove(k []byte) {
	if _, ok := mb.vals[string(k)]; !ok {
		return
	}
	delete(mb.vals, string(k))
	if i, found := slices.BinarySearchFunc(mb.keys, k, bytes.Compare); found {
		mb.keys = slices.Delete(mb.keys, i, i+1)
	}
}
