package p2p

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/devp2p-go/devp2p/internal/mclock"
)

// atkPacket returns a distinct fake auth packet for i.
func atkPacket(i int) []byte {
	p := make([]byte, 400)
	binary.BigEndian.PutUint64(p[100:], uint64(i))
	return p
}

func TestReplayFilterRepeat(t *testing.T) {
	f := newReplayFilter(new(mclock.Simulated))
	for i := range 100 {
		if err := f.check(atkPacket(i)); err != nil {
			t.Fatalf("packet %d refused on first sight: %v", i, err)
		}
	}
	for i := range 100 {
		if err := f.check(atkPacket(i)); !errors.Is(err, errAuthReplay) {
			t.Fatalf("packet %d replayed: %v, want errAuthReplay", i, err)
		}
	}
	// A packet differing in one byte is another packet.
	p := atkPacket(0)
	p[399] ^= 1
	if err := f.check(p); err != nil {
		t.Fatalf("changed packet refused: %v", err)
	}
}

// Two servers hash with different secrets.
func TestReplayFilterKeyed(t *testing.T) {
	clock := new(mclock.Simulated)
	a, b := newReplayFilter(clock), newReplayFilter(clock)
	if a.key(atkPacket(1)) == b.key(atkPacket(1)) {
		t.Fatal("two filters give the same key")
	}
	if a.key(atkPacket(1)) != a.key(atkPacket(1)) {
		t.Fatal("a filter's key is not deterministic")
	}
}

// A packet is remembered for at least the period and forgotten after two.
func TestReplayFilterPeriod(t *testing.T) {
	clock := new(mclock.Simulated)
	const period = time.Minute
	f := newReplayFilterSize(clock, period, 1000)
	f.check(atkPacket(0))
	clock.Run(period - time.Second)
	if err := f.check(atkPacket(0)); !errors.Is(err, errAuthReplay) {
		t.Fatalf("forgotten before the period: %v", err)
	}
	clock.Run(time.Second)
	f.check(atkPacket(1)) // rotates: packet 0 is in the previous generation
	clock.Run(period - time.Second)
	if err := f.check(atkPacket(0)); !errors.Is(err, errAuthReplay) {
		t.Fatalf("forgotten after one rotation: %v", err)
	}
	clock.Run(2 * period)
	if err := f.check(atkPacket(0)); err != nil {
		t.Fatalf("remembered after twice the period: %v", err)
	}
	if n := f.len(); n != 1 {
		t.Fatalf("%d packets remembered after both generations expired, want 1", n)
	}
}

// A full generation rotates early: the filter holds at most 2×max
// packets, and each is remembered until max others have come.
func TestReplayFilterBound(t *testing.T) {
	const max = 1000
	f := newReplayFilterSize(new(mclock.Simulated), time.Hour, max)
	for i := range 10 * max {
		if err := f.check(atkPacket(i)); err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		if n := f.len(); n > 2*max {
			t.Fatalf("%d packets remembered, bound %d", n, 2*max)
		}
		if i >= max {
			if err := f.check(atkPacket(i - max)); !errors.Is(err, errAuthReplay) {
				t.Fatalf("packet %d forgotten after %d others", i-max, max)
			}
		}
	}
}

// Concurrent checks: of many goroutines sending the same packets, exactly
// one gets each packet through.
func TestReplayFilterConcurrent(t *testing.T) {
	const (
		packets    = 2000
		goroutines = 8
	)
	f := newReplayFilterSize(mclock.System{}, time.Hour, packets)
	var passed [packets]atomic.Int32
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range packets {
				j := (i + g*packets/goroutines) % packets
				switch err := f.check(atkPacket(j)); {
				case err == nil:
					passed[j].Add(1)
				case !errors.Is(err, errAuthReplay):
					t.Errorf("packet %d: %v", j, err)
				}
			}
		})
	}
	wg.Wait()
	for i := range passed {
		if n := passed[i].Load(); n != 1 {
			t.Fatalf("packet %d passed %d times, want once", i, n)
		}
	}
}

// The memory bound: two full generations of the default size.
func TestReplayFilterMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("fills 2^17 entries")
	}
	before := atkHeapLive()
	f := newReplayFilter(new(mclock.Simulated))
	for i := range 3 * replayMaxEntries {
		f.check(atkPacket(i))
	}
	after := atkHeapLive()
	if n := f.len(); n != 2*replayMaxEntries {
		t.Fatalf("%d packets remembered, want %d", n, 2*replayMaxEntries)
	}
	used := after - before
	const bound = 6 << 20
	if used > bound {
		t.Fatalf("two full generations use %d bytes of heap, bound %d", used, bound)
	}
	t.Logf("two full generations (%d packets): %.2f MiB heap, %.1f B per packet",
		2*replayMaxEntries, float64(used)/(1<<20), float64(used)/float64(2*replayMaxEntries))
	runtime.KeepAlive(f)
}

// A replay counts as a failed encryption handshake with the reason
// "replay".
func TestReplayStatsReason(t *testing.T) {
	err := fmt.Errorf("%w: %w", errEncHandshake, errAuthReplay)
	if phase, reason := setupFailure(err); phase != HandshakePhaseRLPx || reason != "replay" {
		t.Fatal(`needs stats.go: setupFailure to return reason "replay" for errAuthReplay (got ` + phase + "/" + reason + ")")
	}
}

// atkHeapLive returns the live heap (HeapAlloc) after two GCs.
func atkHeapLive() int64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}
