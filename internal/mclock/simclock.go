package mclock

import (
	"container/heap"
	"sync"
	"time"
)

// Simulated is a virtual clock for deterministic tests. Time moves only
// when Run is called; timers due by then fire in order. The zero value is
// ready to use.
type Simulated struct {
	now       AbsTime
	scheduled simTimerHeap
	mu        sync.RWMutex
	cond      *sync.Cond
}

type simTimer struct {
	at    AbsTime
	index int // position in the heap, -1 when not scheduled
	s     *Simulated
	do    func()
	ch    <-chan AbsTime
}

func (s *Simulated) init() {
	if s.cond == nil {
		s.cond = sync.NewCond(&s.mu)
	}
}

// Run advances the clock by d, firing every timer that falls due, in order.
// AfterFunc callbacks run on the calling goroutine.
func (s *Simulated) Run(d time.Duration) {
	s.mu.Lock()
	s.init()
	end := s.now.Add(d)
	var do []func()
	for len(s.scheduled) > 0 && s.scheduled[0].at <= end {
		ev := heap.Pop(&s.scheduled).(*simTimer)
		s.now = ev.at
		do = append(do, ev.do)
	}
	s.now = end
	s.mu.Unlock()
	for _, fn := range do {
		fn()
	}
}

// ActiveTimers returns the number of timers that have not fired.
func (s *Simulated) ActiveTimers() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.scheduled)
}

// WaitForTimers blocks until at least n timers are scheduled.
func (s *Simulated) WaitForTimers(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.init()
	for len(s.scheduled) < n {
		s.cond.Wait()
	}
}

// Now returns the simulated time.
func (s *Simulated) Now() AbsTime {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.now
}

// Sleep blocks until the clock has advanced by d.
func (s *Simulated) Sleep(d time.Duration) { <-s.After(d) }

// NewTimer creates a timer that fires when the clock has advanced by d.
func (s *Simulated) NewTimer(d time.Duration) ChanTimer {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := make(chan AbsTime, 1)
	var t *simTimer
	t = s.schedule(d, func() { ch <- t.at })
	t.ch = ch
	return t
}

// After returns a channel that receives the time once the clock has advanced by d.
func (s *Simulated) After(d time.Duration) <-chan AbsTime { return s.NewTimer(d).C() }

// AfterFunc runs f (on the goroutine calling Run) once the clock has advanced by d.
func (s *Simulated) AfterFunc(d time.Duration, f func()) Timer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.schedule(d, f)
}

func (s *Simulated) schedule(d time.Duration, fn func()) *simTimer {
	s.init()
	at := s.now.Add(d)
	ev := &simTimer{do: fn, at: at, s: s}
	heap.Push(&s.scheduled, ev)
	s.cond.Broadcast()
	return ev
}

func (ev *simTimer) Stop() bool {
	ev.s.mu.Lock()
	defer ev.s.mu.Unlock()
	if ev.index < 0 {
		return false
	}
	heap.Remove(&ev.s.scheduled, ev.index)
	ev.s.cond.Broadcast()
	ev.index = -1
	return true
}

func (ev *simTimer) Reset(d time.Duration) {
	if ev.ch == nil {
		panic("mclock: Reset on a timer made by AfterFunc")
	}
	ev.s.mu.Lock()
	defer ev.s.mu.Unlock()
	if ev.index >= 0 {
		heap.Remove(&ev.s.scheduled, ev.index)
	}
	ev.at = ev.s.now.Add(d)
	heap.Push(&ev.s.scheduled, ev)
	ev.s.cond.Broadcast()
}

func (ev *simTimer) C() <-chan AbsTime {
	if ev.ch == nil {
		panic("mclock: C on a timer made by AfterFunc")
	}
	return ev.ch
}

type simTimerHeap []*simTimer

func (h *simTimerHeap) Len() int           { return len(*h) }
func (h *simTimerHeap) Less(i, j int) bool { return (*h)[i].at < (*h)[j].at }
func (h *simTimerHeap) Swap(i, j int) {
	(*h)[i], (*h)[j] = (*h)[j], (*h)[i]
	(*h)[i].index, (*h)[j].index = i, j
}
func (h *simTimerHeap) Push(x any) {
	t := x.(*simTimer)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *simTimerHeap) Pop() any {
	old := *h
	n := len(old)
	t := old[n-1]
	old[n-1] = nil
	t.index = -1
	*h = old[:n-1]
	return t
}
