package v4wire

import (
	"bytes"
	"testing"
)

// FuzzDecode feeds datagrams to Decode. Decode must never panic; a packet it
// accepts must survive re-encoding. Most mutations break the hash, so each
// input is also decoded with its hash fixed, which lets the fuzzer reach the
// packet decoders, and the packet data is checked against the reflection
// decoder on go-ethereum's structs: both must accept and reject the same
// inputs and agree on the values. Seeds are the vectors and the round-trip
// packets.
func FuzzDecode(f *testing.F) {
	for _, test := range vectorTests {
		f.Add(unhex(test.input))
	}
	for _, p := range roundTripPackets(f) {
		d, _, err := Encode(testKey, p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(d)
	}
	f.Fuzz(func(t *testing.T, datagram []byte) {
		checkDecode(t, datagram)
		if len(datagram) >= MinPacketSize && len(datagram) <= MaxPacketSize {
			fixed := rehash(bytes.Clone(datagram))
			checkDecode(t, fixed)
			checkAgainstMirror(t, fixed[HeadSize], fixed[MinPacketSize:])
		}
	})
}

func checkDecode(t *testing.T, datagram []byte) {
	p, from, hash, err := Decode(datagram)
	if err != nil {
		return
	}
	if hash != [32]byte(datagram[:HashSize]) {
		t.Fatalf("hash %x is not the datagram's", hash)
	}
	if sender, err := Sender(datagram); err != nil || sender != from {
		t.Fatalf("Sender disagrees with Decode: %v", err)
	}
	data, err := p.AppendRLP(nil)
	if err != nil {
		t.Fatalf("re-encoding %s: %v", p.Name(), err)
	}
	again := NewPacket(p.Kind())
	if err := again.UnmarshalRLP(data); err != nil {
		t.Fatalf("decoding re-encoded %s: %v", p.Name(), err)
	}
	if !packetsEqual(p, again) {
		t.Fatalf("re-encoding changed %s:\n%#v\n%#v", p.Name(), p, again)
	}
}
