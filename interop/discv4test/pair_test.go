package discv4test

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"
)

// startPair starts a go-ethereum node and one of ours that know nothing of
// each other.
func startPair(t *testing.T) (g, o *node) {
	logs := newLogSink(t)
	return startGeth(t, logs, nodeConfig{name: "g"}), startOurs(t, logs, nodeConfig{name: "o"})
}

// waitMutual waits until a and b hold each other in their tables, at the
// right endpoint, with the current seq of the other's record: entries made
// from a Ping are v4 stubs (seq 0) until a Ping or Pong announces the seq
// and the record is fetched (EIP-868).
func waitMutual(t *testing.T, a, b *node) {
	t.Helper()
	waitFor(t, waitTimeout, fmt.Sprintf("%v and %v in each other's tables", a, b), func() string {
		for _, p := range [][2]*node{{a, b}, {b, a}} {
			e, ok := p[0].table()[p[1].id()]
			if !ok {
				return fmt.Sprintf("%v lacks %v", p[0], p[1])
			}
			if e.ip != loopback || e.udp != p[1].port {
				return fmt.Sprintf("%v has %v at %v:%d", p[0], p[1], e.ip, e.udp)
			}
			if seq := p[1].self(t).Seq(); e.seq != seq {
				return fmt.Sprintf("%v has %v with seq %d, want %d", p[0], p[1], e.seq, seq)
			}
		}
		return ""
	})
}

// TestGethDiscv4Bond checks that one Ping from either implementation to
// the other bonds them: the pinged node pings back, and both end up in each
// other's tables with each other's current record.
func TestGethDiscv4Bond(t *testing.T) {
	t.Run("ours-pings-geth", func(t *testing.T) {
		t.Parallel()
		g, o := startPair(t)
		seq, err := o.ours.Ping(g.self(t))
		if err != nil {
			t.Fatalf("Ping: %v", err)
		}
		if want := g.self(t).Seq(); seq != want {
			t.Errorf("Pong announced seq %d, want %d", seq, want)
		}
		start := time.Now()
		waitMutual(t, g, o)
		t.Logf("bonded in %v", time.Since(start).Round(time.Millisecond))
	})
	t.Run("geth-pings-ours", func(t *testing.T) {
		t.Parallel()
		g, o := startPair(t)
		pong, err := g.geth.Ping(o.gethSelf(t))
		if err != nil {
			t.Fatalf("Ping: %v", err)
		}
		if want := o.self(t).Seq(); pong.ENRSeq != want {
			t.Errorf("Pong announced seq %d, want %d", pong.ENRSeq, want)
		}
		// The Pong tells go-ethereum its endpoint as we saw it.
		to := netip.AddrPortFrom(netip.AddrFrom4([4]byte(pong.To.IP.To4())), pong.To.UDP)
		if want := netip.AddrPortFrom(loopback, uint16(g.port)); to != want || int(pong.To.TCP) != g.port {
			t.Errorf("Pong.To = %v tcp %d, want %v tcp %d", to, pong.To.TCP, want, g.port)
		}
		start := time.Now()
		waitMutual(t, g, o)
		t.Logf("bonded in %v", time.Since(start).Round(time.Millisecond))
	})
}

// TestGethDiscv4ENR checks ENR requests between nodes that never met (the
// request bonds them first), then that each side follows the other's
// record when its seq changes: in its table (EIP-868: the higher seq in a
// Ping or Pong makes it fetch the record) and through Resolve.
func TestGethDiscv4ENR(t *testing.T) {
	t.Run("ours-requests-geth", func(t *testing.T) {
		t.Parallel()
		g, o := startPair(t)
		start := time.Now()
		got, err := o.ours.RequestENR(g.self(t))
		if err != nil {
			t.Fatalf("RequestENR: %v", err)
		}
		checkRecord(t, "RequestENR", got, g)
		t.Logf("first request (with bonding) took %v", time.Since(start).Round(time.Millisecond))
	})
	t.Run("geth-requests-ours", func(t *testing.T) {
		t.Parallel()
		g, o := startPair(t)
		start := time.Now()
		got, err := g.geth.RequestENR(o.gethSelf(t))
		if err != nil {
			t.Fatalf("RequestENR: %v", err)
		}
		checkRecord(t, "RequestENR", mustFromGeth(t, got), o)
		t.Logf("first request (with bonding) took %v", time.Since(start).Round(time.Millisecond))
	})
	t.Run("seq-change", func(t *testing.T) {
		t.Parallel()
		g, o := startPair(t)
		if _, err := o.ours.Ping(g.self(t)); err != nil {
			t.Fatalf("Ping: %v", err)
		}
		waitMutual(t, g, o)

		// Ours changes its record: go-ethereum's liveness check sees
		// the higher seq in our Pong and fetches the record.
		oldO := o.self(t)
		o.setEntry(t, bumpKey, 1)
		start := time.Now()
		waitMutual(t, g, o)
		t.Logf("go-ethereum's table has our seq %d after %v", o.self(t).Seq(), time.Since(start).Round(time.Millisecond))
		checkRecord(t, "go-ethereum Resolve(old record of ours)", mustFromGeth(t, g.geth.Resolve(mustToGeth(t, oldO))), o)

		// go-ethereum changes its record: its Pings (and Pongs) carry the
		// new seq and we fetch the record.
		oldG := g.self(t)
		g.setEntry(t, bumpKey, 2)
		start = time.Now()
		waitMutual(t, g, o)
		t.Logf("our table has go-ethereum's seq %d after %v", g.self(t).Seq(), time.Since(start).Round(time.Millisecond))
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		checkRecord(t, "our Resolve(old record of go-ethereum)", o.ours.Resolve(ctx, oldG), g)
	})
}
