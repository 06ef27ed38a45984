package discover

import (
	"sync"
	"time"

	"github.com/devp2p-go/devp2p/internal/mclock"
)

// loop runs liveness checks and refreshes. It owns the timers and the
// refresh state below; the table contents are shared under the lock.
func (tab *table) loop() {
	defer tab.wg.Done()
	var (
		alarm        = mclock.NewAlarm(tab.clock)
		refreshTimer = tab.clock.NewTimer(tab.nextRefreshTime())
		refreshDone  = make(chan struct{})           // closed by the running refresh; nil if none
		waiting      = []chan struct{}{tab.initDone} // callers of refresh waiting for it to end
	)
	defer alarm.Stop()
	defer refreshTimer.Stop()
	tab.startRefresh(refreshDone)

	for {
		tab.mu.Lock()
		next := tab.runRevalidationLocked(tab.clock.Now())
		writes := len(tab.dbWrites) > 0
		tab.mu.Unlock()
		if writes {
			tab.flushDBWrites()
		}
		if next != never {
			alarm.Schedule(next)
		}

		select {
		case <-alarm.C():
			// A liveness check is due.

		case <-tab.revalWakeCh:
			// A node was added (a list may have become non-empty) or a DB
			// write is queued.

		case res := <-tab.revalDoneCh:
			// From a liveness check goroutine.
			tab.handleRevalResult(res)

		case <-refreshTimer.C():
			if refreshDone == nil {
				refreshDone = make(chan struct{})
				tab.startRefresh(refreshDone)
			}

		case req := <-tab.refreshCh:
			// From refresh: lookups found the table empty.
			waiting = append(waiting, req)
			if refreshDone == nil {
				refreshDone = make(chan struct{})
				tab.startRefresh(refreshDone)
			}

		case <-refreshDone:
			for _, ch := range waiting {
				close(ch)
			}
			waiting, refreshDone = nil, nil
			refreshTimer.Reset(tab.nextRefreshTime())

		case <-tab.closeCh:
			for _, ch := range waiting {
				close(ch)
			}
			return
		}
	}
}

func (tab *table) nextRefreshTime() time.Duration {
	tab.mu.Lock()
	defer tab.mu.Unlock()
	half := tab.cfg.RefreshInterval / 2
	return half + time.Duration(tab.rand.Int64N(int64(half)))
}

// refresh asks for a refresh and returns a channel closed when it has ended
// (or the table closed).
func (tab *table) refresh() <-chan struct{} {
	done := make(chan struct{})
	select {
	case tab.refreshCh <- done:
	case <-tab.closeCh:
		close(done)
	}
	return done
}

// startRefresh runs a refresh: seeds (DB nodes and bootnodes) enter the
// table, then a lookup for our own ID fills the close buckets and random
// lookups the others. The random lookups run concurrently, unlike
// go-ethereum's, so a starting node fills its table in about one lookup's
// time.
func (tab *table) startRefresh(done chan struct{}) {
	tab.wg.Add(1)
	go func() {
		defer tab.wg.Done()
		defer close(done)
		tab.loadSeeds()
		tab.net.lookupSelf(tab.ctx)
		var wg sync.WaitGroup
		for range lookupRandomCount {
			wg.Go(func() { tab.net.lookupRandom(tab.ctx) })
		}
		wg.Wait()
	}()
}
