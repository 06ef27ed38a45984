package p2p

import (
	"errors"
	"fmt"
	"testing"
)

func TestDiscReason(t *testing.T) {
	for code := range 256 {
		d := DiscReason(code)
		if d.Valid() != (code <= 0x0b || code == 0x10) {
			t.Errorf("Valid(%#x) = %v", code, d.Valid())
		}
		if d.Error() == "" {
			t.Errorf("empty string for %#x", code)
		}
	}
	if DiscTooManyPeers.Error() != "too many peers" {
		t.Fatal("string changed")
	}
}

func TestDiscReasonFor(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want DiscReason
	}{
		{DiscTooManyPeers, DiscTooManyPeers},
		{fmt.Errorf("wrapped: %w", DiscUselessPeer), DiscUselessPeer},
		{newPeerError(DiscProtocolError, "bad code %d", 99), DiscProtocolError},
		{errProtocolReturned, DiscQuitting},
		{errors.New("other"), DiscSubprotocolError},
	} {
		if got := DiscReasonFor(tc.err); got != tc.want {
			t.Errorf("DiscReasonFor(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
