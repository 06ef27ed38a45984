package mclock

import (
	"testing"
	"time"
)

func TestSimulatedOrder(t *testing.T) {
	var s Simulated
	var got []int
	s.AfterFunc(3*time.Second, func() { got = append(got, 3) })
	s.AfterFunc(1*time.Second, func() { got = append(got, 1) })
	stop := s.AfterFunc(2*time.Second, func() { got = append(got, 2) })
	if !stop.Stop() {
		t.Fatal("Stop of a pending timer returned false")
	}
	s.Run(2 * time.Second)
	if len(got) != 1 || got[0] != 1 {
		t.Fatalf("after 2s: %v", got)
	}
	s.Run(time.Second)
	if len(got) != 2 || got[1] != 3 {
		t.Fatalf("after 3s: %v", got)
	}
	if s.Now() != AbsTime(3*time.Second) {
		t.Fatalf("now = %v", s.Now())
	}
}

func TestSimulatedTimerChannel(t *testing.T) {
	var s Simulated
	tm := s.NewTimer(time.Second)
	s.Run(999 * time.Millisecond)
	select {
	case <-tm.C():
		t.Fatal("fired early")
	default:
	}
	s.Run(time.Millisecond)
	if at := <-tm.C(); at != AbsTime(time.Second) {
		t.Fatalf("fired at %v", at)
	}
	tm.Reset(time.Second)
	s.Run(time.Second)
	<-tm.C()
}

func TestWaitForTimers(t *testing.T) {
	var s Simulated
	go s.AfterFunc(time.Second, func() {})
	s.WaitForTimers(1)
	if s.ActiveTimers() != 1 {
		t.Fatal("timer not counted")
	}
}

func TestAlarm(t *testing.T) {
	var s Simulated
	a := NewAlarm(&s)
	a.Schedule(s.Now().Add(2 * time.Second))
	a.Schedule(s.Now().Add(5 * time.Second)) // later: ignored
	s.Run(2 * time.Second)
	select {
	case <-a.C():
	default:
		t.Fatal("alarm did not fire at the earliest time")
	}
	// After firing, a later schedule must arm again.
	a.Schedule(s.Now().Add(time.Second))
	s.Run(time.Second)
	select {
	case <-a.C():
	default:
		t.Fatal("alarm did not re-arm after firing")
	}
	a.Schedule(s.Now().Add(time.Second))
	a.Stop()
	s.Run(time.Second)
	select {
	case <-a.C():
		t.Fatal("stopped alarm fired")
	default:
	}
}

func TestSystemTimer(t *testing.T) {
	var c System
	start := c.Now()
	<-c.After(10 * time.Millisecond)
	if c.Now().Sub(start) < 10*time.Millisecond {
		t.Fatal("After returned early")
	}
}
