// Package enr implements Ethereum Node Records as defined in EIP-778.
//
// A node record holds arbitrary information about a node on the peer-to-peer
// network as key/value pairs, a sequence number and a signature. Keys are
// sorted and unique; values are stored as raw RLP items and read and written
// through the Entry interface.
//
// # Signatures
//
// Records must be signed before they can be encoded and sent to another node.
// This package does not implement any cryptography: identity schemes (such as
// "v4" in package enode) implement IdentityScheme and call SetSig with the
// signature they computed over AppendContent.
//
// Decoding a record does not check its signature. Code working with records
// from an untrusted source must verify that the record uses an identity scheme
// it deems secure and that the signature is valid according to that scheme;
// enode.New does both.
//
// Nothing in this package logs, starts goroutines or reads the clock.
package enr

import (
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"

	"github.com/devp2p-go/devp2p/rlp"
)

// SizeLimit is the maximum encoded size of a node record in bytes (EIP-778).
const SizeLimit = 300

// Errors returned by this package. Record decoding also returns wrapped rlp
// errors (rlp.ErrCanonInt, rlp.ErrExpectedList, …) for malformed RLP.
var (
	// ErrInvalidSig means a signature is not valid for the record under its
	// identity scheme, or the identity scheme is unknown.
	ErrInvalidSig = errors.New("enr: invalid signature on node record")
	// ErrTooBig means a record's encoding exceeds SizeLimit.
	ErrTooBig = fmt.Errorf("enr: record bigger than %d bytes", SizeLimit)
	// ErrUnsigned means an unsigned record was to be encoded.
	ErrUnsigned = errors.New("enr: can't encode unsigned record")
	// ErrMissingPrefix means a text record does not start with "enr:".
	ErrMissingPrefix = errors.New("enr: missing 'enr:' prefix for base64-encoded record")

	errNotSorted      = errors.New("enr: record key/value pairs are not sorted by key")
	errDuplicateKey   = errors.New("enr: record contains duplicate key")
	errIncompletePair = errors.New("enr: record contains incomplete k/v pair")
	errIncompleteList = errors.New("enr: record contains less than two list elements")
	errNotFound       = errors.New("enr: no such key in record")
)

// IdentityScheme is implemented by identity schemes: it verifies record
// signatures and derives node addresses from records.
type IdentityScheme interface {
	// Verify checks sig, a signature of r made according to the scheme.
	Verify(r *Record, sig []byte) error
	// NodeAddr returns the node address of r, or nil if r has none.
	NodeAddr(r *Record) []byte
}

// SchemeMap is a registry of identity schemes by name. It implements
// IdentityScheme by dispatching on the record's "id" entry.
type SchemeMap map[string]IdentityScheme

// Verify verifies sig with the scheme named by r's "id" entry. It returns
// ErrInvalidSig if the scheme is not in the map.
func (m SchemeMap) Verify(r *Record, sig []byte) error {
	s := m[r.IdentityScheme()]
	if s == nil {
		return ErrInvalidSig
	}
	return s.Verify(r, sig)
}

// NodeAddr returns the node address of r according to the scheme named by its
// "id" entry, or nil if the scheme is not in the map.
func (m SchemeMap) NodeAddr(r *Record) []byte {
	s := m[r.IdentityScheme()]
	if s == nil {
		return nil
	}
	return s.NodeAddr(r)
}

// Record is a node record. The zero value is an empty, unsigned record with
// sequence number zero.
//
// Modifying a signed record (Set, Delete) removes its signature and
// increments its sequence number. Copies of a Record (by assignment) share
// memory but are independent: modifications never affect other copies.
//
// A Record is not safe for concurrent modification; concurrent reads are fine.
type Record struct {
	seq       uint64
	signature []byte // nil when unsigned
	raw       []byte // the encoding; set together with signature
	pairs     []pair // sorted by key, unique; shared between copies, never modified in place
}

// pair is a key/value pair of a record. v is one complete RLP item.
type pair struct {
	k string
	v []byte
}

// Seq returns the sequence number.
func (r *Record) Seq() uint64 {
	return r.seq
}

// SetSeq sets the sequence number and removes the signature. It is rarely
// needed: modifying a signed record increments the sequence number.
func (r *Record) SetSeq(s uint64) {
	r.signature = nil
	r.raw = nil
	r.seq = s
}

// Signature returns a copy of the signature, or nil if the record is unsigned.
func (r *Record) Signature() []byte {
	return slices.Clone(r.signature)
}

// IsSigned reports whether the record has a signature (possibly an empty one,
// as used by schemes without cryptography).
func (r *Record) IsSigned() bool {
	return r.signature != nil
}

// Len returns the number of key/value pairs.
func (r *Record) Len() int {
	return len(r.pairs)
}

// Pairs returns an iterator over the keys and raw RLP values of the record in
// key order. The values must not be modified.
func (r *Record) Pairs() iter.Seq2[string, rlp.RawValue] {
	return func(yield func(string, rlp.RawValue) bool) {
		for _, p := range r.pairs {
			if !yield(p.k, p.v) {
				return
			}
		}
	}
}

// search returns the position of key in r.pairs and whether it is present.
func (r *Record) search(key string) (int, bool) {
	return slices.BinarySearchFunc(r.pairs, key, func(p pair, k string) int {
		return strings.Compare(p.k, k)
	})
}

// Has reports whether the record contains key.
func (r *Record) Has(key string) bool {
	_, ok := r.search(key)
	return ok
}

// Load reads the value of entry e from the record into e, which must be a
// pointer. Errors are of type *KeyError; IsNotFound tells a missing key from
// an undecodable value.
func (r *Record) Load(e Entry) error {
	key := e.ENRKey()
	i, ok := r.search(key)
	if !ok {
		return &KeyError{Key: key, Err: errNotFound}
	}
	var err error
	if u, ok := e.(rlp.Unmarshaler); ok {
		err = u.UnmarshalRLP(r.pairs[i].v)
	} else {
		err = rlp.DecodeBytes(r.pairs[i].v, e)
	}
	if err != nil {
		return &KeyError{Key: key, Err: err}
	}
	return nil
}

// Set adds or replaces entry e. If the record is signed, the signature is
// removed and the sequence number incremented.
//
// Set panics if e cannot be encoded as a single RLP value (for example an IPv4
// entry holding an IPv6 address): that is a programming error.
func (r *Record) Set(e Entry) {
	key := e.ENRKey()
	var (
		blob []byte
		err  error
	)
	if m, ok := e.(rlp.Marshaler); ok {
		blob, err = m.AppendRLP(nil)
	} else {
		blob, err = rlp.AppendValue(nil, e)
	}
	if err == nil {
		if _, _, rest, serr := rlp.Split(blob); serr != nil || len(rest) != 0 {
			err = fmt.Errorf("value is not a single RLP item")
		}
	}
	if err != nil {
		panic(fmt.Errorf("enr: can't encode %q: %v", key, err))
	}
	r.invalidate()

	i, ok := r.search(key)
	pairs := make([]pair, len(r.pairs), len(r.pairs)+1)
	copy(pairs, r.pairs)
	if ok {
		pairs[i].v = blob
	} else {
		pairs = slices.Insert(pairs, i, pair{key, blob})
	}
	r.pairs = pairs
}

// Delete removes key from the record and reports whether it was present. If
// it was and the record is signed, the signature is removed and the sequence
// number incremented.
func (r *Record) Delete(key string) bool {
	i, ok := r.search(key)
	if !ok {
		return false
	}
	r.invalidate()
	pairs := make([]pair, 0, len(r.pairs)-1)
	pairs = append(pairs, r.pairs[:i]...)
	r.pairs = append(pairs, r.pairs[i+1:]...)
	return true
}

// invalidate removes the signature, bumping seq if there was one.
func (r *Record) invalidate() {
	if r.signature != nil {
		r.seq++
	}
	r.signature = nil
	r.raw = nil
}

// IdentityScheme returns the name of the identity scheme in the "id" entry,
// or "" if there is none.
func (r *Record) IdentityScheme() string {
	var id ID
	if r.Load(&id) != nil {
		return ""
	}
	return string(id)
}

// VerifySignature checks the record's signature with scheme s.
func (r *Record) VerifySignature(s IdentityScheme) error {
	return s.Verify(r, r.signature)
}

// SetSig sets the signature of the record after checking that the encoded
// record fits SizeLimit (ErrTooBig) and that s accepts sig. On error the
// record is unchanged.
//
// SetSig(nil, nil) removes the signature. SetSig panics if exactly one of s
// and sig is nil. Schemes without cryptography sign with an empty, non-nil
// sig.
func (r *Record) SetSig(s IdentityScheme, sig []byte) error {
	switch {
	case s == nil && sig != nil:
		panic("enr: invalid call to SetSig with non-nil signature but nil scheme")
	case s != nil && sig == nil:
		panic("enr: invalid call to SetSig with nil signature but non-nil scheme")
	case s == nil:
		r.signature, r.raw = nil, nil
		return nil
	}
	if r.encodedSize(sig) > SizeLimit {
		return ErrTooBig
	}
	if err := s.Verify(r, sig); err != nil {
		return err
	}
	r.raw = r.encode(sig)
	r.signature = slices.Clone(sig) // non-nil even when empty
	return nil
}

// AppendContent appends the content that identity schemes sign, the RLP list
// [seq, k1, v1, k2, v2, ...], to dst.
func (r *Record) AppendContent(dst []byte) []byte {
	dst = rlp.AppendListHeader(dst, r.contentLen())
	return r.appendContentItems(dst)
}

// Size returns the encoded size of the record: the size of its encoding if it
// is signed, else the size it would have with an empty signature.
func (r *Record) Size() int {
	if r.raw != nil {
		return len(r.raw)
	}
	return r.encodedSize(nil)
}
