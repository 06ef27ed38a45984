package enode

import (
	"github.com/devp2p-go/devp2p/crypto"
	"github.com/devp2p-go/devp2p/enr"
)

// ValidSchemes holds the identity schemes deemed secure: only "v4".
var ValidSchemes = enr.SchemeMap{
	"v4": V4ID{},
}

// ValidSchemesForTesting holds ValidSchemes and the insecure "null" scheme.
// Never use it for records from the network.
var ValidSchemesForTesting = enr.SchemeMap{
	"v4":   V4ID{},
	"null": NullID{},
}

// V4ID is the "v4" identity scheme (EIP-778): the signature is the 64-byte
// secp256k1 signature r‖s of keccak256(rlp([seq, k1, v1, ...])) by the key in
// the "secp256k1" entry, and the node address is keccak256 of that key's
// uncompressed X‖Y.
type V4ID struct{}

// SignV4 sets the "id" entry of r to "v4" and its "secp256k1" entry to the
// public key of key, then signs r. On error r is unchanged.
func SignV4(r *enr.Record, key *crypto.PrivateKey) error {
	cpy := *r
	cpy.Set(enr.IDv4)
	cpy.Set(enr.Secp256k1(key.Public().Compress()))
	h := contentHash(&cpy)
	sig, err := crypto.Sign(h[:], key)
	if err != nil {
		return err
	}
	if err := cpy.SetSig(V4ID{}, sig[:64]); err != nil {
		return err
	}
	*r = cpy
	return nil
}

// contentHash returns the hash signed by the "v4" scheme.
func contentHash(r *enr.Record) [32]byte {
	var buf [enr.SizeLimit]byte
	return crypto.Keccak256(r.AppendContent(buf[:0]))
}

// Verify implements enr.IdentityScheme. A missing or malformed "secp256k1"
// entry yields its *enr.KeyError; a key that is not on the curve or a bad
// signature yields enr.ErrInvalidSig.
func (V4ID) Verify(r *enr.Record, sig []byte) error {
	_, err := verifyV4(r, sig)
	return err
}

// verifyV4 verifies a "v4" signature and returns the signer's public key.
func verifyV4(r *enr.Record, sig []byte) (crypto.PublicKey, error) {
	var ckey enr.Secp256k1
	if err := r.Load(&ckey); err != nil {
		return crypto.PublicKey{}, err
	}
	if len(sig) != 64 {
		return crypto.PublicKey{}, enr.ErrInvalidSig
	}
	pub, err := crypto.ParsePublicKey(ckey[:])
	if err != nil {
		return crypto.PublicKey{}, enr.ErrInvalidSig
	}
	h := contentHash(r)
	if !crypto.Verify(&pub, h[:], sig) {
		return crypto.PublicKey{}, enr.ErrInvalidSig
	}
	return pub, nil
}

// NodeAddr implements enr.IdentityScheme. It returns nil if the record has no
// valid "secp256k1" entry.
func (V4ID) NodeAddr(r *enr.Record) []byte {
	pub, ok := loadPubkey(r)
	if !ok {
		return nil
	}
	return PubkeyToIDV4(&pub).Bytes()
}

// loadPubkey loads and decompresses the "secp256k1" entry of r.
func loadPubkey(r *enr.Record) (crypto.PublicKey, bool) {
	var ckey enr.Secp256k1
	if r.Load(&ckey) != nil {
		return crypto.PublicKey{}, false
	}
	pub, err := crypto.ParsePublicKey(ckey[:])
	return pub, err == nil
}

// isV4Scheme reports whether s verifies the records of scheme name with V4ID.
func isV4Scheme(s enr.IdentityScheme, name string) bool {
	switch s := s.(type) {
	case V4ID:
		return true
	case enr.SchemeMap:
		_, ok := s[name].(V4ID)
		return ok
	}
	return false
}

// acceptAll is the scheme under which NewV4 and Resolve store records without
// a signature: an empty signature is set without any check.
type acceptAll struct{}

func (acceptAll) Verify(*enr.Record, []byte) error { return nil }
func (acceptAll) NodeAddr(*enr.Record) []byte      { return nil }

// NullID is the insecure "null" identity scheme, for tests: the record
// carries the node ID in its "nulladdr" entry and an empty signature, which
// is never checked.
type NullID struct{}

// Verify implements enr.IdentityScheme; it accepts any signature.
func (NullID) Verify(*enr.Record, []byte) error {
	return nil
}

// NodeAddr implements enr.IdentityScheme, returning the "nulladdr" entry.
func (NullID) NodeAddr(r *enr.Record) []byte {
	var id ID
	if r.Load(enr.WithEntry("nulladdr", &id)) != nil {
		return nil
	}
	return id[:]
}

// SignNull sets the "id" entry of r to "null" and its "nulladdr" entry to id,
// signs r with an empty signature and returns the node. It panics if the
// record exceeds enr.SizeLimit. The record is not secure; use it in tests
// only.
func SignNull(r *enr.Record, id ID) *Node {
	r.Set(enr.ID("null"))
	r.Set(enr.WithEntry("nulladdr", id))
	if err := r.SetSig(NullID{}, []byte{}); err != nil {
		panic(err)
	}
	return newNode(r, id, nil)
}
