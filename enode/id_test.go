package enode

import (
	"bytes"
	"fmt"
	"math/big"
	"math/rand/v2"
	"testing"
)

func TestHexID(t *testing.T) {
	t.Parallel()
	ref := ID{0, 0, 0, 0, 0, 0, 0, 128, 106, 217, 182, 31, 165, 174, 1, 67, 7, 235, 220, 150, 66, 83, 173, 205, 159, 44, 10, 57, 42, 161, 26, 188}
	for _, s := range []string{
		"0x00000000000000806ad9b61fa5ae014307ebdc964253adcd9f2c0a392aa11abc",
		"00000000000000806ad9b61fa5ae014307ebdc964253adcd9f2c0a392aa11abc",
		"00000000000000806AD9B61FA5AE014307EBDC964253ADCD9F2C0A392AA11ABC",
	} {
		if id := HexID(s); id != ref {
			t.Errorf("HexID(%s) = %v", s, id)
		}
	}
	for _, bad := range []string{"", "0x", "00", "zz000000000000806ad9b61fa5ae014307ebdc964253adcd9f2c0a392aa11abc", "00000000000000806ad9b61fa5ae014307ebdc964253adcd9f2c0a392aa11abc00"} {
		if _, err := ParseID(bad); err == nil {
			t.Errorf("ParseID(%q) accepted", bad)
		}
	}
	if _, err := ParseID("0102"); err == nil || err.Error() != "wrong length, want 64 hex chars" {
		t.Errorf("short ID error: %v", err)
	}
}

func TestIDText(t *testing.T) {
	t.Parallel()
	var ref ID
	for i := range ref {
		ref[i] = byte(i + 1)
	}
	const hexID = "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20"
	text, err := ref.MarshalText()
	if err != nil || !bytes.Equal(text, []byte(hexID)) {
		t.Fatalf("MarshalText = %s, %v", text, err)
	}
	var id ID
	if err := id.UnmarshalText(text); err != nil || id != ref {
		t.Fatalf("UnmarshalText = %v, %v", id, err)
	}
	if err := id.UnmarshalText([]byte("xyz")); err == nil {
		t.Error("UnmarshalText accepted bad input")
	}
	if ref.String() != hexID || ref.TerminalString() != hexID[:16] {
		t.Errorf("String %s, TerminalString %s", ref.String(), ref.TerminalString())
	}
	if got := fmt.Sprintf("%#v", ref); got != `enode.HexID("`+hexID+`")` {
		t.Errorf("GoString = %s", got)
	}
	if !bytes.Equal(ref.Bytes(), ref[:]) {
		t.Error("Bytes mismatch")
	}
}

func randomID(rng *rand.Rand) (id ID) {
	for i := range id {
		id[i] = byte(rng.Uint32())
	}
	// Make shared prefixes likely.
	if rng.IntN(2) == 0 {
		id[0] = 0
	}
	return id
}

func TestDistCmp(t *testing.T) {
	t.Parallel()
	distcmpBig := func(target, a, b ID) int {
		tbig := new(big.Int).SetBytes(target[:])
		abig := new(big.Int).SetBytes(a[:])
		bbig := new(big.Int).SetBytes(b[:])
		return new(big.Int).Xor(tbig, abig).Cmp(new(big.Int).Xor(tbig, bbig))
	}
	rng := rand.New(rand.NewPCG(1, 1))
	for range 2000 {
		target, a, b := randomID(rng), randomID(rng), randomID(rng)
		if got, want := DistCmp(target, a, b), distcmpBig(target, a, b); got != want {
			t.Fatalf("DistCmp(%v, %v, %v) = %d, want %d", target, a, b, got, want)
		}
	}
	x := randomID(rng)
	if DistCmp(randomID(rng), x, x) != 0 {
		t.Error("DistCmp(t, x, x) != 0")
	}
}

func TestLogDist(t *testing.T) {
	t.Parallel()
	logdistBig := func(a, b ID) int {
		abig, bbig := new(big.Int).SetBytes(a[:]), new(big.Int).SetBytes(b[:])
		return new(big.Int).Xor(abig, bbig).BitLen()
	}
	rng := rand.New(rand.NewPCG(2, 2))
	for range 2000 {
		a, b := randomID(rng), randomID(rng)
		// Share a random-length prefix.
		copy(b[:rng.IntN(33)], a[:])
		if got, want := LogDist(a, b), logdistBig(a, b); got != want {
			t.Fatalf("LogDist(%v, %v) = %d, want %d", a, b, got, want)
		}
	}
	var a, b ID
	if LogDist(a, a) != 0 {
		t.Error("LogDist(x, x) != 0")
	}
	b[31] = 1
	if LogDist(a, b) != 1 {
		t.Errorf("LogDist of last bit = %d", LogDist(a, b))
	}
	b[0] = 0x80
	if LogDist(a, b) != 256 {
		t.Errorf("LogDist of first bit = %d", LogDist(a, b))
	}
}

func BenchmarkDistCmp(b *testing.B) {
	base := ID{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	aID := ID{15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0}
	bID := ID{15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 1}
	for b.Loop() {
		DistCmp(base, aID, bID)
	}
}

func BenchmarkLogDist(b *testing.B) {
	var aID, bID ID
	for i := range aID {
		aID[i], bID[i] = 0xAA, 0xAA
	}
	bID[31] = 0xAB
	for b.Loop() {
		LogDist(aID, bID)
	}
}
