package mclock

// Alarm sends at most one notification on its channel at the earliest time
// it was scheduled for. It is meant for loops that keep one wake-up time.
// It is not safe for concurrent use.
type Alarm struct {
	ch       chan struct{}
	clock    Clock
	timer    Timer
	deadline AbsTime
}

// NewAlarm creates an alarm.
func NewAlarm(clock Clock) *Alarm {
	if clock == nil {
		panic("mclock: nil clock")
	}
	return &Alarm{ch: make(chan struct{}, 1), clock: clock}
}

// C returns the alarm's channel.
func (a *Alarm) C() <-chan struct{} { return a.ch }

// Stop cancels the alarm and drains a pending notification.
func (a *Alarm) Stop() {
	if a.timer != nil {
		a.timer.Stop()
	}
	a.timer, a.deadline = nil, 0
	select {
	case <-a.ch:
	default:
	}
}

// Schedule arms the alarm for time, unless it is already armed earlier.
func (a *Alarm) Schedule(time AbsTime) {
	now := a.clock.Now()
	if a.timer != nil && time >= a.deadline && a.deadline > now {
		return // already armed for an earlier time that has not come yet
	}
	if a.timer != nil {
		a.timer.Stop()
	}
	a.deadline = time
	a.timer = a.clock.AfterFunc(time.Sub(now), a.send)
}

func (a *Alarm) send() {
	select {
	case a.ch <- struct{}{}:
	default:
	}
}
