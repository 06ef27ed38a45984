package nodedb

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"time"

	"github.com/devp2p-go/devp2p/crypto"
	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/enr"
	"github.com/devp2p-go/devp2p/rlp"
)

// The value encodings of schema version 2 are described in the package
// documentation (doc.go). Decoders accept (and ignore) well-formed elements
// after the ones they know and reject everything else that is not canonical
// RLP.

var errCorrupt = errors.New("nodedb: corrupt value")

// corrupt wraps err as a decoding error.
func corrupt(what string, err error) error {
	return fmt.Errorf("%w: %s: %v", errCorrupt, what, err)
}

// maxTime is the latest time encodeTime can represent.
var maxTime = time.Unix(0, math.MaxInt64)

// encodeTime encodes t as Unix nanoseconds; the zero Time and times not
// after the Unix epoch become 0 ("never"), times past 2262 are clamped.
func encodeTime(t time.Time) uint64 {
	switch {
	case t.IsZero() || !t.After(time.Unix(0, 0)):
		return 0
	case t.After(maxTime):
		return math.MaxInt64
	}
	return uint64(t.UnixNano())
}

// decodeTime is the inverse of encodeTime.
func decodeTime(x uint64) (time.Time, error) {
	switch {
	case x == 0:
		return time.Time{}, nil
	case x > math.MaxInt64:
		return time.Time{}, errors.New("time out of range")
	}
	return time.Unix(0, int64(x)), nil
}

// encodeDuration encodes a non-negative duration; negative ones become 0.
func encodeDuration(d time.Duration) uint64 {
	return uint64(max(d, 0))
}

// zigzag maps a signed integer to an unsigned one, small magnitudes to small
// numbers.
func zigzag(x int32) uint64 {
	return uint64(uint32(x<<1) ^ uint32(x>>31))
}

// unzigzag is the inverse of zigzag.
func unzigzag(x uint64) (int32, error) {
	if x > math.MaxUint32 {
		return 0, errors.New("score out of range")
	}
	u := uint32(x)
	return int32(u>>1) ^ -int32(u&1), nil
}

// listReader reads the elements of an RLP list one by one and remembers the
// first error.
type listReader struct {
	rest []byte
	err  error
	what string
}

// newListReader starts reading the list that must make up all of b.
func newListReader(b []byte, what string) *listReader {
	content, rest, err := rlp.SplitList(b)
	if err == nil && len(rest) != 0 {
		err = errors.New("trailing bytes after value")
	}
	return &listReader{rest: content, err: err, what: what}
}

func (lr *listReader) fail(err error) {
	if lr.err == nil {
		lr.err = err
	}
}

// uint reads an integer element.
func (lr *listReader) uint() uint64 {
	if lr.err != nil {
		return 0
	}
	x, rest, err := rlp.SplitUint64(lr.rest)
	lr.rest = rest
	lr.fail(err)
	return x
}

// optUint reads an integer element if one is left, else returns 0.
func (lr *listReader) optUint() uint64 {
	if lr.err != nil || len(lr.rest) == 0 {
		return 0
	}
	return lr.uint()
}

// time reads a time element.
func (lr *listReader) time() time.Time {
	t, err := decodeTime(lr.uint())
	lr.fail(err)
	return t
}

// bool reads a boolean element.
func (lr *listReader) bool() bool {
	if lr.err != nil {
		return false
	}
	v, rest, err := rlp.SplitBool(lr.rest)
	lr.rest = rest
	lr.fail(err)
	return v
}

// string reads a string element.
func (lr *listReader) string() string {
	if lr.err != nil {
		return ""
	}
	s, rest, err := rlp.SplitString(lr.rest)
	lr.rest = rest
	lr.fail(err)
	return string(s)
}

// raw reads any element and returns its whole encoding.
func (lr *listReader) raw() []byte {
	if lr.err != nil {
		return nil
	}
	_, _, rest, err := rlp.Split(lr.rest)
	if err != nil {
		lr.fail(err)
		return nil
	}
	item := lr.rest[:len(lr.rest)-len(rest)]
	lr.rest = rest
	return item
}

// done returns the first error, wrapped as a corrupt value. Elements left
// over are newer fields and are ignored, but they must be well-formed.
func (lr *listReader) done() error {
	if lr.err == nil {
		_, lr.err = rlp.CountValues(lr.rest)
	}
	if lr.err != nil {
		return corrupt(lr.what, lr.err)
	}
	return nil
}

// ipEntry is the value of a nodeip key.
type ipEntry struct {
	ping, pong time.Time
	fails      int
}

func encodeIPEntry(e ipEntry) []byte {
	buf, mark := rlp.StartList(make([]byte, 0, 32))
	buf = rlp.AppendUint64(buf, encodeTime(e.ping))
	buf = rlp.AppendUint64(buf, encodeTime(e.pong))
	buf = rlp.AppendUint64(buf, uint64(max(e.fails, 0)))
	return rlp.EndList(buf, mark)
}

func decodeIPEntry(b []byte) (ipEntry, error) {
	lr := newListReader(b, "per-IP entry")
	e := ipEntry{ping: lr.time(), pong: lr.time()}
	fails := lr.uint()
	if fails > math.MaxInt32 {
		lr.fail(errors.New("findfails out of range"))
	}
	e.fails = int(fails)
	return e, lr.done()
}

func encodeUintValue(x uint64) []byte {
	buf, mark := rlp.StartList(make([]byte, 0, 10))
	buf = rlp.AppendUint64(buf, x)
	return rlp.EndList(buf, mark)
}

func decodeUintValue(b []byte, what string) (uint64, error) {
	lr := newListReader(b, what)
	x := lr.uint()
	return x, lr.done()
}

// appendNode appends the node value of n, with the given orphan mark.
func appendNode(dst []byte, n *enode.Node, mark uint64) ([]byte, error) {
	rec, err := n.Record().AppendRLP(make([]byte, 0, enr.SizeLimit))
	if err != nil {
		return dst, fmt.Errorf("nodedb: can't encode record of node %v: %w", n.ID(), err)
	}
	return appendNodeParts(dst, rec, n.Hostname(), mark, nil), nil
}

// appendNodeParts appends a node value made of an encoded record, a
// hostname, an orphan mark (left out if 0 and nothing follows) and extra,
// encoded elements of a later format.
func appendNodeParts(dst, rec []byte, host string, mark uint64, extra []byte) []byte {
	buf, lm := rlp.StartList(dst)
	buf = rlp.AppendRaw(buf, rec)
	buf = rlp.AppendString(buf, host)
	if mark != 0 || len(extra) > 0 {
		buf = rlp.AppendUint64(buf, mark)
	}
	buf = rlp.AppendRaw(buf, extra)
	return rlp.EndList(buf, lm)
}

// decodeNode decodes a node value stored under id and verifies its record
// with schemes (records of enode:// URLs are restored without signature).
// It also returns the orphan mark.
func decodeNode(b []byte, id enode.ID, schemes enr.IdentityScheme) (*enode.Node, uint64, error) {
	lr := newListReader(b, "node")
	raw := lr.raw()
	host := lr.string()
	mark := lr.optUint()
	if err := lr.done(); err != nil {
		return nil, 0, err
	}
	var r enr.Record
	if err := r.UnmarshalRLP(raw); err != nil {
		return nil, 0, corrupt("node record", err)
	}
	s := schemes
	if isURLRecord(&r) {
		s = urlScheme{}
	}
	n, err := enode.New(s, &r)
	if err != nil {
		return nil, 0, fmt.Errorf("nodedb: stored record of %v does not verify: %w", id, err)
	}
	if n.ID() != id {
		return nil, 0, corrupt("node", fmt.Errorf("record of %v stored under %v", n.ID(), id))
	}
	if host != "" {
		n = n.WithHostname(host)
	}
	return n, mark, nil
}

// isURLRecord reports whether r is the record of a node made from an enode://
// URL or by enode.NewV4: no identity scheme and an empty signature.
func isURLRecord(r *enr.Record) bool {
	return r.IdentityScheme() == "" && r.IsSigned() && len(r.Signature()) == 0
}

// urlScheme restores the records of enode.NewV4 nodes, which carry no
// signature: the node ID is derived from the "secp256k1" entry, as for "v4".
// It is used for records read back from our own file only.
type urlScheme struct{}

func (urlScheme) Verify(r *enr.Record, sig []byte) error {
	if len(sig) != 0 {
		return enr.ErrInvalidSig
	}
	return nil
}

func (urlScheme) NodeAddr(r *enr.Record) []byte {
	var key enr.Secp256k1
	if r.Load(&key) != nil {
		return nil
	}
	pub, err := crypto.ParsePublicKey(key[:])
	if err != nil {
		return nil
	}
	return enode.PubkeyToIDV4(&pub).Bytes()
}

// encodePeer encodes r without its ID, which is the key.
func encodePeer(r *PeerRecord) ([]byte, error) {
	buf, lm := rlp.StartList(make([]byte, 0, 512))
	switch {
	case r.Node != nil:
		var err error
		if buf, err = appendNode(buf, r.Node, 0); err != nil {
			return nil, err
		}
	case len(r.storedNode) > 0:
		buf = append(buf, r.storedNode...)
	default:
		buf = rlp.AppendListHeader(buf, 0)
	}
	buf = rlp.AppendUint64(buf, encodeTime(r.FirstSeen))
	buf = rlp.AppendUint64(buf, encodeTime(r.LastConnected))
	buf = rlp.AppendUint64(buf, encodeTime(r.LastDisconnected))
	buf = rlp.AppendUint64(buf, encodeDuration(r.TotalConnected))
	buf = rlp.AppendUint64(buf, uint64(max(r.Sessions, 0)))
	buf = rlp.AppendBool(buf, r.LastOutbound)
	buf = rlp.AppendString(buf, r.LastReason)
	buf = rlp.AppendUint64(buf, zigzag(r.Score))
	buf = rlp.AppendUint64(buf, 0) // unused since schema version 2 (was ban until)
	buf = rlp.AppendBool(buf, r.Anchor)
	return rlp.EndList(buf, lm), nil
}

// decodePeer decodes a peer value stored under id. A stored node that does
// not decode or verify is dropped (Node is nil) without failing the record:
// reputation and bans must survive a bad address record. Without withNode
// the node is not decoded but kept encoded in storedNode.
func decodePeer(b []byte, id enode.ID, schemes enr.IdentityScheme, withNode bool) (*PeerRecord, error) {
	lr := newListReader(b, "peer")
	nodeRaw := lr.raw()
	r := &PeerRecord{
		ID:               id,
		FirstSeen:        lr.time(),
		LastConnected:    lr.time(),
		LastDisconnected: lr.time(),
	}
	total := lr.uint()
	sessions := lr.uint()
	r.LastOutbound = lr.bool()
	r.LastReason = lr.string()
	score := lr.uint()
	lr.uint() // unused since schema version 2 (was ban until)
	r.Anchor = lr.bool()
	if err := lr.done(); err != nil {
		return nil, err
	}
	if total > math.MaxInt64 || sessions > math.MaxInt32 {
		return nil, corrupt("peer", errors.New("counter out of range"))
	}
	r.TotalConnected, r.Sessions = time.Duration(total), int(sessions)
	var err error
	if r.Score, err = unzigzag(score); err != nil {
		return nil, corrupt("peer", err)
	}
	if len(nodeRaw) > 0 && nodeRaw[0] != 0xC0 {
		if !withNode {
			r.storedNode = slices.Clone(nodeRaw)
		} else if n, _, err := decodeNode(nodeRaw, id, schemes); err == nil {
			r.Node = n
		}
	}
	return r, nil
}

// ipKey returns the nodeip key of (id, ip): the ID followed by the IP in its
// 16-byte form (IPv4 addresses IPv4-mapped).
func ipKey(id enode.ID, ip netip.Addr) []byte {
	k := make([]byte, 0, len(id)+16)
	ip16 := ip.As16()
	return append(append(k, id[:]...), ip16[:]...)
}
