package dialsched

import (
	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/internal/mclock"
)

// This file holds the loop's handling of static nodes and bootnodes. Every
// function here runs on the loop goroutine.

func (s *Scheduler) addStatic(n *enode.Node) {
	id := n.ID()
	if st := s.static[id]; st != nil {
		st.n = n
		s.cfg.Log.Debug("Updated static node", "id", id, "addr", nodeAddr(n))
		s.updateStaticPool(id)
		return
	}
	st := &staticNode{n: n, poolIndex: -1, resolveDelay: InitialResolveDelay}
	s.static[id] = st
	if !hasAddress(n) && s.cfg.Resolver == nil {
		s.cfg.Log.Warn("Static node has no address and there is no resolver", "id", id)
	} else {
		s.cfg.Log.Debug("Added static node", "id", id, "addr", nodeAddr(n))
	}
	s.updateStaticPool(id)
}

func (s *Scheduler) removeStatic(id enode.ID) {
	st := s.static[id]
	if st == nil {
		return
	}
	if st.poolIndex >= 0 {
		s.removeFromPool(st.poolIndex)
	}
	delete(s.static, id)
	s.cfg.Log.Debug("Removed static node", "id", id)
}

// checkStatic returns an error if st must not be dialed now.
func (s *Scheduler) checkStatic(st *staticNode, now mclock.AbsTime) error {
	if err := s.checkDial(st.n, true); err != nil {
		return err
	}
	if s.cfg.TrustedOnly && (s.cfg.Trusted == nil || !s.cfg.Trusted(st.n.ID())) {
		return errNotTrusted
	}
	if !hasAddress(st.n) {
		if s.cfg.Resolver == nil {
			return errNoAddress
		}
		if !st.mayResolve(now) {
			return errResolveWait
		}
	}
	return nil
}

// updateStaticPool puts the static node id into the pool if it may be dialed
// now, or queues a wake-up for when its backoff ends.
func (s *Scheduler) updateStaticPool(id enode.ID) {
	st := s.static[id]
	if st == nil || st.poolIndex >= 0 {
		return
	}
	now := s.cfg.Clock.Now()
	switch s.checkStatic(st, now) {
	case nil:
		st.poolIndex = len(s.staticPool)
		s.staticPool = append(s.staticPool, st)
	case errBackedOff:
		until, _ := s.backoff.until(id, now, true)
		s.wakeStatic(st, until)
	case errResolveWait:
		s.wakeStatic(st, st.lastResolved.Add(st.resolveDelay))
	}
	// Other conditions end with an event that calls updateStaticPool:
	// a dial ending, a peer leaving, an inbound completing, history expiry.
}

func (s *Scheduler) wakeStatic(st *staticNode, at mclock.AbsTime) {
	if st.wakeAt != at {
		st.wakeAt = at
		s.wake.add(st.n.ID(), at)
	}
}

// removeFromPool removes the entry at idx by moving the last entry there.
func (s *Scheduler) removeFromPool(idx int) {
	st := s.staticPool[idx]
	last := len(s.staticPool) - 1
	s.staticPool[idx] = s.staticPool[last]
	s.staticPool[idx].poolIndex = idx
	s.staticPool[last] = nil
	s.staticPool = s.staticPool[:last]
	st.poolIndex = -1
}

// startStaticDials starts up to n dials to random static nodes of the pool.
func (s *Scheduler) startStaticDials(n int) (started int) {
	now := s.cfg.Clock.Now()
	for started < n && len(s.staticPool) > 0 {
		st := s.staticPool[s.cfg.Rand.IntN(len(s.staticPool))]
		s.removeFromPool(st.poolIndex)
		// Conditions may have changed since it entered the pool (say, an
		// inbound connection from it is pending).
		if s.checkStatic(st, now) != nil {
			s.updateStaticPool(st.n.ID())
			continue
		}
		t := &dialTask{kind: kindStatic, id: st.n.ID(), dest: st.n}
		t.mayResolve = s.cfg.Resolver != nil && st.n.Hostname() == "" && st.mayResolve(now)
		s.startDial(t)
		started++
	}
	return started
}

// applyResolve records the discovery lookup made by static task t.
func (s *Scheduler) applyResolve(st *staticNode, t *dialTask, now mclock.AbsTime) {
	if !t.didResolve {
		return
	}
	st.resolved = true
	st.lastResolved = t.resolvedAt
	if t.resolved == nil {
		st.resolveFails++
		st.resolveDelay = InitialResolveDelay
		for i := 1; i < st.resolveFails && st.resolveDelay < MaxResolveDelay; i++ {
			st.resolveDelay *= 2
		}
		st.resolveDelay = min(st.resolveDelay, MaxResolveDelay)
		s.cfg.Log.Debug("Resolving static node failed", "id", t.id, "retry", st.resolveDelay)
		return
	}
	st.resolveFails = 0
	st.resolveDelay = InitialResolveDelay
	if st.n.Seq() <= t.resolved.Seq() {
		st.n = t.resolved
	}
	s.cfg.Log.Debug("Resolved static node", "id", t.id, "addr", nodeAddr(t.resolved))
}

// mayResolve reports whether a discovery lookup of the node is allowed now.
func (st *staticNode) mayResolve(now mclock.AbsTime) bool {
	return !st.resolved || now >= st.lastResolved.Add(st.resolveDelay)
}

// startBootnodeDial starts a dial to the next bootnode if the node has had no
// peer for BootnodeFallback, no bootnode dial is running and a slot is free.
func (s *Scheduler) startBootnodeDial(slots int, now mclock.AbsTime) int {
	s.bootRetry = 0
	if len(s.bootnodes) == 0 || slots <= 0 || s.bootDialing || len(s.peers) > 0 || s.cfg.TrustedOnly ||
		now < s.noPeersSince.Add(BootnodeFallback) {
		return 0
	}
	for range s.bootnodes {
		n := s.bootnodes[s.bootIndex]
		s.bootIndex = (s.bootIndex + 1) % len(s.bootnodes)
		switch err := s.checkDial(n, false); err {
		case nil:
			s.bootDialing = true
			s.startDial(&dialTask{kind: kindBootnode, id: n.ID(), dest: n})
			return 1
		case errBackedOff:
			if until, _ := s.backoff.until(n.ID(), now, false); s.bootRetry == 0 || until < s.bootRetry {
				s.bootRetry = until
			}
		}
	}
	return 0
}

func hasAddress(n *enode.Node) bool {
	return n.IPAddr().IsValid() || n.Hostname() != ""
}
