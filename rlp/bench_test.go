package rlp

import (
	"bytes"
	"errors"
	"testing"
)

// A devp2p Hello-like message.

type benchCap struct {
	Name    string
	Version uint
}

type benchHello struct {
	Version    uint64
	Name       string
	Caps       []benchCap
	ListenPort uint64
	ID         [64]byte
	Rest       []RawValue `rlp:"tail"`
}

var benchHelloValue = &benchHello{
	Version:    5,
	Name:       "devp2p-go/v0.1.0-unstable/linux-amd64/go1.26",
	Caps:       []benchCap{{"eth", 68}, {"eth", 69}, {"snap", 1}},
	ListenPort: 30303,
	ID:         [64]byte{0x01, 0x02, 0x03, 0xFF, 63: 0xEE},
}

func appendHelloLowLevel(b []byte, h *benchHello) []byte {
	b, mark := StartList(b)
	b = AppendUint64(b, h.Version)
	b = AppendString(b, h.Name)
	b, caps := StartList(b)
	for _, c := range h.Caps {
		var cm int
		b, cm = StartList(b)
		b = AppendString(b, c.Name)
		b = AppendUint64(b, uint64(c.Version))
		b = EndList(b, cm)
	}
	b = EndList(b, caps)
	b = AppendUint64(b, h.ListenPort)
	b = AppendBytes(b, h.ID[:])
	return EndList(b, mark)
}

var errBench = errors.New("bench: bad message")

// parseHelloLowLevel decodes a Hello into h, reusing h.Caps. The client
// and capability names are returned in names, aliasing msg (zero-copy).
func parseHelloLowLevel(msg []byte, h *benchHello, names [][]byte) ([][]byte, error) {
	c, _, err := SplitList(msg)
	if err != nil {
		return names, err
	}
	if h.Version, c, err = SplitUint64(c); err != nil {
		return names, err
	}
	var name []byte
	if name, c, err = SplitString(c); err != nil {
		return names, err
	}
	names = append(names[:0], name)
	var caps []byte
	if caps, c, err = SplitList(c); err != nil {
		return names, err
	}
	h.Caps = h.Caps[:0]
	for len(caps) > 0 {
		var capc []byte
		if capc, caps, err = SplitList(caps); err != nil {
			return names, err
		}
		var cname []byte
		var ver uint64
		if cname, capc, err = SplitString(capc); err != nil {
			return names, err
		}
		if ver, _, err = SplitUint64(capc); err != nil {
			return names, err
		}
		names = append(names, cname)
		h.Caps = append(h.Caps, benchCap{Version: uint(ver)})
	}
	if h.ListenPort, c, err = SplitUint64(c); err != nil {
		return names, err
	}
	var id []byte
	if id, _, err = SplitString(c); err != nil {
		return names, err
	}
	if len(id) != 64 {
		return names, errBench
	}
	copy(h.ID[:], id)
	return names, nil
}

func TestHelloLowLevelMatchesReflection(t *testing.T) {
	want, err := EncodeToBytes(benchHelloValue)
	if err != nil {
		t.Fatal(err)
	}
	if got := appendHelloLowLevel(nil, benchHelloValue); !bytes.Equal(got, want) {
		t.Fatalf("got %X\nwant %X", got, want)
	}
	var h benchHello
	names, err := parseHelloLowLevel(want, &h, nil)
	if err != nil || h.ID != benchHelloValue.ID || len(names) != 4 || string(names[3]) != "snap" {
		t.Fatalf("parse: %v %+v", err, h)
	}
}

func BenchmarkEncodeHelloReflect(b *testing.B) {
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = AppendValue(buf[:0], benchHelloValue); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeHelloToBytes(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncodeToBytes(benchHelloValue); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeHelloLowLevel(b *testing.B) {
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf = appendHelloLowLevel(buf[:0], benchHelloValue)
	}
}

func BenchmarkDecodeHelloReflect(b *testing.B) {
	enc, _ := EncodeToBytes(benchHelloValue)
	b.ReportAllocs()
	for b.Loop() {
		var h benchHello
		if err := DecodeBytes(enc, &h); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeHelloLowLevel(b *testing.B) {
	enc, _ := EncodeToBytes(benchHelloValue)
	var h benchHello
	var names [][]byte
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if names, err = parseHelloLowLevel(enc, &h, names); err != nil {
			b.Fatal(err)
		}
	}
}

var benchPingValue = &testPing{
	Version:    4,
	From:       testEndpoint{IP: pingIP, UDP: 30303, TCP: 30303},
	To:         testEndpoint{IP: pingIP, UDP: 30304},
	Expiration: 1700000000,
}

func BenchmarkEncodePingReflect(b *testing.B) {
	buf := make([]byte, 0, 128)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = AppendValue(buf[:0], benchPingValue); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodePingLowLevel(b *testing.B) {
	buf := make([]byte, 0, 128)
	b.ReportAllocs()
	for b.Loop() {
		buf = buildPingLowLevel(buf[:0])
	}
}

func BenchmarkDecodePingReflect(b *testing.B) {
	enc := buildPingLowLevel(nil)
	b.ReportAllocs()
	for b.Loop() {
		var p testPing
		if err := DecodeBytes(enc, &p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodePingLowLevel(b *testing.B) {
	enc := buildPingLowLevel(nil)
	b.ReportAllocs()
	for b.Loop() {
		c, _, err := SplitList(enc)
		if err != nil {
			b.Fatal(err)
		}
		var version, udp, tcp, exp uint64
		var ip, ep []byte
		version, c, _ = SplitUint64(c)
		for range 2 {
			ep, c, _ = SplitList(c)
			ip, ep, _ = SplitString(ep)
			udp, ep, _ = SplitUint64(ep)
			tcp, _, _ = SplitUint64(ep)
		}
		if exp, _, err = SplitUint64(c); err != nil || version != 4 || len(ip) != 4 || udp+tcp == 0 || exp == 0 {
			b.Fatal("bad ping")
		}
	}
}

func BenchmarkDecodeAny(b *testing.B) {
	enc, _ := EncodeToBytes(benchHelloValue)
	b.ReportAllocs()
	for b.Loop() {
		var v any
		if err := DecodeBytes(enc, &v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeLargeList(b *testing.B) {
	v := make([][]uint64, 1000)
	for i := range v {
		v[i] = []uint64{uint64(i), uint64(i) << 20, 7}
	}
	buf := make([]byte, 0, 1<<16)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = AppendValue(buf[:0], v); err != nil {
			b.Fatal(err)
		}
	}
}
