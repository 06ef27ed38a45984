package dialsched

import (
	"testing"
	"time"

	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/internal/mclock"
)

// Each class starts at its base, doubles per consecutive failure and stops
// at MaxBackoff.
func TestBackoffDelay(t *testing.T) {
	t.Parallel()
	tests := []struct {
		class FailureClass
		want  []time.Duration // after failure 1, 2, 3, …
	}{
		{ClassNone, []time.Duration{0, 0}},
		{ClassConnect, []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute,
			8 * time.Minute, 16 * time.Minute, 32 * time.Minute, time.Hour, time.Hour}},
		{ClassBusy, []time.Duration{3 * time.Minute, 6 * time.Minute, 12 * time.Minute, 24 * time.Minute,
			48 * time.Minute, time.Hour, time.Hour}},
		{ClassHandshake, []time.Duration{15 * time.Minute, 30 * time.Minute, time.Hour, time.Hour}},
		{ClassProtocol, []time.Duration{15 * time.Minute, 30 * time.Minute, time.Hour}},
		{ClassSelf, []time.Duration{time.Hour, time.Hour}},
		{numClasses, []time.Duration{0}},
	}
	for _, tt := range tests {
		for i, want := range tt.want {
			if got := backoffDelay(tt.class, i+1); got != want {
				t.Errorf("%v failure %d: %v, want %v", tt.class, i+1, got, want)
			}
		}
	}
	if got := backoffDelay(ClassConnect, 1000); got != MaxBackoff {
		t.Errorf("1000 failures: %v", got)
	}
}

func TestBackoffTable(t *testing.T) {
	t.Parallel()
	var (
		bt  = newBackoffTable(10)
		id  = enode.ID{1}
		now = mclock.AbsTime(0)
	)
	blockedUntil := func() mclock.AbsTime {
		t.Helper()
		until, ok := bt.until(id, now, false)
		if !ok {
			t.Fatalf("t=%v: not backed off", time.Duration(now))
		}
		return until
	}
	// Consecutive busy failures double.
	for i, want := range []time.Duration{3 * time.Minute, 6 * time.Minute, 12 * time.Minute} {
		if d := bt.fail(id, ClassBusy, now); d != want {
			t.Fatalf("busy failure %d: %v, want %v", i+1, d, want)
		}
		if got := blockedUntil(); got != now.Add(want) {
			t.Fatalf("until %v, want %v", got, now.Add(want))
		}
		now = now.Add(want)
		if _, ok := bt.until(id, now, false); ok {
			t.Fatalf("still backed off at the end of the backoff")
		}
	}
	// A static node that is busy waits on the connect schedule (the
	// fourth failure: 30 s × 8), which shortens the wait, not the record.
	bt.fail(id, ClassBusy, now)
	if until, _ := bt.until(id, now, true); until != now.Add(8*ConnectBackoff) {
		t.Fatalf("static until %v", time.Duration(until-now))
	}
	if until, _ := bt.until(id, now, false); until != now.Add(8*BusyBackoff) {
		t.Fatalf("until %v", time.Duration(until-now))
	}
	// Other classes are capped at MaxStaticBackoff for static nodes.
	other := enode.ID{2}
	bt.fail(other, ClassProtocol, now)
	if until, _ := bt.until(other, now, true); until != now.Add(MaxStaticBackoff) {
		t.Fatalf("static until %v", time.Duration(until-now))
	}
	// Another class starts at its own base.
	if d := bt.fail(id, ClassConnect, now); d != ConnectBackoff {
		t.Fatalf("class change: %v", d)
	}
	// A failure long after the last backoff ended starts over.
	bt.fail(id, ClassConnect, now)
	now = now.Add(time.Minute + MaxBackoff + time.Second)
	if d := bt.fail(id, ClassConnect, now); d != ConnectBackoff {
		t.Fatalf("after a quiet hour: %v", d)
	}
	if n, by := bt.active(now); n != 1 || by[ClassConnect] != 1 {
		t.Fatalf("active count %d, by class %v", n, by)
	}
	if n, _ := bt.active(now.Add(ConnectBackoff)); n != 0 {
		t.Fatal("active count wrong after the backoff")
	}
	// Success resets.
	bt.reset(id)
	if _, ok := bt.until(id, now, false); ok {
		t.Fatal("backed off after reset")
	}
	if d := bt.fail(id, ClassBusy, now); d != BusyBackoff {
		t.Fatalf("after reset: %v", d)
	}
}

// The table keeps the most recently failed nodes.
func TestBackoffTableEviction(t *testing.T) {
	t.Parallel()
	bt := newBackoffTable(3)
	for i := range byte(5) {
		bt.fail(enode.ID{i}, ClassConnect, 0)
	}
	bt.fail(enode.ID{2}, ClassConnect, 0) // refresh 2
	bt.fail(enode.ID{5}, ClassConnect, 0) // evicts 3
	if bt.len() != 3 {
		t.Fatalf("len %d", bt.len())
	}
	for i, want := range []bool{false, false, true, false, true, true} {
		if _, ok := bt.until(enode.ID{byte(i)}, 0, false); ok != want {
			t.Errorf("node %d: remembered %v, want %v", i, ok, want)
		}
	}
}

func TestDialHistory(t *testing.T) {
	t.Parallel()
	h := newDialHistory()
	h.add(enode.ID{1}, 10)
	h.add(enode.ID{2}, 5)
	if next, _ := h.next(); next != 5 {
		t.Fatalf("next %v", next)
	}
	var expired []enode.ID
	h.expire(5, func(id enode.ID) { expired = append(expired, id) })
	if len(expired) != 1 || expired[0] != (enode.ID{2}) || h.contains(enode.ID{2}) || !h.contains(enode.ID{1}) {
		t.Fatalf("expired %v", expired)
	}
	// Re-added with a later expiry: the old heap entry does not remove it.
	h.add(enode.ID{1}, 20)
	h.expire(15, func(id enode.ID) { t.Errorf("expired %v early", id) })
	if !h.contains(enode.ID{1}) {
		t.Fatal("re-added entry lost")
	}
	h.expire(20, func(enode.ID) {})
	if h.contains(enode.ID{1}) {
		t.Fatal("not expired")
	}
}
