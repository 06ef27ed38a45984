// Package mclock is a monotonic clock that can be replaced by a simulated
// one in tests. Every timer in a loop of this module comes from a Clock.
package mclock

import "time"

// AbsTime is a monotonic point in time, in nanoseconds since an arbitrary origin.
type AbsTime int64

// Add returns t + d.
func (t AbsTime) Add(d time.Duration) AbsTime { return t + AbsTime(d) }

// Sub returns t - t2.
func (t AbsTime) Sub(t2 AbsTime) time.Duration { return time.Duration(t - t2) }

// Clock is the interface to a (real or simulated) monotonic clock.
type Clock interface {
	Now() AbsTime
	Sleep(time.Duration)
	NewTimer(time.Duration) ChanTimer
	After(time.Duration) <-chan AbsTime
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a cancellable event created by AfterFunc.
type Timer interface {
	// Stop cancels the timer. It returns false if the timer has already
	// expired or been stopped.
	Stop() bool
}

// ChanTimer is a cancellable event created by NewTimer.
type ChanTimer interface {
	Timer
	// C returns the channel on which the expiry time is delivered once.
	C() <-chan AbsTime
	// Reset re-arms the timer with a new timeout; Stop it first if needed.
	Reset(time.Duration)
}

var origin = time.Now()

// Now returns the current system monotonic time.
func Now() AbsTime { return AbsTime(time.Since(origin)) }

// System is the real clock.
type System struct{}

// Now returns the current monotonic time.
func (System) Now() AbsTime { return Now() }

// Sleep blocks for the given duration.
func (System) Sleep(d time.Duration) { time.Sleep(d) }

// NewTimer creates a timer that delivers on its channel after d.
func (c System) NewTimer(d time.Duration) ChanTimer {
	ch := make(chan AbsTime, 1)
	t := time.AfterFunc(d, func() {
		select {
		case ch <- c.Now():
		default:
		}
	})
	return &systemTimer{t, ch}
}

// After returns a channel that receives the time after d.
func (c System) After(d time.Duration) <-chan AbsTime {
	return c.NewTimer(d).C()
}

// AfterFunc runs f on its own goroutine after d.
func (System) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

type systemTimer struct {
	*time.Timer
	ch <-chan AbsTime
}

func (st *systemTimer) Reset(d time.Duration) { st.Timer.Reset(d) }
func (st *systemTimer) C() <-chan AbsTime     { return st.ch }
