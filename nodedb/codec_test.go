package nodedb

import (
	"bytes"
	"encoding/hex"
	"math"
	"net/netip"
	"testing"
	"time"

	"github.com/devp2p-go/devp2p/crypto"
	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/enr"
	"github.com/devp2p-go/devp2p/rlp"
)

func TestTimeEncoding(t *testing.T) {
	tests := []struct {
		in   time.Time
		want uint64
	}{
		{time.Time{}, 0},
		{time.Unix(0, 0), 0},
		{time.Unix(-5, 0), 0},
		{time.Unix(0, 1), 1},
		{time.Unix(1700000000, 123456789), 1700000000123456789},
		{time.Unix(0, math.MaxInt64), math.MaxInt64},
		{time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), math.MaxInt64},
	}
	for _, tt := range tests {
		if got := encodeTime(tt.in); got != tt.want {
			t.Errorf("encodeTime(%v) = %d, want %d", tt.in, got, tt.want)
		}
	}
	for _, x := range []uint64{1, 1700000000123456789, math.MaxInt64} {
		tm, err := decodeTime(x)
		if err != nil || encodeTime(tm) != x {
			t.Errorf("time %d does not round-trip: %v %v", x, tm, err)
		}
	}
	if _, err := decodeTime(math.MaxInt64 + 1); err == nil {
		t.Error("out-of-range time accepted")
	}
	if tm, _ := decodeTime(0); !tm.IsZero() {
		t.Error("0 does not decode as the zero Time")
	}
}

func TestZigzag(t *testing.T) {
	for x, want := range map[int32]uint64{0: 0, -1: 1, 1: 2, -2: 3, math.MaxInt32: math.MaxUint32 - 1, math.MinInt32: math.MaxUint32} {
		if got := zigzag(x); got != want {
			t.Errorf("zigzag(%d) = %d, want %d", x, got, want)
		}
		if back, err := unzigzag(want); err != nil || back != x {
			t.Errorf("unzigzag(%d) = %d, %v", want, back, err)
		}
	}
	if _, err := unzigzag(math.MaxUint32 + 1); err == nil {
		t.Error("unzigzag accepted a value beyond 32 bits")
	}
}

// The stored formats are pinned: changing them needs a schema version bump
// or a compatible (appended) field.
func TestEncodingGolden(t *testing.T) {
	tests := []struct {
		name string
		got  []byte
		want string
	}{
		{"ip entry", encodeIPEntry(ipEntry{ping: time.Unix(0, 1), fails: 2}), "c3018002"},
		{"ip entry empty", encodeIPEntry(ipEntry{}), "c3808080"},
		{"uint value", encodeUintValue(1 << 16), "c483010000"},
		{"node parts", appendNodeParts(nil, []byte{0xc0}, "h", 0, nil), "c2c068"},
		{"node parts marked", appendNodeParts(nil, []byte{0xc0}, "", 3, nil), "c3c08003"},
		{"peer empty", mustEncodePeer(t, &PeerRecord{}), "cbc080808080808080808080"},
		{"peer fields", mustEncodePeer(t, &PeerRecord{
			FirstSeen: time.Unix(0, 1), TotalConnected: 2, Sessions: 3, LastOutbound: true,
			LastReason: "x", Score: -1, Anchor: true,
		}), "cbc001808002030178018001"},
		{"ban", encodeBan(&BanRecord{Until: time.Unix(0, 5), Reason: "r", Auto: true}), "c3057201"},
		{"ban empty", encodeBan(&BanRecord{}), "c3808080"},
	}
	for _, tt := range tests {
		if hex.EncodeToString(tt.got) != tt.want {
			t.Errorf("%s: encoding %x, want %s", tt.name, tt.got, tt.want)
		}
	}
}

func TestDecodeAcceptsAppendedFields(t *testing.T) {
	rec := fullPeerRecord(t)
	v := mustEncodePeer(t, rec)
	ext := appendToList(v, []byte{0x82, 0x01, 0x02})
	got, err := decodePeer(ext, rec.ID, enode.ValidSchemes, true)
	check(t, err)
	comparePeers(t, got, rec)
	if _, err := decodePeer(appendToList(v, []byte{0x82, 0x01}), rec.ID, enode.ValidSchemes, true); err == nil {
		t.Error("malformed appended field accepted")
	}
	e, err := decodeIPEntry(appendToList(encodeIPEntry(ipEntry{fails: 7}), []byte{0x05}))
	if err != nil || e.fails != 7 {
		t.Errorf("ip entry with appended field: %v %v", e, err)
	}
}

// appendToList returns the RLP list v with the encoded item x appended.
func appendToList(v, x []byte) []byte {
	lr := newListReader(v, "")
	content := append(append([]byte(nil), lr.rest...), x...)
	return append(rlp.AppendListHeader(nil, len(content)), content...)
}

func mustEncodePeer(t testing.TB, r *PeerRecord) []byte {
	t.Helper()
	v, err := encodePeer(r)
	check(t, err)
	return v
}

// FuzzDecodePeerRecord checks that decoding stored values never panics, and
// that a peer record that decodes encodes back to a value that decodes to the
// same record. The other value decoders run on the same input; a ban that
// decodes must survive re-encoding too.
func FuzzDecodePeerRecord(f *testing.F) {
	key, err := crypto.PrivateKeyFromBytes(bytes.Repeat([]byte{0x42}, 32))
	check(f, err)
	var r enr.Record
	r.Set(enr.IP(netip.MustParseAddr("10.0.0.1")))
	r.Set(enr.UDP(30303))
	check(f, enode.SignV4(&r, key))
	n, err := enode.New(enode.ValidSchemes, &r)
	check(f, err)
	id := n.ID()

	full := fullPeerRecord(f)
	full.ID, full.Node = id, n.WithHostname("h.example")
	f.Add(mustEncodePeer(f, full))
	f.Add(mustEncodePeer(f, &PeerRecord{ID: id}))
	f.Add(mustEncodePeer(f, &PeerRecord{ID: id, Node: enode.NewV4(key.Public(), netip.MustParseAddr("::1"), 1, 2)}))
	nodeValue, err := appendNode(nil, n, 5)
	check(f, err)
	f.Add(nodeValue)
	f.Add(encodeIPEntry(ipEntry{ping: time.Unix(5, 5), pong: time.Unix(6, 6), fails: 3}))
	f.Add(encodeBan(&BanRecord{Until: time.Unix(7, 7), Reason: "why", Auto: true}))
	f.Add([]byte{0xc0})
	f.Add([]byte{})

	f.Fuzz(func(t *testing.T, data []byte) {
		decodeNode(data, id, enode.ValidSchemes)
		decodeIPEntry(data)
		decodeUintValue(data, "")
		orphanMark(data)
		withOrphanMark(data, 1)
		takePeerBan(data)
		for _, k := range [][]byte{id[:], ipBanKey(netip.MustParseAddr("10.0.0.1"))} {
			if b, err := decodeBan(k, data); err == nil {
				b2, err := decodeBan(k, encodeBan(&b))
				if err != nil || b2 != b {
					t.Fatalf("ban %+v re-encoded decodes to %+v, %v", b, b2, err)
				}
			}
		}

		rec, err := decodePeer(data, id, enode.ValidSchemes, true)
		if err != nil {
			return
		}
		enc, err := encodePeer(rec)
		if err != nil {
			t.Fatalf("decoded record does not encode: %v", err)
		}
		rec2, err := decodePeer(enc, id, enode.ValidSchemes, true)
		if err != nil {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
		comparePeers(t, rec2, rec)
	})
}
